package nativetest_test

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openzone/openzone/internal/nativetest"
	"github.com/openzone/openzone/sdk/zonewire"
)

// binding is one face of the library under test, run as a driver process
// speaking the line protocol of testdata/java/BindingDriver.java.
type binding struct {
	name  string
	lang  string // java or cpp
	start func(t *testing.T) []string
}

// null is the line protocol's null reference ("-"); C++ passes "".
type null struct{}

func bindings() []binding {
	java := func(wrappers func(*testing.T) []string) func(t *testing.T) []string {
		return func(t *testing.T) []string {
			nativetest.Require(t, "java", "javac")
			lib := nativetest.Library(t)
			roots := append(wrappers(t), nativetest.OpenZoneJava(t), "testdata/java")
			return nativetest.Java(lib, nativetest.Javac(t, roots...), "BindingDriver")
		}
	}
	return []binding{
		// OpenZone's SpecSDK, SpecCallbackSDK and SpecUtil.
		{"JavaOpenZone", "java", java(func(*testing.T) []string { return nil })},
		// Re-creations of WeCom's wrappers, with OpenZone's SpecUtil.
		{"JavaWeCom", "java", java(func(*testing.T) []string { return []string{"testdata/wecom"} })},
		{"Cpp", "cpp", func(t *testing.T) []string {
			lib := nativetest.Library(t)
			return []string{nativetest.Gpp(t, lib, "testdata/cpp/binding_driver.cpp")}
		}},
	}
}

// driver is a running binding driver.
type driver struct {
	t      *testing.T
	lang   string
	in     io.WriteCloser
	out    *bufio.Reader
	stderr *syncBuffer
}

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

// startDriver runs the binding's driver against zone, with the production
// secret in its environment.
func startDriver(t *testing.T, b binding, zone *fakeZone, env ...string) *driver {
	t.Helper()
	argv := b.start(t)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), "OPENZONE_API="+zone.srv.URL, "OPENZONE_PROGRAM_ID="+programID, "OPENZONE_SECRET="+secret.String())
	cmd.Env = append(cmd.Env, env...)
	d := &driver{t: t, lang: b.lang, stderr: &syncBuffer{}}
	cmd.Stderr = d.stderr
	var err error
	if d.in, err = cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	d.out = bufio.NewReaderSize(stdout, 1<<20)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		d.in.Close()
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("driver exited: %v\n%s", err, nativetest.Trim([]byte(d.stderr.String()), 4000))
			}
		case <-time.After(20 * time.Second):
			cmd.Process.Kill()
			t.Errorf("driver did not exit")
		}
	})
	return d
}

// do sends one request and returns the answer's fields, decoded (nil for
// "-"). Fields may be strings, []byte, ints, bools or null{}.
func (d *driver) do(op string, fields ...any) []*string {
	d.t.Helper()
	var b strings.Builder
	b.WriteString(op)
	for _, f := range fields {
		b.WriteByte(' ')
		switch v := f.(type) {
		case null:
			b.WriteString("-")
		case string:
			b.WriteString(hex.EncodeToString([]byte(v)))
		case []byte:
			b.WriteString(hex.EncodeToString(v))
		default:
			b.WriteString(hex.EncodeToString([]byte(fmt.Sprint(v))))
		}
	}
	b.WriteByte('\n')
	if _, err := io.WriteString(d.in, b.String()); err != nil {
		d.t.Fatalf("%s: write: %v\n%s", op, err, d.stderr.String())
	}
	line, err := d.out.ReadString('\n')
	if err != nil {
		d.t.Fatalf("%s: the driver answered nothing (%v) to %q; stderr:\n%s", op, err, b.String(), nativetest.Trim([]byte(d.stderr.String()), 4000))
	}
	f := strings.Split(strings.TrimRight(line, "\r\n"), " ")
	if f[0] != "ok" {
		d.t.Fatalf("%s: driver: %s", op, line)
	}
	out := make([]*string, len(f)-1)
	for i, h := range f[1:] {
		if h == "-" {
			continue
		}
		raw, err := hex.DecodeString(h)
		if err != nil {
			d.t.Fatalf("%s: bad answer %q", op, line)
		}
		s := string(raw)
		out[i] = &s
	}
	return out
}

func str(p *string) string {
	if p == nil {
		return "<null>"
	}
	return *p
}

// callResult is the answer to a call request.
type callResult struct {
	ok                       bool
	corp                     string
	agent, callType          int64
	data                     string
	async                    bool
	jobInfo, ability, notify string
	headers                  map[string]string
	body                     string
}

// call opens a call in the driver (SpecCallbackSDK) and answers it with
// reply (BuildResponseHeaderBody).
func (d *driver) call(method any, headers any, body any, reply string) callResult {
	d.t.Helper()
	var h any = null{}
	if pairs, ok := headers.([][2]string); ok {
		var b []byte
		for _, p := range pairs {
			b = append(append(append(append(b, p[0]...), 0), p[1]...), 0)
		}
		h = b
	}
	f := d.do("call", method, h, body, reply)
	atoi := func(p *string) int64 { n, _ := strconv.ParseInt(str(p), 10, 64); return n }
	r := callResult{ok: str(f[0]) == "true", corp: str(f[1]), agent: atoi(f[2]), callType: atoi(f[3]), data: str(f[4]),
		async: str(f[5]) == "true", jobInfo: str(f[6]), ability: str(f[7]), notify: str(f[8]), headers: map[string]string{}, body: str(f[10])}
	parts := strings.Split(str(f[9]), "\x00")
	for i := 0; i+1 < len(parts); i += 2 {
		r.headers[parts[i]] = parts[i+1]
	}
	return r
}

// exception returns the ww-exception of a refused call's answer, 0 when
// there is none.
func (r callResult) exception() int {
	n, _ := strconv.Atoi(r.headers[zonewire.HeaderException])
	return n
}

// invoke runs SpecSDK.Invoke (corp etc. as for the 4-argument constructor)
// and returns the code and the response.
func (d *driver) invoke(args ...any) (int, string) {
	d.t.Helper()
	op := "invoke"
	if len(args) == 2 {
		op = "invokecb"
	}
	f := d.do(op, args...)
	n, _ := strconv.Atoi(str(f[0]))
	return n, str(f[1])
}

type vcase struct {
	Name      string  `json:"name"`
	Secret    vsecret `json:"secret"`
	Purpose   string  `json:"purpose"`
	Header    vheader `json:"header"`
	Nonce     string  `json:"nonce"`
	Plaintext string  `json:"plaintext"`
	Body      string  `json:"body"`
}

type vectors struct {
	Cases    []vcase `json:"cases"`
	Negative []struct {
		Name      string  `json:"name"`
		Secret    vsecret `json:"secret"`
		Purpose   string  `json:"purpose"`
		Header    vheader `json:"header"`
		Body      string  `json:"body"` // hex
		Now       int64   `json:"now"`
		Exception int     `json:"exception"`
	} `json:"negative"`
	Headers []struct {
		Name      string      `json:"name"`
		Headers   [][2]string `json:"headers"`
		ProgramID string      `json:"program_id"`
		Exception int         `json:"exception"`
	} `json:"headers"`
	Accepted []struct {
		Name string `json:"name"`
		Base string `json:"base"`
		Body string `json:"body"` // hex
	} `json:"accepted"`
}

type vsecret struct {
	Ver int    `json:"ver"`
	Key string `json:"key"`
}

func (s vsecret) String() string { return strconv.Itoa(s.Ver) + ":" + s.Key }

type vheader struct {
	ProgramID string `json:"program_id"`
	SecretVer int    `json:"secret_ver"`
	RequestID string `json:"request_id"`
	Timestamp int64  `json:"timestamp"`
}

func (h vheader) pairs() [][2]string {
	return [][2]string{{"ww-secret-ver", strconv.Itoa(h.SecretVer)}, {"ww-request-id", h.RequestID}, {"ww-timestamp", strconv.FormatInt(h.Timestamp, 10)}}
}

func (h vheader) wire() zonewire.Header {
	return zonewire.Header{ProgramID: h.ProgramID, SecretVer: h.SecretVer, RequestID: h.RequestID, Timestamp: h.Timestamp}
}

func loadVectors(t *testing.T) vectors {
	b, err := os.ReadFile("../../sdk/zonewire/testdata/vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var v vectors
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

// TestBinding drives each face of the library (Java under OpenZone's
// wrappers, Java under WeCom's, C++) through the same table.
func TestBinding(t *testing.T) {
	for _, b := range bindings() {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			zone := newFakeZone(t)
			d := startDriver(t, b, zone)
			t.Run("Vectors", func(t *testing.T) { testVectors(t, d) })
			// Back to the production secret and the real clock.
			d.do("reset", programID, secret.String(), 0)
			t.Run("Call", func(t *testing.T) { testCall(t, d) })
			t.Run("BadInput", func(t *testing.T) { testBadInput(t, d) })
			t.Run("Invoke", func(t *testing.T) { testInvoke(t, d, zone) })
			t.Run("Util", func(t *testing.T) { testUtil(t, d) })
			t.Run("Reclaim", func(t *testing.T) { testReclaim(t, d) })
			// Last: it takes the production secret away.
			t.Run("DebugMode", func(t *testing.T) { testDebugMode(t, d, zone) })
		})
	}
}

// The protocol's test vectors through the face: the packet layer (seal
// with the vector's nonce, open) through the test hooks, and every call
// vector through SpecCallbackSDK, with the clock set to the vector's time.
func testVectors(t *testing.T, d *driver) {
	v := loadVectors(t)
	cases := map[string]vcase{}
	for _, c := range v.Cases {
		cases[c.Name] = c
	}
	var callApp struct {
		body   string
		secret string
		header vheader
	}
	for _, c := range v.Cases {
		hd := c.Header
		got := d.do("seal", c.Secret.String(), c.Purpose, hd.ProgramID, hd.SecretVer, hd.RequestID, hd.Timestamp, c.Nonce, c.Plaintext)
		if str(got[0]) != c.Body {
			t.Errorf("%s: seal = %q, want %q", c.Name, str(got[0]), c.Body)
		}
		got = d.do("open", c.Secret.String(), c.Purpose, hd.ProgramID, hd.SecretVer, hd.RequestID, hd.Timestamp, c.Body)
		if str(got[0]) != "OK:"+c.Plaintext {
			t.Errorf("%s: open = %q", c.Name, str(got[0]))
		}
		if c.Purpose != "call" {
			continue
		}
		if c.Name == "call-app" {
			callApp.body, callApp.secret, callApp.header = c.Body, c.Secret.String(), hd
		}
		d.do("reset", hd.ProgramID, c.Secret.String(), hd.Timestamp)
		r := d.call("POST", hd.pairs(), c.Body, `{"reply":"好 😀"}`)
		var want zonewire.Call
		json.Unmarshal([]byte(c.Plaintext), &want)
		if !r.ok || r.corp != want.CorpID || r.agent != want.AgentID || r.callType != int64(want.CallType) || r.data != want.Data ||
			r.async != want.IsAsync || r.jobInfo != want.JobInfo || r.ability != want.AbilityID || r.notify != want.NotifyID {
			t.Errorf("%s: SpecCallbackSDK = %+v, want %+v", c.Name, r, want)
			continue
		}
		sec, _ := zonewire.ParseSecret(c.Secret.String())
		plain, err := zonewire.NewKeys(sec).Open(zonewire.PurposeReply, hd.wire(), []byte(r.body))
		if err != nil || string(plain) != `{"data":"{\"reply\":\"好 😀\"}"}` {
			t.Errorf("%s: reply %q: %v", c.Name, plain, err)
		}
		if r.headers[zonewire.HeaderRequestID] != hd.RequestID || r.headers[zonewire.HeaderSecretVer] != strconv.Itoa(hd.SecretVer) {
			t.Errorf("%s: reply headers %v", c.Name, r.headers)
		}
	}
	for _, c := range v.Negative {
		hd := c.Header
		body, _ := hex.DecodeString(c.Body)
		if d.lang == "java" && !isUTF8Text(body) {
			// A Java program holds the body as a String: bytes that are not
			// text reach the SDK changed, and still must not open.
			got := d.do("open", c.Secret.String(), c.Purpose, hd.ProgramID, hd.SecretVer, hd.RequestID, hd.Timestamp, body)
			if str(got[0]) != "EXC:"+strconv.Itoa(zonewire.ExcMalformed) {
				t.Errorf("%s: open = %q", c.Name, str(got[0]))
			}
			continue
		}
		got := d.do("open", c.Secret.String(), c.Purpose, hd.ProgramID, hd.SecretVer, hd.RequestID, hd.Timestamp, body)
		want := c.Exception
		if c.Now != 0 {
			want = 0 // the packet layer does not read the clock
		}
		if want != 0 && str(got[0]) != "EXC:"+strconv.Itoa(want) || want == 0 && !strings.HasPrefix(str(got[0]), "OK:") {
			t.Errorf("%s: open = %q, want exception %d", c.Name, str(got[0]), want)
		}
		if c.Purpose != "call" {
			continue
		}
		now := hd.Timestamp
		if c.Now != 0 {
			now = c.Now
		}
		want = c.Exception
		if d.lang == "cpp" && len(body) == 0 {
			want = -20003 // C++ cannot tell an empty body from none
		}
		d.do("reset", hd.ProgramID, c.Secret.String(), now)
		if r := d.call("POST", hd.pairs(), body, ""); r.ok || r.exception() != want || r.body != "" {
			t.Errorf("%s: SpecCallbackSDK ok %v, answer %v %q, want ww-exception %d", c.Name, r.ok, r.headers, r.body, want)
		}
	}
	for _, c := range v.Headers {
		if c.ProgramID == "" {
			continue // the zone's case: a program knows its own id
		}
		d.do("reset", c.ProgramID, callApp.secret, callApp.header.Timestamp)
		r := d.call("POST", c.Headers, callApp.body, "{}")
		if r.ok != (c.Exception == 0) || r.exception() != c.Exception {
			t.Errorf("headers %s: ok %v, ww-exception %d, want %d", c.Name, r.ok, r.exception(), c.Exception)
		}
	}
	for _, c := range v.Accepted {
		body, _ := hex.DecodeString(c.Body)
		base := cases[c.Base]
		hd := base.Header
		got := d.do("open", base.Secret.String(), base.Purpose, hd.ProgramID, hd.SecretVer, hd.RequestID, hd.Timestamp, body)
		if str(got[0]) != "OK:"+base.Plaintext {
			t.Errorf("accepted %s: open = %q", c.Name, str(got[0]))
		}
		if base.Purpose == "call" {
			d.do("reset", hd.ProgramID, base.Secret.String(), hd.Timestamp)
			if r := d.call("POST", hd.pairs(), body, "{}"); !r.ok {
				t.Errorf("accepted %s: refused with %d", c.Name, r.exception())
			}
		}
	}
}

func isUTF8Text(b []byte) bool {
	return bytes.Equal([]byte(strings.ToValidUTF8(string(b), "\uFFFD")), b)
}

// Strings cross the boundary whole: characters outside the BMP (which
// modified UTF-8 mangles), U+0000, CJK, line separators.
func testCall(t *testing.T, d *driver) {
	for _, data := range []string{`{"text":"hello"}`, "😀 emoji 𝄞 and 中文", "nul \x00 inside", "line\u2028sep\r\n", strings.Repeat("长", 40000), ""} {
		c := zonewire.Call{CorpID: "wwcorp", AgentID: 1000002, CallType: 1, Data: data, AbilityID: "能力😀", NotifyID: "n", JobInfo: "j"}
		h, body, hd := sealCall(secret, c)
		r := d.call("POST", h, body, data)
		if !r.ok || r.data != data || r.ability != c.AbilityID || r.corp != "wwcorp" || r.agent != 1000002 || r.callType != 1 {
			t.Fatalf("data %.40q: got ok %v data %.40q ability %q", data, r.ok, r.data, r.ability)
		}
		plain, err := zonewire.NewKeys(secret).Open(zonewire.PurposeReply, hd, []byte(r.body))
		var rep zonewire.Reply
		if err != nil || json.Unmarshal(plain, &rep) != nil || rep.Data != data {
			t.Fatalf("reply of %.40q: %v %.60q", data, err, plain)
		}
	}
	// Header names in the case Java's HTTP server gives them, and upper case.
	c := zonewire.Call{CorpID: "wwcorp", AgentID: 1, CallType: 2, Data: `{"event_type":"x"}`}
	for _, spell := range []func(string) string{strings.ToUpper, func(s string) string { return strings.ToUpper(s[:1]) + s[1:] }} {
		h, body, _ := sealCall(secret, c)
		for i := range h {
			h[i][0] = spell(h[i][0])
		}
		h = append(h, [2]string{"Content-type", "text/plain"}, [2]string{"Host", "127.0.0.1"})
		if r := d.call("POST", h, body, ""); !r.ok || r.callType != 2 {
			t.Fatalf("headers %v: ok %v", h, r.ok)
		}
	}
}

// Bad input answers with an exception, never a crash.
func testBadInput(t *testing.T, d *driver) {
	c := zonewire.Call{CorpID: "wwcorp", AgentID: 1, CallType: 1, Data: "{}", AbilityID: "echo"}
	h, body, _ := sealCall(secret, c)
	replayed := d.call("POST", h, body, "")
	if !replayed.ok {
		t.Fatalf("fresh call refused: %v", replayed.headers)
	}
	stale := zonewire.Header{ProgramID: programID, SecretVer: secret.Ver, RequestID: zonewire.NewRequestID(), Timestamp: time.Now().Unix() - 400}
	plain, _ := json.Marshal(c)
	staleBody := zonewire.NewKeys(secret).Seal(zonewire.PurposeCall, stale, plain)
	stalePairs := vheader{programID, secret.Ver, stale.RequestID, stale.Timestamp}.pairs()
	h2, body2, _ := sealCall(secret, c)
	tampered := bytes.Clone(body2)
	// Another base64 character, so the body still decodes.
	if i := len(tampered) / 2; tampered[i] == 'A' {
		tampered[i] = 'B'
	} else {
		tampered[i] = 'A'
	}
	h3, body3, _ := sealCall(secret, c)
	dup := append(append([][2]string{}, h3...), [2]string{"WW-REQUEST-ID", zonewire.NewRequestID()})
	h4, body4, _ := sealCall(secret, c)
	missing := h4[1:]
	h5, body5, _ := sealCall(secret, c)
	h5[0][1] = "99"

	// C++ cannot pass a null string: its empty method and body count as
	// missing; Java's empty body is present and not a packet.
	for _, tc := range []struct {
		name          string
		method, hdr   any
		body          any
		want, wantCpp int
	}{
		{"ErrNullMethod", null{}, h, body, -20001, -20001},
		{"ErrEmptyMethod", "", h, body, -20001, -20001},
		{"ErrNullHeaders", "POST", null{}, body, -20002, -20002},
		{"ErrNoHeaders", "POST", [][2]string{}, body, -10009, -20002},
		{"ErrNullBody", "POST", h, null{}, -20003, -20003},
		{"ErrEmptyBody", "POST", h, "", -10009, -20003},
		{"ErrGet", "GET", h, body, -10009, -10009},
		{"ErrGarbage", "POST", h, "not base64 at all!", -10009, -10009},
		{"ErrBinary", "POST", h, []byte{0, 1, 2, 0xff, 0xfe, 0x80}, -10009, -10009},
		{"ErrReplay", "POST", h, body, -10011, -10011},
		{"ErrStale", "POST", stalePairs, staleBody, -10010, -10010},
		{"ErrTampered", "POST", h2, tampered, -10004, -10004},
		{"ErrDuplicateHeader", "POST", dup, body3, -10009, -10009},
		{"ErrMissingHeader", "POST", missing, body4, -10009, -10009},
		{"ErrSecretVer", "POST", h5, body5, -10008, -10008},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want := tc.want
			if d.lang == "cpp" {
				want = tc.wantCpp
			}
			r := d.call(tc.method, tc.hdr, tc.body, "ignored")
			if r.ok || r.exception() != want || r.body != "" || r.corp != "" || r.data != "" || r.agent != 0 {
				t.Fatalf("got %+v, want ww-exception %d", r, want)
			}
			// A SpecSDK made from a refused call is not initialised.
			if code, rsp := d.invoke("sync_msg", "{}"); code != -10001 || !strings.Contains(rsp, `"errcode":-10001`) {
				t.Fatalf("SpecSDK(refused call).Invoke = %d %s", code, rsp)
			}
		})
	}
}

func testInvoke(t *testing.T, d *driver, zone *fakeZone) {
	last := func() invoke {
		zone.mu.Lock()
		defer zone.mu.Unlock()
		return zone.invokes[len(zone.invokes)-1]
	}
	t.Run("Context", func(t *testing.T) {
		code, rsp := d.invoke("wwcorp", 1000002, "ability-1", "job-1", "sync_msg", `{"limit":1,"text":"😀"}`)
		var got map[string]any
		if code != 0 || json.Unmarshal([]byte(rsp), &got) != nil || got["interface"] != "sync_msg" || got["corpid"] != "wwcorp" ||
			got["ability_id"] != "ability-1" || fmt.Sprint(got["request"]) != "map[limit:1 text:😀]" {
			t.Fatalf("Invoke = %d %s", code, rsp)
		}
		if inv := last(); inv.AgentID != 1000002 || inv.JobInfo != "" {
			t.Fatalf("invoke %+v: job_info goes only with program_async_job_call_back", inv)
		}
		if d.lang == "java" {
			// SpecSDK(corpid, agentid) and (corpid, agentid, ability_id).
			if code, _ := d.invoke("wwcorp", 7, null{}, null{}, "search_msg", "{}"); code != 0 || last().AgentID != 7 || last().AbilityID != "" {
				t.Fatalf("two-argument SpecSDK: %d %+v", code, last())
			}
			if code, _ := d.invoke("wwcorp", 8, "ab", null{}, "search_msg", "{}"); code != 0 || last().AbilityID != "ab" {
				t.Fatalf("three-argument SpecSDK: %d %+v", code, last())
			}
		}
	})
	t.Run("ForCallback", func(t *testing.T) {
		c := zonewire.Call{CorpID: "wwcb", AgentID: 1000004, CallType: 1, Data: "{}", AbilityID: "echo", IsAsync: true, JobInfo: "ozj1.job.mac"}
		h, body, _ := sealCall(secret, c)
		if r := d.call("POST", h, body, "{}"); !r.ok || !r.async || r.jobInfo != c.JobInfo {
			t.Fatalf("call %+v", r)
		}
		if code, rsp := d.invoke("program_async_job_call_back", `{"errcode":0,"result":"{}"}`); code != 0 {
			t.Fatalf("Invoke = %d %s", code, rsp)
		}
		if inv := last(); inv.CorpID != "wwcb" || inv.AgentID != 1000004 || inv.AbilityID != "echo" || inv.JobInfo != c.JobInfo {
			t.Fatalf("invoke %+v", inv)
		}
	})
	for _, tc := range []struct {
		name     string
		api, req any
		want     int
	}{
		{"ErrEmptyInterface", "", "{}", -10006},
		{"ErrBadInterface", "sync msg", "{}", -10006},
		{"ErrNullInterface", null{}, "{}", -10006},
		{"ErrNullRequest", "sync_msg", null{}, -10009},
		{"ErrRequestNotJSON", "sync_msg", `{"limit":`, -10009},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, rsp := d.invoke("wwcorp", 1, "", "", tc.api, tc.req)
			if code != tc.want || !strings.Contains(rsp, fmt.Sprintf(`"errcode":%d`, tc.want)) {
				t.Fatalf("Invoke = %d %s, want %d", code, rsp, tc.want)
			}
		})
	}
}

func testUtil(t *testing.T, d *driver) {
	if id := str(d.do("notifyid")[0]); !regexp.MustCompile(`^[A-Za-z0-9_-]{32}$`).MatchString(id) {
		t.Errorf("notify id %q", id)
	}
	if v := str(d.do("version")[0]); !strings.HasPrefix(v, "openzone-wwspecsdk/") {
		t.Errorf("version %q", v)
	}
	d.do("log", 1, "req-log-1", "日志 line\nbreak 😀")
	file, reqID := "BindingDriver.java", "req-log-1"
	if d.lang == "cpp" {
		file, reqID = "binding_driver.cpp", "" // WWSPEC_LOG_* take no request id
	}
	re := regexp.MustCompile(`<\d+,\d+>,\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3},ERR,` + reqID + `,` + regexp.QuoteMeta(file) + `,[1-9]\d*,日志 line break 😀\n`)
	deadline := time.Now().Add(5 * time.Second)
	for !re.MatchString(d.stderr.String()) {
		if time.Now().After(deadline) {
			t.Fatalf("no log line matching %s in:\n%s", re, nativetest.Trim([]byte(d.stderr.String()), 3000))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// WeCom's wrappers have no close: the library frees an object's handle once
// the Java object is collected (C++ frees it in the destructors).
func testReclaim(t *testing.T, d *driver) {
	base, _ := strconv.Atoi(str(d.do("live", 1<<30)[0]))
	for i := 0; i < 10; i++ {
		d.call("POST", [][2]string{{"ww-secret-ver", "1"}}, strings.Repeat("x", 100), "")
	}
	h, body, _ := sealCall(secret, zonewire.Call{CorpID: "c", AgentID: 1, CallType: 1})
	d.call("POST", h, body, "")
	for i := 0; i < 20; i++ {
		d.invoke("wwcorp", 1, "", "", "sync_msg", "{}")
	}
	limit := base + 1
	if d.lang == "java" {
		// Collected objects are freed in sweeps, when the tracked handles
		// have doubled since the last one (at least 1024).
		limit = 4096
	}
	if live, _ := strconv.Atoi(str(d.do("live", limit)[0])); live > limit {
		t.Fatalf("%d objects alive, want at most %d (base %d)", live, limit, base)
	}
}

// Debug mode with the two tokens alone: no production secret needed; the
// zone names the program, and calls and invokes use the debug secret.
func testDebugMode(t *testing.T, d *driver, zone *fakeZone) {
	d.do("reset", "", "", 0)
	if got := str(d.do("debug", debugToken, "at-wrong-000000000000000")[0]); got != "false" {
		t.Fatalf("OpenDebugMode with a wrong access token = %s", got)
	}
	if got := str(d.do("debug", debugToken, accessToken)[0]); got != "true" {
		t.Fatalf("OpenDebugMode = %s\n%s", got, d.stderr.String())
	}
	dsec := zone.lastDebug()
	c := zonewire.Call{CorpID: "wwdebug", AgentID: 1000009, CallType: 1, Data: "{}", AbilityID: "invoke_sync_msg"}
	h, body, hd := sealCall(dsec, c)
	r := d.call("POST", h, body, `{"ok":1}`)
	if !r.ok {
		t.Fatalf("debug call refused: %v", r.headers)
	}
	if _, err := zonewire.NewKeys(dsec).Open(zonewire.PurposeReply, hd, []byte(r.body)); err != nil {
		t.Fatalf("debug reply: %v", err)
	}
	if code, rsp := d.invoke("sync_msg", "{}"); code != 0 || !strings.Contains(rsp, fmt.Sprintf(`"secret_ver":%d`, dsec.Ver)) {
		t.Fatalf("debug Invoke = %d %s", code, rsp)
	}
	// The production secret is gone: a production call is refused.
	h2, body2, _ := sealCall(secret, c)
	if r := d.call("POST", h2, body2, ""); r.ok || r.exception() != -10008 {
		t.Fatalf("production call in debug mode: ok %v %v", r.ok, r.headers)
	}
	log := d.stderr.String()
	for _, want := range []string{"errcode 40014", "SDK half open for program " + programID + ", corpid wwdebug, agentid 1000009"} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q", want)
		}
	}
	for _, leak := range []string{debugToken, accessToken, secret.String()} {
		if strings.Contains(log, leak) {
			t.Errorf("log leaks %q", leak)
		}
	}
}
