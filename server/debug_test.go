package server_test

import (
	"bytes"
	"context"
	"crypto/ecdh"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openzone/openzone"
	"github.com/openzone/openzone/internal/freeport"
	"github.com/openzone/openzone/internal/testenv"
	"github.com/openzone/openzone/sdk/zonesdk"
	"github.com/openzone/openzone/sdk/zonewire"
)

const debugSeed = `
providers:
  - {id: isv, name: Test ISV, test_corps: [wwtest]}
corps:
  - {corpid: wwtest, name: Test Corp}
  - {corpid: wwprod, name: Production Corp}
programs:
  - id: prog-dbg
    provider: isv
    name: In development, not deployed
    abilities:
      - {id: echo, input: {"text": ""}, output: {"text": "", "served_by": ""}}
      - id: invoke_ping
        input: {}
        output: {"errcode": 0, "errmsg": "", "program_id": "", "corpid": "", "agentid": 0, "ability_id": "", "has_job_info": false, "request": null}
  - id: prog-rel
    provider: isv
    name: Released and deployed
    released: true
    deploy: {command: ["{{EXAMPLE}}", --name, deployed], instances: 1}
    abilities:
      - {id: echo, input: {"text": ""}, output: {"text": "", "served_by": ""}}
apps:
  - {corpid: wwtest, agentid: 1000002, type: self_built, secret: s1, programs: [prog-dbg, prog-rel]}
  - {corpid: wwtest, agentid: 2000001, type: custom, provider: isv, secret: s2, programs: [prog-dbg, prog-rel]}
  - {corpid: wwprod, agentid: 2000002, type: custom, provider: isv, secret: s3, programs: [prog-rel]}
  - {corpid: wwprod, agentid: 3000001, type: third_party, provider: isv, secret: s4, programs: [prog-rel]}
  - {corpid: wwtest, agentid: 3000002, type: third_party, provider: isv, secret: s5, test_install: true, programs: [prog-dbg, prog-rel]}
`

// logBuffer collects the zone's log lines for the secrecy checks.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func startDebugZone(t *testing.T, db string) (*testenv.Zone, *logBuffer) {
	t.Helper()
	logs := &logBuffer{}
	z := testenv.Start(t, testenv.Options{
		Seed:        debugSeed,
		CallTimeout: 2 * time.Second,
		Logger:      slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		DB:          db,
	})
	return z, logs
}

func debugToken(t testing.TB, z *testenv.Zone, program string) (string, time.Time) {
	t.Helper()
	var out struct {
		DebugToken string    `json:"debug_token"`
		ExpiresAt  time.Time `json:"expires_at"`
	}
	if st := z.Admin("POST", "/admin/v1/programs/"+program+"/debug/token", nil, &out); st != 200 || out.DebugToken == "" {
		t.Fatalf("debug token: HTTP %d %+v", st, out)
	}
	return out.DebugToken, out.ExpiresAt
}

func setReceiver(t testing.TB, z *testenv.Zone, program, url string) {
	t.Helper()
	var out map[string]any
	if st := z.Admin("PUT", "/admin/v1/programs/"+program+"/debug/receiver", strings.NewReader(`{"url":"`+url+`"}`), &out); st != 200 {
		t.Fatalf("set receiver: HTTP %d %v", st, out)
	}
}

func checkDebug(t testing.TB, z *testenv.Zone, tok, program string) int {
	t.Helper()
	r := z.PostApp("/cgi-bin/chatdata/check_debug_mode", tok, map[string]any{"program_id": program})
	if testenv.Errcode(r) != 0 {
		t.Fatalf("check_debug_mode: %s", testenv.Describe(r))
	}
	return int(r["debug_mode_status"].(float64))
}

func freePort(t testing.TB) int {
	t.Helper()
	p, err := freeport.Get()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestDebugModeSeedFlow reproduces the seed document's flow on real
// processes: the example program runs "on the developer's machine" (a local
// process the zone is not told about except through the receiver URL).
func TestDebugModeSeedFlow(t *testing.T) { testenv.Stores(t, testDebugModeSeedFlow) }

func testDebugModeSeedFlow(t *testing.T, db string) {
	z, _ := startDebugZone(t, db)
	tok := z.Token("wwtest", "s1")
	call := func() map[string]any {
		return z.PostApp("/cgi-bin/chatdata/sync_call_program", tok, syncCall("prog-dbg", "echo", `{"text":"调试"}`))
	}

	if r := call(); testenv.Errcode(r) != openzone.ErrNotDeployed {
		t.Fatalf("before debug mode: %s, want 800002", testenv.Describe(r))
	}
	dt, exp := debugToken(t, z, "prog-dbg")
	dt2, exp2 := debugToken(t, z, "prog-dbg")
	if dt2 != dt || !exp2.Equal(exp) {
		t.Fatalf("second request gave %s/%s, want the same token and expiry %s/%s", dt2, exp2, dt, exp)
	}
	if d := exp.Sub(z.Clock.Now()); d < 71*time.Hour || d > 72*time.Hour {
		t.Fatalf("credential valid for %s, want 72h", d)
	}
	var notes struct {
		Notifications []openzone.Notification `json:"notifications"`
	}
	z.Admin("GET", "/admin/v1/notifications?provider_id=isv", nil, &notes)
	if len(notes.Notifications) != 2 || strings.Contains(notes.Notifications[0].Body, dt) {
		t.Fatalf("notifications = %+v: want two, with the credential masked", notes.Notifications)
	}

	port := freePort(t)
	setReceiver(t, z, "prog-dbg", fmt.Sprintf("http://127.0.0.1:%d/", port))
	if r := z.PostApp("/cgi-bin/chatdata/open_debug_mode", tok, map[string]any{"program_id": "prog-dbg", "debug_token": dt}); testenv.Errcode(r) != 0 {
		t.Fatalf("open_debug_mode: %s", testenv.Describe(r))
	}
	if st := checkDebug(t, z, tok, "prog-dbg"); st != 1 {
		t.Fatalf("after the app half only: status %d, want 1", st)
	}

	// The developer starts the example program locally with the credential.
	cmd := exec.Command(testenv.Example(t), "--addr", fmt.Sprintf("127.0.0.1:%d", port), "--name", "local",
		"--api", z.URL, "--debug-token", dt, "--access-token", tok)
	cmd.Env = append(os.Environ(), "OPENZONE_PROGRAM_ID=prog-dbg", "OPENZONE_SECRET=")
	var progOut logBuffer
	cmd.Stdout, cmd.Stderr = &progOut, &progOut
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	testenv.Eventually(t, "debug mode on (both halves)", func() bool { return checkDebug(t, z, tok, "prog-dbg") == 2 })

	r := call()
	if testenv.Errcode(r) != 0 || !strings.Contains(r["response_data"].(string), `"served_by":"local"`) {
		t.Fatalf("call in debug mode: %s", testenv.Describe(r))
	}
	r = z.PostApp("/cgi-bin/chatdata/sync_call_program", tok, syncCall("prog-dbg", "invoke_ping", `{}`))
	if testenv.Errcode(r) != 0 || !strings.Contains(r["response_data"].(string), `"corpid":"wwtest"`) {
		t.Fatalf("SDK invoke from the local program: %s", testenv.Describe(r))
	}
	var tr struct {
		Traffic []openzone.TrafficRecord `json:"traffic"`
	}
	z.Admin("GET", "/admin/v1/traffic?program_id=prog-dbg", nil, &tr)
	routes := map[string]int{}
	for _, rec := range tr.Traffic {
		if rec.Errcode == 0 {
			routes[rec.Kind+"/"+rec.Route]++
		}
	}
	if routes["call/debug"] != 2 || routes["invoke/debug"] != 1 {
		t.Fatalf("traffic routes = %v, want 2 debug calls and 1 debug invoke", routes)
	}
	var page struct {
		Receiver string `json:"receiver"`
		Sessions []struct {
			CorpID  string `json:"corpid"`
			AgentID int64  `json:"agentid"`
			AppHalf bool   `json:"app_half"`
			SDKHalf bool   `json:"sdk_half"`
			Status  int    `json:"status"`
		} `json:"sessions"`
	}
	z.Admin("GET", "/admin/v1/programs/prog-dbg/debug", nil, &page)
	if len(page.Sessions) != 1 || !page.Sessions[0].AppHalf || !page.Sessions[0].SDKHalf || page.Sessions[0].Status != 2 || page.Receiver == "" {
		t.Fatalf("debug page = %+v", page)
	}

	if r := z.PostApp("/cgi-bin/chatdata/close_debug_mode", tok, map[string]any{"program_id": "prog-dbg"}); testenv.Errcode(r) != 0 {
		t.Fatalf("close_debug_mode: %s", testenv.Describe(r))
	}
	if st := checkDebug(t, z, tok, "prog-dbg"); st != 1 {
		t.Fatalf("after close: status %d", st)
	}
	if r := call(); testenv.Errcode(r) != openzone.ErrNotDeployed {
		t.Fatalf("after close: %s, want 800002", testenv.Describe(r))
	}
}

// sdkProgram is a program "on the developer's machine", in this process:
// the real SDK, no production secret.
func sdkProgram(t *testing.T, z *testenv.Zone, program string, secret *zonewire.Secret) (*zonesdk.Program, *httptest.Server) {
	t.Helper()
	cfg := zonesdk.Config{ZoneURL: z.URL, ProgramID: program}
	if secret != nil {
		cfg.Secret = *secret
	}
	p, err := zonesdk.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	p.Handle("echo", func(ctx context.Context, req *zonesdk.Request) (string, error) {
		var in struct{ Text string }
		json.Unmarshal([]byte(req.Data), &in)
		b, _ := json.Marshal(map[string]string{"text": in.Text, "served_by": "in-process"})
		return string(b), nil
	})
	p.Handle("invoke_ping", func(ctx context.Context, req *zonesdk.Request) (string, error) {
		out, err := p.Invoke(ctx, "ping", json.RawMessage(`{}`))
		return string(out), err
	})
	srv := httptest.NewServer(p)
	t.Cleanup(srv.Close)
	return p, srv
}

// openDebug turns debug mode on for app (wwtest, 1000002) and prog-dbg with
// an in-process SDK program as the receiver.
func openDebug(t *testing.T, z *testenv.Zone, tok string) (*zonesdk.Program, *httptest.Server, string) {
	t.Helper()
	dt, _ := debugToken(t, z, "prog-dbg")
	// No program id: the two tokens alone open debug mode, as with WeCom's
	// spec_open_debug_mode; the zone's answer names the program.
	p, srv := sdkProgram(t, z, "", nil)
	setReceiver(t, z, "prog-dbg", srv.URL)
	if r := z.PostApp("/cgi-bin/chatdata/open_debug_mode", tok, map[string]any{"program_id": "prog-dbg", "debug_token": dt}); testenv.Errcode(r) != 0 {
		t.Fatalf("open_debug_mode: %s", testenv.Describe(r))
	}
	if _, err := p.OpenDebugMode(context.Background(), dt, tok); err != nil {
		t.Fatalf("OpenDebugMode: %v", err)
	}
	if p.ProgramID() != "prog-dbg" {
		t.Fatalf("ProgramID after OpenDebugMode = %q, want prog-dbg", p.ProgramID())
	}
	if st := checkDebug(t, z, tok, "prog-dbg"); st != 2 {
		t.Fatalf("status %d, want 2", st)
	}
	return p, srv, dt
}

func TestDebugModeExpiry(t *testing.T) {
	testenv.Stores(t, testDebugModeExpiry)
}

func testDebugModeExpiry(t *testing.T, db string) {
	z, _ := startDebugZone(t, db)
	tok := z.Token("wwtest", "s1")
	p, _, dt := openDebug(t, z, tok)

	// prog-rel is deployed too: in debug mode its calls go to the receiver,
	// after expiry back to the deployed instance.
	relDT, _ := debugToken(t, z, "prog-rel")
	relProg, relSrv := sdkProgram(t, z, "prog-rel", nil)
	setReceiver(t, z, "prog-rel", relSrv.URL)
	if r := z.PostApp("/cgi-bin/chatdata/open_debug_mode", tok, map[string]any{"program_id": "prog-rel", "debug_token": relDT}); testenv.Errcode(r) != 0 {
		t.Fatalf("open_debug_mode prog-rel: %s", testenv.Describe(r))
	}
	if _, err := relProg.OpenDebugMode(context.Background(), relDT, tok); err != nil {
		t.Fatal(err)
	}
	servedBy := func(tok string) string {
		r := z.PostApp("/cgi-bin/chatdata/sync_call_program", tok, syncCall("prog-rel", "echo", `{"text":"x"}`))
		var out map[string]string
		json.Unmarshal([]byte(fmt.Sprint(r["response_data"])), &out)
		return out["served_by"]
	}
	if got := servedBy(tok); got != "in-process" {
		t.Fatalf("prog-rel in debug mode served by %q", got)
	}

	z.Clock.Advance(openzone.DebugTokenTTL + time.Second)
	tok = z.Token("wwtest", "s1") // the old access_token expired too
	if st := checkDebug(t, z, tok, "prog-dbg"); st != 1 {
		t.Fatalf("after expiry: status %d, want 1", st)
	}
	if r := z.PostApp("/cgi-bin/chatdata/sync_call_program", tok, syncCall("prog-dbg", "echo", `{"text":"x"}`)); testenv.Errcode(r) != openzone.ErrNotDeployed {
		t.Fatalf("call after expiry: %s, want 800002", testenv.Describe(r))
	}
	if got := servedBy(tok); got != "deployed" {
		t.Fatalf("prog-rel after expiry served by %q, want the deployed instance", got)
	}
	if r := z.PostApp("/cgi-bin/chatdata/open_debug_mode", tok, map[string]any{"program_id": "prog-dbg", "debug_token": dt}); testenv.Errcode(r) != openzone.ErrDebugTokenExp {
		t.Fatalf("open with an expired credential: %s, want 710671", testenv.Describe(r))
	}
	if r := z.PostApp("/cgi-bin/chatdata/open_debug_mode", tok, map[string]any{"program_id": "prog-rel", "debug_token": relDT}); testenv.Errcode(r) != openzone.ErrDebugTokenExp {
		t.Fatalf("open prog-rel with an expired credential: %s, want 710671", testenv.Describe(r))
	}
	_, err := p.OpenDebugMode(context.Background(), dt, tok)
	var ze *zonesdk.ZoneError
	if !errors.As(err, &ze) || ze.Errcode != openzone.ErrDebugTokenExp {
		t.Fatalf("SDK open with an expired credential: %v, want 710671", err)
	}
	// The dead debug secret is refused for invokes: -10008.
	_, err = p.Invoke(zonesdk.WithInvokeContext(context.Background(), zonesdk.InvokeContext{CorpID: "wwtest", AgentID: 1000002}), "ping", nil)
	var ie *zonesdk.InvokeError
	if !errors.As(err, &ie) || ie.Code != zonesdk.CodeSecretVer {
		t.Fatalf("invoke with a dead debug secret: %v, want -10008", err)
	}
	// Renewal: a new credential, and debug mode opens again with it.
	dt3, exp3 := debugToken(t, z, "prog-dbg")
	if dt3 == dt || exp3.Sub(z.Clock.Now()) < 71*time.Hour {
		t.Fatalf("renewed credential %s (expires %s) should be new", dt3, exp3)
	}
	if r := z.PostApp("/cgi-bin/chatdata/open_debug_mode", tok, map[string]any{"program_id": "prog-dbg", "debug_token": dt3}); testenv.Errcode(r) != 0 {
		t.Fatalf("open with the new credential: %s", testenv.Describe(r))
	}
	if _, err := p.OpenDebugMode(context.Background(), dt3, tok); err != nil {
		t.Fatal(err)
	}
	if st := checkDebug(t, z, tok, "prog-dbg"); st != 2 {
		t.Fatalf("after renewal: status %d", st)
	}
}

func TestDebugModeNotAllowed(t *testing.T) {
	testenv.Stores(t, testDebugModeNotAllowed)
}

func testDebugModeNotAllowed(t *testing.T, db string) {
	z, _ := startDebugZone(t, db)
	dt, _ := debugToken(t, z, "prog-rel")
	for _, tc := range []struct {
		name, corp, secret string
		errcode            int
	}{
		{"CustomAppInTestCorp", "wwtest", "s2", 0},
		{"ErrCustomAppOutsideTestCorps", "wwprod", "s3", openzone.ErrDebugNotAllowed},
		{"ErrThirdPartyNotTestInstalled", "wwprod", "s4", openzone.ErrDebugNotAllowed},
		{"ThirdPartyTestInstalled", "wwtest", "s5", 0},
		{"SelfBuiltInOwnCorp", "wwtest", "s1", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tok := z.Token(tc.corp, tc.secret)
			r := z.PostApp("/cgi-bin/chatdata/open_debug_mode", tok, map[string]any{"program_id": "prog-rel", "debug_token": dt})
			if got := testenv.Errcode(r); got != tc.errcode {
				t.Fatalf("app half: errcode %d, want %d (%s)", got, tc.errcode, testenv.Describe(r))
			}
			p, _ := sdkProgram(t, z, "prog-rel", nil)
			_, err := p.OpenDebugMode(context.Background(), dt, tok)
			var ze *zonesdk.ZoneError
			if tc.errcode == 0 && err != nil || tc.errcode != 0 && (!errors.As(err, &ze) || ze.Errcode != tc.errcode) {
				t.Fatalf("SDK half: %v, want errcode %d", err, tc.errcode)
			}
		})
	}
	tok := z.Token("wwtest", "s1")
	for _, tc := range []struct {
		name    string
		body    map[string]any
		errcode int
	}{
		{"ErrMissingProgramID", map[string]any{"debug_token": dt}, openzone.ErrInvalidParam},
		{"ErrMissingToken", map[string]any{"program_id": "prog-rel"}, openzone.ErrInvalidParam},
		{"ErrUnknownProgram", map[string]any{"program_id": "nope", "debug_token": dt}, openzone.ErrBadProgramID},
		{"ErrWrongToken", map[string]any{"program_id": "prog-rel", "debug_token": "ozdbg_wrong"}, openzone.ErrInvalidParam},
		{"ErrOtherProgramsToken", map[string]any{"program_id": "prog-dbg", "debug_token": dt}, openzone.ErrInvalidParam},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := z.PostApp("/cgi-bin/chatdata/open_debug_mode", tok, tc.body)
			if got := testenv.Errcode(r); got != tc.errcode {
				t.Fatalf("errcode %d, want %d (%s)", got, tc.errcode, testenv.Describe(r))
			}
		})
	}
	t.Run("ErrNotAssociated", func(t *testing.T) {
		tok := z.Token("wwprod", "s3")
		r := z.PostApp("/cgi-bin/chatdata/check_debug_mode", tok, map[string]any{"program_id": "prog-dbg"})
		if got := testenv.Errcode(r); got != openzone.ErrNotAssociated {
			t.Fatalf("errcode %d, want 790020", got)
		}
	})
}

// TestDebugCloseForgetsStaleState: after close_debug_mode the debug page no
// longer shows the closed app's pre-flight probe, nor a lost listener once
// no app has a half open ("calls fail with 710674" described calls that
// will no longer come).
func TestDebugCloseForgetsStaleState(t *testing.T) {
	testenv.Stores(t, testDebugCloseForgetsStaleState)
}

func testDebugCloseForgetsStaleState(t *testing.T, db string) {
	z, _ := startDebugZone(t, db)
	tok := z.Token("wwtest", "s1")
	openDebug(t, z, tok)
	testenv.Eventually(t, "the pre-flight probe recorded", func() bool { return getPage(t, z, "prog-dbg").Probe != nil })
	// The program's listener came and went.
	lost := &openzone.DebugListener{State: openzone.ListenerLost, ID: "lst_gone", LostAt: z.Clock.Now(), Reason: "connection closed"}
	if err := z.Store().DebugListenerSet(context.Background(), "prog-dbg", lost); err != nil {
		t.Fatal(err)
	}
	if p := getPage(t, z, "prog-dbg"); p.Listener == nil || p.Route != "listener" {
		t.Fatalf("before close: %+v", p)
	}
	if r := z.PostApp("/cgi-bin/chatdata/close_debug_mode", tok, map[string]any{"program_id": "prog-dbg"}); testenv.Errcode(r) != 0 {
		t.Fatal(testenv.Describe(r))
	}
	if p := getPage(t, z, "prog-dbg"); p.Probe != nil || p.Listener != nil || p.Route != "receiver" {
		t.Fatalf("after close the page still shows %+v", p)
	}
	out, _ := exec.Command(testenv.CLI(t), "debug", "status", "prog-dbg", "--zone", z.URL, "--admin-token", z.AdminToken()).CombinedOutput()
	if strings.Contains(string(out), "lost") || strings.Contains(string(out), "710674") || !strings.Contains(string(out), "receiver") {
		t.Fatalf("debug status after close:\n%s", out)
	}
}

// TestDebugProbeFailureLogsOnce: a receiver that is down costs one warning
// per probe round, not one per retry.
func TestDebugProbeFailureLogsOnce(t *testing.T) {
	z, logs := startDebugZone(t, "")
	tok := z.Token("wwtest", "s1")
	dt, _ := debugToken(t, z, "prog-dbg")
	setReceiver(t, z, "prog-dbg", fmt.Sprintf("http://127.0.0.1:%d/", freePort(t)))
	p, _ := sdkProgram(t, z, "", nil)
	if r := z.PostApp("/cgi-bin/chatdata/open_debug_mode", tok, map[string]any{"program_id": "prog-dbg", "debug_token": dt}); testenv.Errcode(r) != 0 {
		t.Fatal(testenv.Describe(r))
	}
	if _, err := p.OpenDebugMode(context.Background(), dt, tok); err != nil {
		t.Fatal(err)
	}
	warn := `level=WARN msg="debug mode: pre-flight probe failed"`
	testenv.Eventually(t, "the probe round to give up", func() bool { return strings.Contains(logs.String(), warn) })
	time.Sleep(500 * time.Millisecond)
	if n := strings.Count(logs.String(), warn); n != 1 {
		t.Fatalf("%d warnings for one failed probe round, want 1:\n%s", n, logs.String())
	}
	if !strings.Contains(logs.String(), "attempts=5") {
		t.Errorf("the warning does not say how many attempts failed")
	}
}

// TestDebugOpenByCredential: /spec/v1/debug/open needs no program_id (the
// debug credential names the program); one that is sent must agree with it.
func TestDebugOpenByCredential(t *testing.T) {
	testenv.Stores(t, testDebugOpenByCredential)
}

func testDebugOpenByCredential(t *testing.T, db string) {
	z, _ := startDebugZone(t, db)
	tok := z.Token("wwtest", "s1")
	dt, _ := debugToken(t, z, "prog-dbg")
	relDT, _ := debugToken(t, z, "prog-rel")
	priv, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	pub := base64.StdEncoding.EncodeToString(priv.PublicKey().Bytes())
	for _, tc := range []struct {
		name    string
		body    map[string]any
		errcode int
		program string
	}{
		{"TokensAlone", map[string]any{"debug_token": dt, "access_token": tok, "public_key": pub}, 0, "prog-dbg"},
		{"WithItsProgram", map[string]any{"program_id": "prog-rel", "debug_token": relDT, "access_token": tok, "public_key": pub}, 0, "prog-rel"},
		{"ErrUnknownCredential", map[string]any{"debug_token": "ozdbg_nobody", "access_token": tok, "public_key": pub}, openzone.ErrInvalidParam, ""},
		{"ErrOtherProgramsCredential", map[string]any{"program_id": "prog-rel", "debug_token": dt, "access_token": tok, "public_key": pub}, openzone.ErrInvalidParam, ""},
		{"ErrMissingToken", map[string]any{"access_token": tok, "public_key": pub}, openzone.ErrInvalidParam, ""},
		{"ErrBadAccessToken", map[string]any{"debug_token": dt, "access_token": "nope", "public_key": pub}, openzone.ErrInvalidToken, ""},
		// The access token is checked before anything is looked up: no
		// oracle for program ids or credentials.
		{"ErrBadAccessTokenUnknownProgram", map[string]any{"program_id": "prog-nope", "debug_token": dt, "access_token": "nope", "public_key": pub}, openzone.ErrInvalidToken, ""},
		{"ErrBadAccessTokenUnknownCredential", map[string]any{"debug_token": "ozdbg_nobody", "access_token": "nope", "public_key": pub}, openzone.ErrInvalidToken, ""},
		// A low-order X25519 point (all zeros): no secret can be sealed to it.
		{"ErrLowOrderKey", map[string]any{"debug_token": dt, "access_token": tok, "public_key": base64.StdEncoding.EncodeToString(make([]byte, 32))}, openzone.ErrInvalidParam, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := z.PostApp("/spec/v1/debug/open", "", tc.body)
			if got := testenv.Errcode(r); got != tc.errcode {
				t.Fatalf("errcode %d, want %d (%s)", got, tc.errcode, testenv.Describe(r))
			}
			if tc.errcode == 0 && r["program_id"] != tc.program {
				t.Fatalf("program_id = %v, want %s", r["program_id"], tc.program)
			}
			if tc.errcode != 0 && strings.Contains(fmt.Sprint(r["errmsg"]), dt) {
				t.Fatalf("errmsg echoes the credential: %v", r["errmsg"])
			}
		})
	}
	// A Program that knows its id refuses a credential of another program.
	p, _ := sdkProgram(t, z, "prog-rel", nil)
	if _, err := p.OpenDebugMode(context.Background(), dt, tok); err == nil {
		t.Fatal("prog-rel's SDK opened debug mode with prog-dbg's credential")
	}
}

func TestDebugReceiverFailures(t *testing.T) {
	testenv.Stores(t, testDebugReceiverFailures)
}

func testDebugReceiverFailures(t *testing.T, db string) {
	z, _ := startDebugZone(t, db)
	tok := z.Token("wwtest", "s1")
	openDebug(t, z, tok)

	closed := fmt.Sprintf("http://127.0.0.1:%d/", freePort(t))
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(5 * time.Second):
		case <-r.Context().Done():
		}
	}))
	defer slow.Close()
	status := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "boom", http.StatusBadGateway)
	}))
	defer status.Close()
	garble := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write(bytes.Repeat([]byte{7}, 64))
	}))
	defer garble.Close()
	for _, tc := range []struct {
		name, url string
		errcode   int
	}{
		{"ErrConnect", closed, openzone.ErrProgramConnect},
		{"ErrTimeout", slow.URL, openzone.ErrProgramTimeout},
		{"ErrStatus", status.URL, openzone.ErrProgramStatus},
		{"ErrCannotVerify", garble.URL, openzone.ErrProgramDecrypt},
	} {
		t.Run(tc.name, func(t *testing.T) {
			setReceiver(t, z, "prog-dbg", tc.url)
			r := z.PostApp("/cgi-bin/chatdata/sync_call_program", tok, syncCall("prog-dbg", "echo", `{"text":"x"}`))
			if got := testenv.Errcode(r); got != tc.errcode {
				t.Fatalf("errcode %d, want %d (%s)", got, tc.errcode, testenv.Describe(r))
			}
		})
	}
	t.Run("ErrBadReceiverURL", func(t *testing.T) {
		for _, u := range []string{"", "ftp://x/", "/relative", "http://", "http://u:p@host/"} {
			var out map[string]any
			body, _ := json.Marshal(map[string]string{"url": u})
			if st := z.Admin("PUT", "/admin/v1/programs/prog-dbg/debug/receiver", bytes.NewReader(body), &out); st != 400 {
				t.Errorf("receiver %q: HTTP %d %v, want 400", u, st, out)
			}
		}
	})
}

// TestDebugSecretIsolation: a program whose SDK never opened debug mode
// cannot read debug traffic, and the production secret appears in no
// debug-route packet and no log.
func TestDebugSecretIsolation(t *testing.T) {
	testenv.Stores(t, testDebugSecretIsolation)
}

func testDebugSecretIsolation(t *testing.T, db string) {
	z, logs := startDebugZone(t, db)
	tok := z.Token("wwtest", "s1")
	sec, err := z.Store().ProgramSecretGet(context.Background(), "prog-dbg")
	if err != nil {
		t.Fatal(err)
	}
	prod := zonewire.Secret{Ver: sec.Ver}
	copy(prod.Key[:], sec.Key)

	_, debugSrv, _ := openDebug(t, z, tok)

	// A program holding only the production secret, as the receiver.
	_, prodSrv := sdkProgram(t, z, "prog-dbg", &prod)
	setReceiver(t, z, "prog-dbg", prodSrv.URL)
	r := z.PostApp("/cgi-bin/chatdata/sync_call_program", tok, syncCall("prog-dbg", "echo", `{"text":"x"}`))
	if got := testenv.Errcode(r); got != openzone.ErrProgramDecrypt || !strings.Contains(r["errmsg"].(string), "-10008") {
		t.Fatalf("production-secret program as receiver: %s, want 710677 (-10008)", testenv.Describe(r))
	}

	// A capturing proxy in front of the program that opened debug mode.
	var mu sync.Mutex
	var captured [][]byte
	var headers []http.Header
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		req, _ := http.NewRequest("POST", debugSrv.URL, bytes.NewReader(body))
		req.Header = r.Header.Clone()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			http.Error(w, err.Error(), 502)
			return
		}
		defer resp.Body.Close()
		reply, _ := io.ReadAll(resp.Body)
		mu.Lock()
		captured = append(captured, body, reply)
		headers = append(headers, r.Header.Clone(), resp.Header.Clone())
		mu.Unlock()
		for k, v := range resp.Header {
			w.Header()[k] = v
		}
		w.WriteHeader(resp.StatusCode)
		w.Write(reply)
	}))
	defer proxy.Close()
	setReceiver(t, z, "prog-dbg", proxy.URL)
	for _, ability := range []string{"echo", "invoke_ping"} {
		r := z.PostApp("/cgi-bin/chatdata/sync_call_program", tok, syncCall("prog-dbg", ability, `{}`))
		if testenv.Errcode(r) != 0 {
			t.Fatalf("%s through the proxy: %s", ability, testenv.Describe(r))
		}
	}
	prodKeys := zonewire.NewKeys(prod)
	prodB64 := base64.StdEncoding.EncodeToString(prod.Key[:])
	mu.Lock()
	defer mu.Unlock()
	// Two calls, each a request and a reply; the pre-flight probes that
	// setting a receiver starts may add more (a slower store lets them
	// land on the proxy), and they are checked the same way.
	if len(captured) < 4 {
		t.Fatalf("captured %d packets, want at least 4", len(captured))
	}
	for i, pkt := range captured {
		hd, err := zonewire.ReadHeader(headers[i], "prog-dbg")
		if err != nil {
			t.Fatalf("packet %d: %v", i, err)
		}
		if hd.SecretVer == prod.Ver || hd.SecretVer < zonewire.DebugSecretVerMin {
			t.Fatalf("packet %d sealed with secret version %d, not a debug secret", i, hd.SecretVer)
		}
		hd.SecretVer = prod.Ver
		for _, p := range []zonewire.Purpose{zonewire.PurposeCall, zonewire.PurposeReply} {
			if _, err := prodKeys.Open(p, hd, pkt); err == nil {
				t.Fatalf("packet %d opens with the production secret", i)
			}
		}
		if bytes.Contains(pkt, prod.Key[:]) || bytes.Contains(pkt, []byte(prodB64)) {
			t.Fatalf("packet %d carries the production secret", i)
		}
	}
	if strings.Contains(logs.String(), prodB64) {
		t.Fatal("the zone's log contains the production secret")
	}
}
