package zonesdk_test

import (
	"context"
	"crypto/ecdh"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openzone/openzone/sdk/zonesdk"
	"github.com/openzone/openzone/sdk/zonewire"
)

const (
	testDebugToken  = "dt-0123456789-debug-credential"
	testAccessToken = "at-abcdefghij-app-access-token"
	testExpiresAt   = 1_750_259_200
)

// debugSession is a debug session of the fake zone.
type debugSession struct {
	keys    *zonewire.Keys
	corpID  string
	agentID int64
}

// debugOpen is a /spec/v1/debug/open request the fake zone received.
type debugOpen struct {
	ProgramID   string `json:"program_id"`
	DebugToken  string `json:"debug_token"`
	AccessToken string `json:"access_token"`
	PublicKey   string `json:"public_key"`
}

// debugZone is a fake zone with debug mode: /spec/v1/debug/open mints a
// debug secret for the app of the access token (CorpID, AgentID) and
// seals it with zonewire.SealDebugSecret; /spec/v1/invoke opens invokes
// with the production secret (if any) or a live debug secret, refusing a
// debug secret used for another corp or app with errcode 710673, and
// answers {"errcode":0,"errmsg":"ok","secret_ver":…,"corpid":…,"agentid":…}.
type debugZone struct {
	t    testing.TB
	srv  *httptest.Server
	prod *zonewire.Keys // nil: no production secret

	mu      sync.Mutex
	corpID  string // the app of the access token
	agentID int64
	errcode int // non-zero: /debug/open refuses with it
	nextVer int
	byVer   map[int]*debugSession
	opens   []debugOpen
	sealed  []string // sealed_secret values sent
	secrets []zonewire.Secret
	invokes []zonewire.Invoke
	headers []zonewire.Header
}

func newDebugZone(t testing.TB, prod *zonewire.Secret) *debugZone {
	z := &debugZone{t: t, corpID: "wwdemo", agentID: 1000002, nextVer: zonewire.DebugSecretVerMin + 100, byVer: map[int]*debugSession{}}
	if prod != nil {
		z.prod = zonewire.NewKeys(*prod)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /spec/v1/debug/open", z.serveOpen)
	mux.HandleFunc("POST /spec/v1/invoke", z.serveInvoke)
	z.srv = httptest.NewServer(mux)
	t.Cleanup(z.srv.Close)
	return z
}

// setApp sets the app the access token belongs to.
func (z *debugZone) setApp(corpID string, agentID int64) {
	z.mu.Lock()
	defer z.mu.Unlock()
	z.corpID, z.agentID = corpID, agentID
}

// keys returns the keys of debug secret ver.
func (z *debugZone) keys(ver int) *zonewire.Keys {
	z.mu.Lock()
	defer z.mu.Unlock()
	s := z.byVer[ver]
	if s == nil {
		z.t.Fatalf("fake zone has no debug secret %d", ver)
	}
	return s.keys
}

// kill ends debug secret ver, as close_debug_mode or expiry does.
func (z *debugZone) kill(ver int) {
	z.mu.Lock()
	defer z.mu.Unlock()
	delete(z.byVer, ver)
}

func (z *debugZone) lastInvoke() (zonewire.Invoke, zonewire.Header) {
	z.mu.Lock()
	defer z.mu.Unlock()
	if len(z.invokes) == 0 {
		z.t.Fatal("no invoke")
	}
	return z.invokes[len(z.invokes)-1], z.headers[len(z.headers)-1]
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	json.NewEncoder(w).Encode(v)
}

func (z *debugZone) serveOpen(w http.ResponseWriter, r *http.Request) {
	var req debugOpen
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		writeJSON(w, map[string]any{"errcode": 40058, "errmsg": "body is not JSON"})
		return
	}
	z.mu.Lock()
	defer z.mu.Unlock()
	z.opens = append(z.opens, req)
	if r.Header.Get("Content-Type") != "application/json" {
		writeJSON(w, map[string]any{"errcode": 40058, "errmsg": "Content-Type " + r.Header.Get("Content-Type")})
		return
	}
	if z.errcode != 0 {
		writeJSON(w, map[string]any{"errcode": z.errcode, "errmsg": "debug token expired, hint: get a new one"})
		return
	}
	if req.ProgramID != testProgramID || req.DebugToken != testDebugToken || req.AccessToken != testAccessToken {
		writeJSON(w, map[string]any{"errcode": 40014, "errmsg": "invalid access_token"})
		return
	}
	raw, err := base64.StdEncoding.DecodeString(req.PublicKey)
	var pub *ecdh.PublicKey
	if err == nil {
		pub, err = ecdh.X25519().NewPublicKey(raw)
	}
	if err != nil {
		writeJSON(w, map[string]any{"errcode": 40058, "errmsg": "public_key is not a base64 X25519 key"})
		return
	}
	// A new secret replaces the earlier one of the same corp and app.
	for v, s := range z.byVer {
		if s.corpID == z.corpID && s.agentID == z.agentID {
			delete(z.byVer, v)
		}
	}
	sec := zonewire.NewSecret(z.nextVer)
	z.nextVer += 7
	sealed, err := zonewire.SealDebugSecret(pub, sec, req.ProgramID, z.corpID, z.agentID)
	if err != nil {
		z.t.Errorf("SealDebugSecret: %v", err)
		writeJSON(w, map[string]any{"errcode": -1, "errmsg": "system error"})
		return
	}
	z.byVer[sec.Ver] = &debugSession{keys: zonewire.NewKeys(sec), corpID: z.corpID, agentID: z.agentID}
	b64 := base64.StdEncoding.EncodeToString(sealed)
	z.sealed = append(z.sealed, b64)
	z.secrets = append(z.secrets, sec)
	writeJSON(w, map[string]any{
		"errcode": 0, "errmsg": "ok", "corpid": z.corpID, "agentid": z.agentID, "secret_ver": sec.Ver,
		"sealed_secret": b64, "expires_at": testExpiresAt, "debug_mode_status": 1,
	})
}

func (z *debugZone) serveInvoke(w http.ResponseWriter, r *http.Request) {
	refuse := func(err error) {
		w.Header()[zonewire.HeaderException] = []string{strconv.Itoa(zonewire.ExceptionCode(err))}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		json.NewEncoder(w).Encode(map[string]any{"errcode": 710677, "errmsg": err.Error()})
	}
	hd, err := zonewire.ReadHeader(r.Header, "")
	if err != nil {
		refuse(err)
		return
	}
	z.mu.Lock()
	keys, session := z.prod, (*debugSession)(nil)
	if keys == nil || keys.Secret.Ver != hd.SecretVer {
		keys = nil
		if s := z.byVer[hd.SecretVer]; s != nil {
			keys, session = s.keys, s
		}
	}
	z.mu.Unlock()
	if keys == nil {
		refuse(&zonewire.Error{Code: zonewire.ExcSecretVer, Reason: "no such secret version"})
		return
	}
	body, _ := io.ReadAll(r.Body)
	plain, err := keys.Open(zonewire.PurposeInvoke, hd, body)
	var inv zonewire.Invoke
	if err == nil {
		err = json.Unmarshal(plain, &inv)
	}
	if err != nil {
		refuse(err)
		return
	}
	z.mu.Lock()
	z.invokes = append(z.invokes, inv)
	z.headers = append(z.headers, hd)
	z.mu.Unlock()
	reply := fmt.Sprintf(`{"errcode":0,"errmsg":"ok","secret_ver":%d,"corpid":%q,"agentid":%d}`, hd.SecretVer, inv.CorpID, inv.AgentID)
	if session != nil && (inv.CorpID != session.corpID || inv.AgentID != session.agentID) {
		reply = `{"errcode":710673,"errmsg":"debug secret used outside its corp and app"}`
	}
	hd.Apply(w.Header(), false)
	w.Header().Set("Content-Type", zonewire.ContentType)
	w.Write(keys.Seal(zonewire.PurposeResult, hd, []byte(reply)))
}

// syncBuffer is a bytes.Buffer safe for concurrent use, for captured logs.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// newDebugProgram returns a Program of testProgramID on zone z, with the
// production secret prod (nil: none, as on a developer's machine) and a
// logger writing everything, DEBUG included, to logs.
func newDebugProgram(t testing.TB, zoneURL string, prod *zonewire.Secret, logs io.Writer) *zonesdk.Program {
	t.Helper()
	cfg := zonesdk.Config{
		ZoneURL:   zoneURL,
		ProgramID: testProgramID,
		Now:       func() time.Time { return testNow },
		Logger:    slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	if prod != nil {
		cfg.Secret = *prod
	}
	p, err := zonesdk.New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return p
}

// serveCall sends p a call sealed with keys (version keys.Secret.Ver) and
// returns the recorder and the header.
func serveCall(t testing.TB, p *zonesdk.Program, keys *zonewire.Keys, c zonewire.Call) (*httptest.ResponseRecorder, zonewire.Header) {
	t.Helper()
	hd := newHeader()
	hd.SecretVer = keys.Secret.Ver
	rec := httptest.NewRecorder()
	p.ServeHTTP(rec, callRequest(hd, sealCall(t, keys, hd, c), "lower"))
	return rec, hd
}

// invokeCode returns the Code of an *InvokeError in err, else 0.
func invokeCode(err error) int {
	var ie *zonesdk.InvokeError
	if errors.As(err, &ie) {
		return ie.Code
	}
	return 0
}

// wantException checks that rec is a refusal with ww-exception code.
func wantException(t testing.TB, rec *httptest.ResponseRecorder, code int) {
	t.Helper()
	if got := hget(rec.Header(), zonewire.HeaderException); rec.Code != 200 || got != strconv.Itoa(code) || rec.Body.Len() != 0 {
		t.Errorf("status %d, ww-exception %q, %d body bytes; want 200, %d, empty", rec.Code, got, rec.Body.Len(), code)
	}
}

func TestProgram_OpenDebugMode(t *testing.T) {
	t.Parallel()
	z := newDebugZone(t, nil)
	var logs syncBuffer
	p := newDebugProgram(t, z.srv.URL, nil, &logs) // a developer's machine: no production secret
	ctx := context.Background()

	// The ability "relay" invokes ping from within the call, and reports
	// the reply and the call's secret version.
	p.Handle("relay", func(ctx context.Context, req *zonesdk.Request) (string, error) {
		reply, err := p.Invoke(ctx, "ping", nil)
		if err != nil {
			return "", err
		}
		return fmt.Sprintf(`{"secret_ver":%d,"reply":%s}`, req.SecretVer, reply), nil
	})
	var async sync.WaitGroup
	var asyncReply json.RawMessage
	var asyncErr error
	p.Handle("later", func(ctx context.Context, req *zonesdk.Request) (string, error) {
		async.Add(1)
		go func() {
			defer async.Done()
			asyncReply, asyncErr = p.Invoke(zonesdk.Detach(ctx), zonesdk.AsyncJobCallback, map[string]any{"errcode": 0, "result": "{}"})
		}()
		return "{}", nil
	})

	s, err := p.OpenDebugMode(ctx, testDebugToken, testAccessToken)
	if err != nil {
		t.Fatalf("OpenDebugMode: %v", err)
	}
	want := zonesdk.DebugSession{CorpID: "wwdemo", AgentID: 1000002, SecretVer: z.secrets[0].Ver, ExpiresAt: time.Unix(testExpiresAt, 0), Status: 1}
	if *s != want {
		t.Errorf("session = %+v, want %+v", *s, want)
	}
	if got := p.DebugSessions(); len(got) != 1 || got[0] != want {
		t.Errorf("DebugSessions = %+v", got)
	}
	open := z.opens[0]
	if pub, err := base64.StdEncoding.DecodeString(open.PublicKey); err != nil || len(pub) != 32 || open.ProgramID != testProgramID {
		t.Errorf("open request = %+v", open)
	}
	ver := s.SecretVer
	debugKeys := z.keys(ver)

	t.Run("CallOpensAndReplyUsesDebugSecret", func(t *testing.T) {
		rec, hd := serveCall(t, p, debugKeys, zonewire.Call{CorpID: "wwdemo", AgentID: 1000002, CallType: 1, AbilityID: "relay", Data: "{}"})
		if rec.Code != 200 || hget(rec.Header(), zonewire.HeaderException) != "" {
			t.Fatalf("status %d, exception %q, body %q", rec.Code, hget(rec.Header(), zonewire.HeaderException), rec.Body.String())
		}
		if got := hget(rec.Header(), zonewire.HeaderSecretVer); got != strconv.Itoa(ver) {
			t.Errorf("reply ww-secret-ver = %q, want %d", got, ver)
		}
		rep := openReply(t, debugKeys, hd, rec.Body.Bytes())
		wantData := fmt.Sprintf(`{"secret_ver":%d,"reply":{"errcode":0,"errmsg":"ok","secret_ver":%d,"corpid":"wwdemo","agentid":1000002}}`, ver, ver)
		if rep.Data != wantData {
			t.Errorf("reply data = %s, want %s", rep.Data, wantData)
		}
		if _, ihd := z.lastInvoke(); ihd.SecretVer != ver {
			t.Errorf("invoke from the call sealed with version %d, want the call's %d", ihd.SecretVer, ver)
		}
	})

	t.Run("AsyncCallbackUsesCallSecret", func(t *testing.T) {
		rec, _ := serveCall(t, p, debugKeys, zonewire.Call{CorpID: "wwdemo", AgentID: 1000002, CallType: 1, AbilityID: "later", IsAsync: true, JobInfo: "job-1", Data: "{}"})
		if rec.Code != 200 || hget(rec.Header(), zonewire.HeaderException) != "" {
			t.Fatalf("status %d, exception %q", rec.Code, hget(rec.Header(), zonewire.HeaderException))
		}
		async.Wait()
		if asyncErr != nil {
			t.Fatalf("callback: %v", asyncErr)
		}
		if code, _ := zonesdk.Errcode(asyncReply); code != 0 {
			t.Errorf("callback reply %s", asyncReply)
		}
		inv, ihd := z.lastInvoke()
		if ihd.SecretVer != ver || inv.JobInfo != "job-1" {
			t.Errorf("callback: version %d, job_info %q", ihd.SecretVer, inv.JobInfo)
		}
	})

	t.Run("InvokeOutsideCallForDebugApp", func(t *testing.T) {
		ictx := zonesdk.WithInvokeContext(ctx, zonesdk.InvokeContext{CorpID: "wwdemo", AgentID: 1000002, AbilityID: "relay"})
		reply, err := p.Invoke(ictx, "ping", nil)
		if err != nil {
			t.Fatalf("Invoke: %v", err)
		}
		if _, ihd := z.lastInvoke(); ihd.SecretVer != ver || !strings.Contains(string(reply), `"secret_ver":`+strconv.Itoa(ver)) {
			t.Errorf("sealed with version %d, reply %s; want %d", ihd.SecretVer, reply, ver)
		}
	})

	t.Run("InvokeForOtherCorpWithoutProductionSecret", func(t *testing.T) {
		for _, ic := range []zonesdk.InvokeContext{
			{CorpID: "wwother", AgentID: 1000002},
			{CorpID: "wwdemo", AgentID: 1000003},
			{},
		} {
			_, err := p.Invoke(zonesdk.WithInvokeContext(ctx, ic), "ping", nil)
			var ie *zonesdk.InvokeError
			if !errors.As(err, &ie) || ie.Code != zonesdk.CodeSecretVer || !strings.Contains(ie.Msg, "debug mode is not open") ||
				!strings.Contains(ie.Msg, strconv.Quote(ic.CorpID)) || !strings.Contains(ie.Msg, "no production secret") {
				t.Errorf("%+v: err = %v, want an *InvokeError %d saying debug mode is not open", ic, err, zonesdk.CodeSecretVer)
			}
		}
	})

	t.Run("InvokeFromCallOverriddenToOtherCorp", func(t *testing.T) {
		var err error
		p.Handle("override", func(ctx context.Context, req *zonesdk.Request) (string, error) {
			_, err = p.Invoke(zonesdk.WithInvokeContext(ctx, zonesdk.InvokeContext{CorpID: "wwother", AgentID: 9}), "ping", nil)
			return "{}", nil
		})
		serveCall(t, p, debugKeys, zonewire.Call{CorpID: "wwdemo", AgentID: 1000002, CallType: 1, AbilityID: "override", Data: "{}"})
		if invokeCode(err) != zonesdk.CodeSecretVer {
			t.Errorf("invoke for another corp from a debug call: %v, want %d (the debug secret does not act there)", err, zonesdk.CodeSecretVer)
		}
	})

	t.Run("ProductionCallRefused", func(t *testing.T) {
		rec, _ := serveCall(t, p, zonewire.NewKeys(testSecret(1)), zonewire.Call{CorpID: "wwdemo", AgentID: 1000002, CallType: 1, AbilityID: "relay", Data: "{}"})
		wantException(t, rec, zonewire.ExcSecretVer)
	})

	t.Run("DebugSecretOfOtherCorpRefused", func(t *testing.T) {
		for _, c := range []zonewire.Call{
			{CorpID: "wwother", AgentID: 1000002, CallType: 1, AbilityID: "relay", Data: "{}"},
			{CorpID: "wwdemo", AgentID: 1000003, CallType: 1, AbilityID: "relay", Data: "{}"},
			{CorpID: "wwother", AgentID: 1000002, CallType: 2, Data: `{"event_type":"x"}`},
		} {
			rec, _ := serveCall(t, p, debugKeys, c)
			wantException(t, rec, zonewire.ExcAuth)
		}
	})

	t.Run("UnknownDebugVersionRefused", func(t *testing.T) {
		rec, _ := serveCall(t, p, zonewire.NewKeys(zonewire.NewSecret(ver+1)), zonewire.Call{CorpID: "wwdemo", AgentID: 1000002, CallType: 1, AbilityID: "relay", Data: "{}"})
		wantException(t, rec, zonewire.ExcSecretVer)
	})

	t.Run("ZoneKilledSecret", func(t *testing.T) {
		z.kill(ver)
		_, err := p.Invoke(zonesdk.WithInvokeContext(ctx, zonesdk.InvokeContext{CorpID: "wwdemo", AgentID: 1000002}), "ping", nil)
		var ie *zonesdk.InvokeError
		if !errors.As(err, &ie) || ie.Code != zonesdk.CodeSecretVer || !strings.Contains(ie.Msg, "open debug mode again") {
			t.Errorf("err = %v, want -10008 with a hint to open debug mode again", err)
		}
	})

	assertNoSecrets(t, logs.String(), z)
}

// assertNoSecrets fails when logs hold a token, a debug secret or a sealed
// secret of z.
func assertNoSecrets(t *testing.T, logs string, z *debugZone) {
	t.Helper()
	if !strings.Contains(logs, "debug mode opened") {
		t.Errorf("logs lack the opening:\n%s", logs)
	}
	z.mu.Lock()
	defer z.mu.Unlock()
	leaks := []string{testDebugToken, testAccessToken}
	for _, sec := range z.secrets {
		leaks = append(leaks, base64.StdEncoding.EncodeToString(sec.Key[:]), hex.EncodeToString(sec.Key[:]), sec.String())
	}
	leaks = append(leaks, z.sealed...)
	for _, o := range z.opens {
		leaks = append(leaks, o.PublicKey) // not secret, but no business in logs either
	}
	for _, s := range leaks {
		if strings.Contains(logs, s) {
			t.Errorf("logs contain %q:\n%s", s, logs)
		}
	}
}

func TestProgram_OpenDebugMode_WithProductionSecret(t *testing.T) {
	t.Parallel()
	prod := testSecret(1)
	z := newDebugZone(t, &prod)
	var logs syncBuffer
	p := newDebugProgram(t, z.srv.URL, &prod, &logs)
	ctx := context.Background()
	p.Handle("relay", func(ctx context.Context, req *zonesdk.Request) (string, error) {
		reply, err := p.Invoke(ctx, "ping", nil)
		return string(reply), err
	})
	s, err := p.OpenDebugMode(ctx, testDebugToken, testAccessToken)
	if err != nil {
		t.Fatalf("OpenDebugMode: %v", err)
	}

	for _, tc := range []struct {
		name string
		ic   zonesdk.InvokeContext
		ver  int
	}{
		{"DebugApp", zonesdk.InvokeContext{CorpID: "wwdemo", AgentID: 1000002}, s.SecretVer},
		{"OtherCorp", zonesdk.InvokeContext{CorpID: "wwother", AgentID: 1000002}, prod.Ver},
		{"OtherApp", zonesdk.InvokeContext{CorpID: "wwdemo", AgentID: 7}, prod.Ver},
	} {
		if _, err := p.Invoke(zonesdk.WithInvokeContext(ctx, tc.ic), "ping", nil); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if _, hd := z.lastInvoke(); hd.SecretVer != tc.ver {
			t.Errorf("%s: sealed with version %d, want %d", tc.name, hd.SecretVer, tc.ver)
		}
	}

	// Calls under either secret open; each is answered with its own, and
	// invokes made for it use it.
	for _, keys := range []*zonewire.Keys{zonewire.NewKeys(prod), z.keys(s.SecretVer)} {
		corp := "wwdemo"
		if keys.Secret.Ver == prod.Ver {
			corp = "wwprod"
		}
		rec, hd := serveCall(t, p, keys, zonewire.Call{CorpID: corp, AgentID: 1000002, CallType: 1, AbilityID: "relay", Data: "{}"})
		if rec.Code != 200 || hget(rec.Header(), zonewire.HeaderException) != "" {
			t.Fatalf("version %d: status %d, exception %q", keys.Secret.Ver, rec.Code, hget(rec.Header(), zonewire.HeaderException))
		}
		rep := openReply(t, keys, hd, rec.Body.Bytes())
		if !strings.Contains(rep.Data, `"secret_ver":`+strconv.Itoa(keys.Secret.Ver)) {
			t.Errorf("version %d: reply %s", keys.Secret.Ver, rep.Data)
		}
	}
	assertNoSecrets(t, logs.String(), z)
}

func TestProgram_OpenDebugMode_ZoneError(t *testing.T) {
	t.Parallel()
	z := newDebugZone(t, nil)
	z.errcode = 710671
	var logs syncBuffer
	p := newDebugProgram(t, z.srv.URL, nil, &logs)
	s, err := p.OpenDebugMode(context.Background(), testDebugToken, testAccessToken)
	if s != nil {
		t.Errorf("session %+v", s)
	}
	var ze *zonesdk.ZoneError
	if !errors.As(err, &ze) || ze.Errcode != 710671 || !strings.Contains(ze.Errmsg, "expired") {
		t.Fatalf("err = %#v, want a *ZoneError 710671", err)
	}
	if !errors.Is(err, &zonesdk.ZoneError{Errcode: 710671}) || errors.Is(err, &zonesdk.ZoneError{Errcode: 710672}) {
		t.Error("errors.Is does not compare errcodes")
	}
	if !strings.Contains(err.Error(), "710671") {
		t.Errorf("Error() = %q", err)
	}
	var ie *zonesdk.InvokeError
	if errors.As(err, &ie) {
		t.Error("a zone refusal is also an *InvokeError")
	}
	if len(p.DebugSessions()) != 0 {
		t.Errorf("DebugSessions = %+v after a refusal", p.DebugSessions())
	}
	l := logs.String()
	if !strings.Contains(l, "errcode=710671") || strings.Contains(l, testDebugToken) || strings.Contains(l, testAccessToken) {
		t.Errorf("logs:\n%s", l)
	}
}

func TestProgram_OpenDebugMode_Again(t *testing.T) {
	t.Parallel()
	z := newDebugZone(t, nil)
	var logs syncBuffer
	p := newDebugProgram(t, z.srv.URL, nil, &logs)
	p.Handle("echo", func(ctx context.Context, req *zonesdk.Request) (string, error) { return req.Data, nil })
	ctx := context.Background()
	call := zonewire.Call{CorpID: "wwdemo", AgentID: 1000002, CallType: 1, AbilityID: "echo", Data: `{"n":1}`}

	first, err := p.OpenDebugMode(ctx, testDebugToken, testAccessToken)
	if err != nil {
		t.Fatal(err)
	}
	oldKeys := z.keys(first.SecretVer)
	second, err := p.OpenDebugMode(ctx, testDebugToken, testAccessToken)
	if err != nil {
		t.Fatal(err)
	}
	if second.SecretVer == first.SecretVer {
		t.Fatalf("opening again kept version %d", first.SecretVer)
	}
	if got := p.DebugSessions(); len(got) != 1 || got[0].SecretVer != second.SecretVer {
		t.Errorf("DebugSessions = %+v, want only version %d", got, second.SecretVer)
	}
	rec, _ := serveCall(t, p, oldKeys, call)
	wantException(t, rec, zonewire.ExcSecretVer)
	rec, hd := serveCall(t, p, z.keys(second.SecretVer), call)
	if rec.Code != 200 || openReply(t, z.keys(second.SecretVer), hd, rec.Body.Bytes()).Data != `{"n":1}` {
		t.Errorf("call under the new secret: status %d", rec.Code)
	}
	if _, err := p.Invoke(zonesdk.WithInvokeContext(ctx, zonesdk.InvokeContext{CorpID: "wwdemo", AgentID: 1000002}), "ping", nil); err != nil {
		t.Errorf("invoke after reopening: %v", err)
	}
	if _, ihd := z.lastInvoke(); ihd.SecretVer != second.SecretVer {
		t.Errorf("invoke sealed with %d, want %d", ihd.SecretVer, second.SecretVer)
	}

	// Another app gets a session of its own, beside the first.
	z.setApp("wwalpha", 5)
	third, err := p.OpenDebugMode(ctx, testDebugToken, testAccessToken)
	if err != nil {
		t.Fatal(err)
	}
	got := p.DebugSessions()
	if len(got) != 2 || got[0].CorpID != "wwalpha" || got[0].SecretVer != third.SecretVer || got[1].SecretVer != second.SecretVer {
		t.Errorf("DebugSessions = %+v", got)
	}
	assertNoSecrets(t, logs.String(), z)
}

// A debug call whose secret is replaced while it runs reports its async
// result with the new secret of its corp and app.
func TestProgram_OpenDebugMode_ReplacedDuringCall(t *testing.T) {
	t.Parallel()
	z := newDebugZone(t, nil)
	p := newDebugProgram(t, z.srv.URL, nil, io.Discard)
	ctx := context.Background()
	var callCtx context.Context
	p.Handle("later", func(ctx context.Context, req *zonesdk.Request) (string, error) {
		callCtx = zonesdk.Detach(ctx)
		return "{}", nil
	})
	first, err := p.OpenDebugMode(ctx, testDebugToken, testAccessToken)
	if err != nil {
		t.Fatal(err)
	}
	serveCall(t, p, z.keys(first.SecretVer), zonewire.Call{CorpID: "wwdemo", AgentID: 1000002, CallType: 1, AbilityID: "later", IsAsync: true, Data: "{}"})
	second, err := p.OpenDebugMode(ctx, testDebugToken, testAccessToken)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Invoke(callCtx, zonesdk.AsyncJobCallback, map[string]any{"errcode": 0}); err != nil {
		t.Fatalf("callback: %v", err)
	}
	if _, hd := z.lastInvoke(); hd.SecretVer != second.SecretVer {
		t.Errorf("callback sealed with %d, want the new %d", hd.SecretVer, second.SecretVer)
	}
}

// A program without a production secret refuses a production call.
func TestProgram_NoProductionSecret(t *testing.T) {
	t.Parallel()
	p := newDebugProgram(t, "", nil, io.Discard)
	p.Handle("echo", func(ctx context.Context, req *zonesdk.Request) (string, error) { return "{}", nil })
	rec, _ := serveCall(t, p, zonewire.NewKeys(testSecret(1)), zonewire.Call{CorpID: "wwdemo", CallType: 1, AbilityID: "echo", Data: "{}"})
	wantException(t, rec, zonewire.ExcSecretVer)
	if got := p.DebugSessions(); len(got) != 0 {
		t.Errorf("DebugSessions = %+v", got)
	}
}

func TestProgram_OpenDebugMode_Errors(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedURL := "http://" + ln.Addr().String()
	ln.Close()

	// answer builds the zone's JSON answer for the SDK's public key.
	type answer func(t *testing.T, pub *ecdh.PublicKey) map[string]any
	ok := func(corp string, agent int64, ver int, mutate func(sealed []byte) string) answer {
		return func(t *testing.T, pub *ecdh.PublicKey) map[string]any {
			sec := zonewire.NewSecret(ver)
			if ver < zonewire.DebugSecretVerMin || ver > 1<<31-1 {
				sec = zonewire.NewSecret(zonewire.DebugSecretVerMin)
			}
			sealed, err := zonewire.SealDebugSecret(pub, sec, testProgramID, corp, agent)
			if err != nil {
				t.Fatal(err)
			}
			b64 := base64.StdEncoding.EncodeToString(sealed)
			if mutate != nil {
				b64 = mutate(sealed)
			}
			return map[string]any{"errcode": 0, "errmsg": "ok", "corpid": "wwdemo", "agentid": 1000002, "secret_ver": ver,
				"sealed_secret": b64, "expires_at": testExpiresAt, "debug_mode_status": 2}
		}
	}
	const ver = zonewire.DebugSecretVerMin + 1
	otherKey, _ := ecdh.X25519().GenerateKey(rand.Reader)

	tests := []struct {
		name     string
		zoneURL  string // "": the test's zone
		prod     *zonewire.Secret
		debugTok string
		status   int    // HTTP status of the zone (default 200)
		raw      string // raw answer body, else answer
		answer   answer
		wantCode int
	}{
		{name: "NoZoneURL", zoneURL: "-", wantCode: zonesdk.CodeInternal},
		{name: "NoDebugToken", debugTok: " ", wantCode: zonesdk.CodeInternal},
		{name: "Network", zoneURL: closedURL, wantCode: zonesdk.CodeNetwork},
		{name: "HTTPStatus", status: http.StatusNotFound, raw: "404 page not found", wantCode: zonesdk.CodeHTTPStatus},
		{name: "NotJSON", raw: "<html>", wantCode: zonesdk.CodeInvalidJSON},
		{name: "NoErrcode", raw: `{"errmsg":"ok"}`, wantCode: zonesdk.CodeInvalidJSON},
		{name: "NoCorpID", answer: func(t *testing.T, pub *ecdh.PublicKey) map[string]any {
			m := ok("wwdemo", 1000002, ver, nil)(t, pub)
			delete(m, "corpid")
			return m
		}, wantCode: zonesdk.CodeInvalidJSON},
		{name: "ProductionVersion", answer: ok("wwdemo", 1000002, 3, nil), wantCode: zonesdk.CodeInvalidJSON},
		{name: "VersionTooLarge", answer: ok("wwdemo", 1000002, 1<<31, nil), wantCode: zonesdk.CodeInvalidJSON},
		{name: "SealedForOtherCorp", answer: ok("wwother", 1000002, ver, nil), wantCode: zonesdk.CodeSignature},
		{name: "SealedForOtherApp", answer: ok("wwdemo", 1000003, ver, nil), wantCode: zonesdk.CodeSignature},
		{name: "SealedToOtherKey", answer: func(t *testing.T, pub *ecdh.PublicKey) map[string]any {
			return ok("wwdemo", 1000002, ver, nil)(t, otherKey.PublicKey())
		}, wantCode: zonesdk.CodeSignature},
		{name: "NotBase64", answer: ok("wwdemo", 1000002, ver, func([]byte) string { return "not base64!" }), wantCode: zonesdk.CodeDecrypt},
		{name: "Truncated", answer: ok("wwdemo", 1000002, ver, func(b []byte) string { return base64.StdEncoding.EncodeToString(b[:40]) }), wantCode: zonesdk.CodeDecrypt},
		{name: "ProductionSecretVersion", prod: &zonewire.Secret{Ver: ver, Key: testSecret(1).Key}, answer: ok("wwdemo", 1000002, ver, nil), wantCode: zonesdk.CodeSecretVer},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				var req debugOpen
				json.NewDecoder(r.Body).Decode(&req)
				if tt.status != 0 {
					w.WriteHeader(tt.status)
				}
				if tt.raw != "" || tt.answer == nil {
					io.WriteString(w, tt.raw)
					return
				}
				raw, _ := base64.StdEncoding.DecodeString(req.PublicKey)
				pub, err := ecdh.X25519().NewPublicKey(raw)
				if err != nil {
					t.Errorf("public key: %v", err)
					return
				}
				writeJSON(w, tt.answer(t, pub))
			}))
			defer srv.Close()
			zoneURL := srv.URL
			switch tt.zoneURL {
			case "-":
				zoneURL = ""
			case "":
			default:
				zoneURL = tt.zoneURL
			}
			var logs syncBuffer
			p := newDebugProgram(t, zoneURL, tt.prod, &logs)
			dt := testDebugToken
			if tt.debugTok != "" {
				dt = tt.debugTok
			}
			s, err := p.OpenDebugMode(context.Background(), dt, testAccessToken)
			if s != nil {
				t.Errorf("session %+v", s)
			}
			if code := invokeCode(err); code != tt.wantCode {
				t.Errorf("err = %v, want code %d", err, tt.wantCode)
			}
			if len(p.DebugSessions()) != 0 {
				t.Errorf("DebugSessions = %+v after a failure", p.DebugSessions())
			}
			if l := logs.String(); strings.Contains(l, testDebugToken) || strings.Contains(l, testAccessToken) {
				t.Errorf("logs leak a token:\n%s", l)
			}
		})
	}
}
