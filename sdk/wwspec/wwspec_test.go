package wwspec_test

import (
	"bytes"
	"context"
	"crypto/ecdh"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openzone/openzone/sdk/wwspec"
	"github.com/openzone/openzone/sdk/zonesdk"
	"github.com/openzone/openzone/sdk/zonewire"
)

const (
	programID   = "prog-wwspec"
	debugToken  = "dt-wwspec-debug-credential-0001"
	accessToken = "at-wwspec-app-access-token-0001"
)

var secret = zonewire.Secret{Ver: 3, Key: [32]byte{1, 2, 3, 4, 5, 6, 7, 8, 9}}

// zone is a fake zone: it answers invokes sealed with the production secret
// or the debug secret it issued, echoing what it received, and opens debug
// mode for debugToken and accessToken.
type zone struct {
	t   *testing.T
	srv *httptest.Server

	mu      sync.Mutex
	debug   *zonewire.Secret
	invokes []zonewire.Invoke
	vers    []int
}

func newZone(t *testing.T) *zone {
	z := &zone{t: t}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /spec/v1/invoke", z.invoke)
	mux.HandleFunc("POST /spec/v1/debug/open", z.open)
	z.srv = httptest.NewServer(mux)
	t.Cleanup(z.srv.Close)
	return z
}

func (z *zone) keys(ver int) *zonewire.Keys {
	z.mu.Lock()
	defer z.mu.Unlock()
	if z.debug != nil && ver == z.debug.Ver {
		return zonewire.NewKeys(*z.debug)
	}
	return zonewire.NewKeys(secret)
}

func (z *zone) invoke(w http.ResponseWriter, r *http.Request) {
	hd, err := zonewire.ReadHeader(r.Header, "")
	var inv zonewire.Invoke
	if err == nil {
		body, _ := io.ReadAll(r.Body)
		var plain []byte
		if plain, err = z.keys(hd.SecretVer).Open(zonewire.PurposeInvoke, hd, body); err == nil {
			err = json.Unmarshal(plain, &inv)
		}
	}
	if err != nil {
		w.Header()[zonewire.HeaderException] = []string{strconv.Itoa(zonewire.ExceptionCode(err))}
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	z.mu.Lock()
	z.invokes, z.vers = append(z.invokes, inv), append(z.vers, hd.SecretVer)
	z.mu.Unlock()
	reply := fmt.Sprintf(`{"errcode":0,"errmsg":"ok","interface":%q,"request":%s}`, inv.Interface, inv.Request)
	hd.Apply(w.Header(), false)
	w.Write(z.keys(hd.SecretVer).Seal(zonewire.PurposeResult, hd, []byte(reply)))
}

func (z *zone) open(w http.ResponseWriter, r *http.Request) {
	var req struct {
		DebugToken  string `json:"debug_token"`
		AccessToken string `json:"access_token"`
		PublicKey   string `json:"public_key"`
	}
	json.NewDecoder(r.Body).Decode(&req)
	if req.DebugToken != debugToken || req.AccessToken != accessToken {
		fmt.Fprint(w, `{"errcode":710671,"errmsg":"debug token expired"}`)
		return
	}
	raw, _ := base64.StdEncoding.DecodeString(req.PublicKey)
	pub, err := ecdh.X25519().NewPublicKey(raw)
	if err != nil {
		z.t.Errorf("public key: %v", err)
		return
	}
	sec := zonewire.NewSecret(zonewire.DebugSecretVerMin + 5)
	sealed, err := zonewire.SealDebugSecret(pub, sec, programID, "wwdebug", 1000009)
	if err != nil {
		z.t.Errorf("seal: %v", err)
		return
	}
	z.mu.Lock()
	z.debug = &sec
	z.mu.Unlock()
	json.NewEncoder(w).Encode(map[string]any{"errcode": 0, "errmsg": "ok", "program_id": programID, "corpid": "wwdebug",
		"agentid": 1000009, "secret_ver": sec.Ver, "sealed_secret": base64.StdEncoding.EncodeToString(sealed), "debug_mode_status": 2})
}

func (z *zone) last() (zonewire.Invoke, int) {
	z.mu.Lock()
	defer z.mu.Unlock()
	if len(z.invokes) == 0 {
		z.t.Fatal("no invoke reached the zone")
	}
	return z.invokes[len(z.invokes)-1], z.vers[len(z.vers)-1]
}

// syncBuffer is a log sink tests read while the runtime writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func newRuntime(t *testing.T, zoneURL string, withSecret bool) (*wwspec.Runtime, *syncBuffer) {
	t.Helper()
	var log syncBuffer
	cfg := zonesdk.Config{ZoneURL: zoneURL}
	if withSecret {
		cfg.ProgramID, cfg.Secret = programID, secret
	}
	rt, err := wwspec.New(cfg, wwspec.NewLogger(&log))
	if err != nil {
		t.Fatal(err)
	}
	return rt, &log
}

// sealed returns the headers and body of a call as the zone sends it, with
// the ww-* names spelt by name.
func sealed(t *testing.T, sec zonewire.Secret, c zonewire.Call, name func(string) string) (http.Header, []byte, zonewire.Header) {
	t.Helper()
	hd := zonewire.Header{ProgramID: programID, SecretVer: sec.Ver, RequestID: zonewire.NewRequestID(), Timestamp: time.Now().Unix()}
	plain, _ := json.Marshal(c)
	body := zonewire.NewKeys(sec).Seal(zonewire.PurposeCall, hd, plain)
	h := http.Header{"Host": {"127.0.0.1:8080"}, "Content-type": {zonewire.ContentType}}
	for k, v := range map[string]string{zonewire.HeaderSecretVer: strconv.Itoa(hd.SecretVer), zonewire.HeaderRequestID: hd.RequestID,
		zonewire.HeaderTimestamp: strconv.FormatInt(hd.Timestamp, 10)} {
		h[name(k)] = []string{v}
	}
	return h, body, hd
}

func lower(s string) string { return s }

// javaCase is how com.sun.net.httpserver spells a header name.
func javaCase(s string) string { return strings.ToUpper(s[:1]) + s[1:] }

var appCall = zonewire.Call{CorpID: "wwcorp", AgentID: 1000002, CallType: 1, Data: `{"text":"你好 😀"}`, AbilityID: "invoke_sync_msg",
	NotifyID: "n-7", JobInfo: "job-7", IsAsync: true}

func TestCallback(t *testing.T) {
	t.Parallel()
	rt, log := newRuntime(t, "", true)
	keys := zonewire.NewKeys(secret)

	for name, spell := range map[string]func(string) string{"Lower": lower, "JavaCase": javaCase, "Upper": strings.ToUpper} {
		t.Run("OK"+name, func(t *testing.T) {
			h, body, hd := sealed(t, secret, appCall, spell)
			c := rt.OpenCallback("POST", h, body)
			if !c.OK() || c.Code() != 0 {
				t.Fatalf("not OK: code %d\n%s", c.Code(), log)
			}
			if r := c.Request(); r.CorpID != appCall.CorpID || r.AgentID != appCall.AgentID || r.Data != appCall.Data ||
				r.AbilityID != appCall.AbilityID || r.NotifyID != appCall.NotifyID || r.JobInfo != appCall.JobInfo || !r.IsAsync || r.CallType != 1 {
				t.Fatalf("request = %+v", r)
			}
			fields, out := rt.Respond([]byte("x"), c, `{"ok":"好"}`)
			got := map[string]string{}
			for _, f := range fields {
				got[f.Name] = f.Value
			}
			if got[zonewire.HeaderRequestID] != hd.RequestID || got[zonewire.HeaderSecretVer] != "3" || got["content-type"] != zonewire.ContentType {
				t.Fatalf("response headers = %v", got)
			}
			plain, err := keys.Open(zonewire.PurposeReply, hd, out[1:])
			if err != nil || string(plain) != `{"data":"{\"ok\":\"好\"}"}` {
				t.Fatalf("reply = %s, %v", plain, err)
			}
		})
	}

	h, body, _ := sealed(t, secret, appCall, lower)
	dup := h.Clone()
	dup["WW-SECRET-VER"] = []string{"3"}
	for _, tc := range []struct {
		name   string
		method string
		h      http.Header
		body   []byte
		want   int
	}{
		{"ErrNoMethod", "", h, body, wwspec.CodeNoMethod},
		{"ErrNoHeaders", "POST", nil, body, wwspec.CodeNoHeaders},
		{"ErrNoBody", "POST", h, nil, wwspec.CodeNoBody},
		{"ErrGet", "GET", h, body, zonewire.ExcMalformed},
		{"ErrEmptyHeaders", "POST", http.Header{}, body, zonewire.ExcMalformed},
		{"ErrDuplicateHeader", "post", dup, body, zonewire.ExcMalformed},
		{"ErrTampered", "POST", h, append(bytes.Clone(body[:20]), bytes.Repeat([]byte("A"), len(body)-20)...), zonewire.ExcAuth},
		{"ErrEmptyBody", "POST", h, []byte{}, zonewire.ExcMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := rt.OpenCallback(tc.method, tc.h, tc.body)
			if c.OK() || c.Code() != tc.want || c.Request() != nil {
				t.Fatalf("OK %v code %d, want code %d", c.OK(), c.Code(), tc.want)
			}
			fields, out := rt.Respond(nil, c, "ignored")
			if len(out) != 0 || len(fields) != 1 || fields[0] != (wwspec.HeaderField{Name: zonewire.HeaderException, Value: strconv.Itoa(tc.want)}) {
				t.Fatalf("Respond = %v %q", fields, out)
			}
			if _, ok := wwspec.SDKFor(c); ok {
				t.Fatal("SDKFor a refused call succeeded")
			}
		})
	}
	var nilCB *wwspec.Callback
	if fields, _ := rt.Respond(nil, nilCB, ""); fields[0].Value != strconv.Itoa(zonewire.ExcMalformed) {
		t.Errorf("Respond(nil) = %v", fields)
	}
	if strings.Contains(log.String(), base64.StdEncoding.EncodeToString(secret.Key[:])) {
		t.Errorf("log holds the secret")
	}
}

func TestInvoke(t *testing.T) {
	t.Parallel()
	z := newZone(t)
	rt, _ := newRuntime(t, z.srv.URL, true)
	ctx := context.Background()

	t.Run("Context", func(t *testing.T) {
		code, rsp := rt.Invoke(ctx, wwspec.NewSDK("wwa", 1000003, "ab", "job-x"), "sync_msg", []byte(`{"limit":1}`))
		if code != 0 || rsp != `{"errcode":0,"errmsg":"ok","interface":"sync_msg","request":{"limit":1}}` {
			t.Fatalf("Invoke = %d %s", code, rsp)
		}
		inv, _ := z.last()
		if inv.CorpID != "wwa" || inv.AgentID != 1000003 || inv.AbilityID != "ab" || inv.JobInfo != "" {
			t.Fatalf("invoke = %+v (job_info goes only with program_async_job_call_back)", inv)
		}
		rt.Invoke(ctx, wwspec.NewSDK("wwa", 1000003, "ab", "job-x"), zonesdk.AsyncJobCallback, []byte(`{}`))
		if inv, _ := z.last(); inv.JobInfo != "job-x" {
			t.Fatalf("job_info = %q", inv.JobInfo)
		}
	})
	t.Run("ForCallback", func(t *testing.T) {
		h, body, _ := sealed(t, secret, appCall, javaCase)
		c := rt.OpenCallback("POST", h, body)
		s, ok := wwspec.SDKFor(c)
		if !ok {
			t.Fatal("SDKFor failed")
		}
		if code, _ := rt.Invoke(ctx, s, zonesdk.AsyncJobCallback, []byte(`{"errcode":0}`)); code != 0 {
			t.Fatalf("code %d", code)
		}
		if inv, _ := z.last(); inv.CorpID != "wwcorp" || inv.AgentID != 1000002 || inv.AbilityID != "invoke_sync_msg" || inv.JobInfo != "job-7" {
			t.Fatalf("invoke = %+v", inv)
		}
	})
	for _, tc := range []struct {
		name    string
		rt      *wwspec.Runtime
		sdk     *wwspec.SDK
		api     string
		request []byte
		want    int
	}{
		{"ErrNotInitialised", rt, nil, "sync_msg", []byte(`{}`), zonesdk.CodeInternal},
		{"ErrEmptyInterface", rt, wwspec.NewSDK("c", 1, "", ""), "", []byte(`{}`), wwspec.CodeUnknownInterface},
		{"ErrBadInterface", rt, wwspec.NewSDK("c", 1, "", ""), "sync msg", []byte(`{}`), wwspec.CodeUnknownInterface},
		{"ErrNoRequest", rt, wwspec.NewSDK("c", 1, "", ""), "sync_msg", nil, zonesdk.CodeInvalidJSON},
		{"ErrRequestNotJSON", rt, wwspec.NewSDK("c", 1, "", ""), "sync_msg", []byte(`{"limit":`), zonesdk.CodeInvalidJSON},
		{"ErrNetwork", mustRuntime(t, "http://127.0.0.1:1"), wwspec.NewSDK("c", 1, "", ""), "sync_msg", []byte(`{}`), zonesdk.CodeNetwork},
		{"ErrNoSecret", mustRuntimeNoSecret(t, z.srv.URL), wwspec.NewSDK("c", 1, "", ""), "sync_msg", []byte(`{}`), zonesdk.CodeSecretVer},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, rsp := tc.rt.Invoke(ctx, tc.sdk, tc.api, tc.request)
			var e struct {
				Errcode int    `json:"errcode"`
				Errmsg  string `json:"errmsg"`
			}
			if err := json.Unmarshal([]byte(rsp), &e); err != nil || code != tc.want || e.Errcode != tc.want || e.Errmsg == "" {
				t.Fatalf("Invoke = %d %s, want code %d and a JSON error", code, rsp, tc.want)
			}
		})
	}
}

func mustRuntime(t *testing.T, url string) *wwspec.Runtime {
	rt, _ := newRuntime(t, url, true)
	return rt
}

func mustRuntimeNoSecret(t *testing.T, url string) *wwspec.Runtime {
	rt, _ := newRuntime(t, url, false)
	return rt
}

// Debug mode with the two tokens alone: the zone names the program, and
// its calls and invokes then use the debug secret.
func TestOpenDebugMode(t *testing.T) {
	t.Parallel()
	z := newZone(t)
	rt, log := newRuntime(t, z.srv.URL, false)
	ctx := context.Background()
	if rt.OpenDebugMode(ctx, debugToken, "at-wrong-0000000000000000") {
		t.Fatal("opened with a wrong access token")
	}
	if !rt.OpenDebugMode(ctx, debugToken, accessToken) {
		t.Fatalf("OpenDebugMode failed:\n%s", log)
	}
	if got := rt.Program().ProgramID(); got != programID {
		t.Fatalf("program id = %q", got)
	}
	z.mu.Lock()
	dsec := *z.debug
	z.mu.Unlock()
	call := appCall
	call.CorpID, call.AgentID = "wwdebug", 1000009
	h, body, _ := sealed(t, dsec, call, javaCase)
	c := rt.OpenCallback("POST", h, body)
	s, ok := wwspec.SDKFor(c)
	if !ok {
		t.Fatalf("debug call not opened:\n%s", log)
	}
	if code, rsp := rt.Invoke(ctx, s, "spec_notify_app", []byte(`{}`)); code != 0 {
		t.Fatalf("Invoke = %d %s", code, rsp)
	}
	if _, ver := z.last(); ver != dsec.Ver {
		t.Fatalf("invoke sealed with version %d, want the debug secret's %d", ver, dsec.Ver)
	}
	out := log.String()
	for _, want := range []string{"errcode 710671", "debug token expired: get a new one", "SDK half open for program " + programID + ", corpid wwdebug, agentid 1000009"} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
	for _, leak := range []string{debugToken, accessToken, base64.StdEncoding.EncodeToString(dsec.Key[:])} {
		if strings.Contains(out, leak) {
			t.Errorf("log leaks %q", leak)
		}
	}
}

func TestFromEnv(t *testing.T) {
	z := newZone(t)
	for _, tc := range []struct {
		name        string
		api, id     string
		secret      string
		wantZone    string
		wantProgram string
		wantLog     string
	}{
		{"Deployed", z.srv.URL, programID, secret.String(), z.srv.URL, programID, ""},
		{"Debug", z.srv.URL, "", "", z.srv.URL, "", ""},
		{"NoZone", "", "", "", "", "", ""},
		{"ErrSecret", z.srv.URL, programID, "3:not-base64", z.srv.URL, programID, "OPENZONE_SECRET"},
		{"ErrAPI", "ftp://zone", "", "", "", "", "OPENZONE_API"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(zonesdk.EnvAPI, tc.api)
			t.Setenv(zonesdk.EnvProgramID, tc.id)
			t.Setenv(zonesdk.EnvSecret, tc.secret)
			var log syncBuffer
			rt := wwspec.FromEnv(wwspec.NewLogger(&log))
			if rt.Program().ZoneURL() != tc.wantZone || rt.Program().ProgramID() != tc.wantProgram {
				t.Fatalf("zone %q program %q", rt.Program().ZoneURL(), rt.Program().ProgramID())
			}
			if out := log.String(); tc.wantLog == "" && out != "" || !strings.Contains(out, tc.wantLog) || tc.secret != "" && strings.Contains(out, tc.secret) {
				t.Fatalf("log:\n%s", out)
			}
			if tc.name == "Deployed" {
				if code, rsp := rt.Invoke(context.Background(), wwspec.NewSDK("c", 1, "", ""), "sync_msg", []byte(`{}`)); code != 0 {
					t.Fatalf("Invoke = %d %s", code, rsp)
				}
			}
		})
	}
}

func TestLogger(t *testing.T) {
	t.Parallel()
	var b bytes.Buffer
	l := wwspec.NewLogger(&b)
	l.Write(wwspec.LevelError, "req-1", "Main.java", 42, "two\nlines, 中文")
	l.Write(wwspec.LevelDebug, "", "main.cpp", 7, "x")
	l.Slog().Warn("dropped: wwspec logs what zonesdk warns of itself")
	l.Slog().Error("call refused", "request_id", "req-2", "exception", -10004)
	re := regexp.MustCompile(`^<\d+,\d+>,\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3},`)
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	want := []string{"ERR,req-1,Main.java,42,two lines, 中文", "DBG,,main.cpp,7,x", "ERR,req-2,zonesdk,0,call refused exception=-10004"}
	if len(lines) != len(want) {
		t.Fatalf("lines:\n%s", b.String())
	}
	for i, line := range lines {
		if loc := re.FindStringIndex(line); loc == nil || line[loc[1]:] != want[i] {
			t.Errorf("line %d = %q, want prefix <pid,tid>,datetime, then %q", i, line, want[i])
		}
	}
}

func TestHandles(t *testing.T) {
	t.Parallel()
	var hs wwspec.Handles
	a, b := hs.Put("a"), hs.Put("b")
	if a == b || a == 0 || hs.Get(a) != "a" || hs.Get(b) != "b" || hs.Get(0) != nil || hs.Get(-20001) != nil {
		t.Fatalf("handles %d %d", a, b)
	}
	if !hs.Delete(a) || hs.Delete(a) || hs.Get(a) != nil || hs.Len() != 1 {
		t.Fatal("Delete")
	}
	if c := hs.Put("c"); c == a {
		t.Fatal("a freed handle was reused")
	}
}

func TestReaper(t *testing.T) {
	t.Parallel()
	var r wwspec.Reaper[int]
	alive := map[int]bool{}
	due := false
	for i := 1; i <= wwspec.MinSweep; i++ {
		alive[i] = i%4 == 0 // a quarter survive
		due = r.Track(int64(i), i)
		if due != (i == wwspec.MinSweep) {
			t.Fatalf("Track %d: due %v", i, due)
		}
	}
	var freed []int64
	r.Sweep(func(ref int) bool { return !alive[ref] }, func(h int64, ref int) {
		if int64(ref) != h {
			t.Errorf("free(%d, %d)", h, ref)
		}
		freed = append(freed, h)
	})
	if len(freed) != wwspec.MinSweep*3/4 || r.Len() != wwspec.MinSweep/4 {
		t.Fatalf("freed %d, tracked %d", len(freed), r.Len())
	}
	// The next sweep is due once the tracked handles reach MinSweep again
	// (twice the survivors is less).
	for i := wwspec.MinSweep + 1; ; i++ {
		if r.Track(int64(i), i) {
			if r.Len() != wwspec.MinSweep {
				t.Fatalf("next sweep due at %d tracked", r.Len())
			}
			break
		}
	}
}

// The pre-flight probe reaches a WeCom program as an app call of no ability,
// and is answered like one.
func TestCallback_Probe(t *testing.T) {
	t.Parallel()
	rt, _ := newRuntime(t, "", true)
	h, body, hd := sealed(t, secret, zonewire.Call{CorpID: "wwcorp", AgentID: 1, CallType: zonesdk.CallProbe}, lower)
	c := rt.OpenCallback("POST", h, body)
	if r := c.Request(); !c.OK() || r.CallType != zonesdk.CallApp || r.AbilityID != "" || r.Data != "" || r.IsAsync {
		t.Fatalf("probe = %+v", c.Request())
	}
	_, out := rt.Respond(nil, c, `{"errcode":710660,"errmsg":"unknown ability"}`)
	if _, err := zonewire.NewKeys(secret).Open(zonewire.PurposeReply, hd, out); err != nil {
		t.Fatalf("probe reply: %v", err)
	}
}

// TestLogger_ReqIDOfTheCall: a line logged without a req_id (WWSPEC_LOG_*,
// WWSpecLogInfo) on the thread that opened a call carries the call's
// request id until the call is answered; another thread's lines do not.
func TestLogger_ReqIDOfTheCall(t *testing.T) {
	t.Parallel()
	rt, log := newRuntime(t, "", true)
	done := make(chan struct{})
	var rid string
	go func() {
		defer close(done)
		runtime.LockOSThread() // a JNI or C++ caller is one OS thread
		defer runtime.UnlockOSThread()
		h, body, hd := sealed(t, secret, appCall, lower)
		rid = hd.RequestID
		c := rt.OpenCallback("POST", h, body)
		rt.Logger().Write(wwspec.LevelInfo, "", "Main.java", 1, "in the call")
		other := make(chan struct{})
		go func() {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			rt.Logger().Write(wwspec.LevelInfo, "", "Main.java", 2, "another thread")
			close(other)
		}()
		<-other
		rt.Respond(nil, c, "{}")
		rt.Logger().Write(wwspec.LevelInfo, "", "Main.java", 3, "after the answer")
	}()
	<-done
	for _, want := range []string{",INFO," + rid + ",Main.java,1,in the call", ",INFO,,Main.java,2,another thread", ",INFO,,Main.java,3,after the answer"} {
		if !strings.Contains(log.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
}
