package console_test

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/chromedp"

	"github.com/openzone/openzone"
	"github.com/openzone/openzone/internal/freeport"
	"github.com/openzone/openzone/internal/store"
	"github.com/openzone/openzone/internal/testenv"
)

// One browser serves every test of this binary; each test gets a tab.
var (
	browserCtx  context.Context
	browserSkip string
)

func TestMain(m *testing.M) {
	os.Exit(runWithBrowser(m))
}

func runWithBrowser(m *testing.M) int {
	path := ""
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			path = p
			break
		}
	}
	if path == "" {
		if os.Getenv("OPENZONE_REQUIRE_BROWSER") == "1" {
			fmt.Fprintln(os.Stderr, "browser tests: chromium not found and OPENZONE_REQUIRE_BROWSER=1 (install it: apt-get install -y chromium)")
			return 1
		}
		browserSkip = "chromium not installed (apt-get install -y chromium); set OPENZONE_REQUIRE_BROWSER=1 to fail instead"
		return m.Run()
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoSandbox, // CI runs as root
		chromedp.DisableGPU,
		chromedp.WindowSize(1280, 800),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-quic", true),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	bctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	if err := chromedp.Do(bctx); err != nil { // starts the browser
		fmt.Fprintln(os.Stderr, "browser tests: start chromium:", err)
		return 1
	}
	browserCtx = bctx
	return m.Run()
}

// tab opens a browser tab for the test; each action gets 20 s.
func tab(t *testing.T) context.Context {
	t.Helper()
	if browserSkip != "" {
		t.Skip(browserSkip)
	}
	ctx, cancel := chromedp.NewContext(browserCtx)
	t.Cleanup(cancel)
	// The first run opens the tab, which lives as long as the context of
	// that run: so no timeout here.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("open a tab: %v", err)
	}
	return ctx
}

// do runs steps with a timeout, failing the test with what was being done.
func do(t *testing.T, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	tctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(tctx, steps...); err != nil {
		html, _ := chromedp.Run(ctx, chromedp.OuterHTML(chromedp.CSS("main")))
		t.Fatalf("%s: %v\npage main:\n%.3000s", what, err, html)
	}
	shot(t, ctx, what)
}

func text(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	tctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	s, err := chromedp.Run(tctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		t.Fatalf("text of %s: %v", sel, err)
	}
	return strings.TrimSpace(s)
}

func pageHTML(t *testing.T, ctx context.Context) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.OuterHTML(chromedp.CSS("html")))
	if err != nil {
		t.Fatalf("page html: %v", err)
	}
	return s
}

// shot saves a screenshot per step when OPENZONE_CONSOLE_SCREENSHOTS names
// a directory (to look at the pages; tests do not compare pictures).
func shot(t *testing.T, ctx context.Context, step string) {
	dir := os.Getenv("OPENZONE_CONSOLE_SCREENSHOTS")
	if dir == "" {
		return
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		return
	}
	name := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' {
			return r
		}
		return '-'
	}, strings.ToLower(t.Name()+"-"+step))
	os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644)
}

func signIn(t *testing.T, ctx context.Context, z *testenv.Zone) {
	t.Helper()
	do(t, ctx, "sign in",
		chromedp.Navigate(z.URL+"/console/"),
		chromedp.WaitVisible(chromedp.CSS("#token")),
		chromedp.SendKeys(chromedp.CSS("#token"), z.AdminToken()),
		chromedp.Click(chromedp.CSS("#signin")),
		chromedp.WaitVisible(chromedp.CSS("nav.side")),
	)
}

func freePort(t *testing.T) int {
	t.Helper()
	p, err := freeport.Get()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// Distinctive secrets, so a page that leaks one is caught by a substring test.
const (
	appSecret = "app-secret-7f3a9c2e"
	cbToken   = "cbtoken5e8d1b"
	aesKey    = "kq9ZT3xQmV8wR2yL5nB7cJ4hF6dS1aG0pE9uI3oK2tY" // 43 characters
	pwSecret  = "pw-leak-canary-4411"
)

const consoleSeed = `
providers:
  - {id: isv, name: Test ISV, test_corps: [wwtest]}
corps:
  - corpid: wwtest
    name: Test Corp
    members: [{userid: zhangsan, name: Zhang San}]
    external_contacts: [{external_userid: wmcust1, name: Customer One}]
    messages:
      - {msgid: m-1, from: zhangsan, to: [wmcust1], text: hello}
programs:
  - id: prog-dbg
    provider: isv
    name: In development
    abilities:
      - {id: echo, input: {"text": ""}, output: {"text": "", "served_by": ""}}
  - id: prog-rel
    provider: isv
    name: Released and deployed
    released: true
    deploy: {command: ["{{EXAMPLE}}", --name, deployed], instances: 1}
    abilities:
      - {id: echo, input: {"text": ""}, output: {"text": "", "served_by": ""}}
apps:
  - corpid: wwtest
    agentid: 1000002
    type: self_built
    secret: ` + appSecret + `
    callback: {url: "http://127.0.0.1:9/cb", token: ` + cbToken + `, encoding_aes_key: ` + aesKey + `}
    programs: [prog-dbg, prog-rel]
`

// TestConsoleDebugFlow drives the seed document's debug page by clicks:
// sign in → program → debug page → get the credential (confirm) → token
// shown → set the receiver → (the test's app and the example program open
// the two halves) → both halves on → close → off. Then it checks that no
// page shows a secret.
func TestConsoleDebugFlow(t *testing.T) {
	ctx := tab(t)
	zoneLog := &syncBuffer{}
	z := testenv.Start(t, testenv.Options{Seed: consoleSeed, CallTimeout: 2 * time.Second,
		Logger: slog.New(slog.NewTextHandler(zoneLog, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	signIn(t, ctx, z)

	do(t, ctx, "open the program from the list",
		chromedp.Click(chromedp.CSS(`nav.side a[href="/console/programs"]`)),
		chromedp.WaitVisible(chromedp.CSS(`a[href="/console/programs/prog-dbg"]`)),
		chromedp.Click(chromedp.CSS(`a[href="/console/programs/prog-dbg"]`)),
		chromedp.WaitVisible(chromedp.CSS("#go-debug")),
	)
	do(t, ctx, "check the input protocol",
		chromedp.Click(chromedp.CSS(`#chk-in-0 ~ button, button[hx-vals*='"input"']`)),
		chromedp.WaitVisible(chromedp.CSS("#chk-in-0 .accepts")),
	)
	if s := text(t, ctx, "#chk-in-0"); !strings.Contains(s, "text") || !strings.Contains(s, "a string") {
		t.Fatalf("protocol check shows %q", s)
	}
	do(t, ctx, "go to the debug page",
		chromedp.Click(chromedp.CSS("#go-debug")),
		chromedp.WaitVisible(chromedp.CSS("#get-token")),
	)
	if s := text(t, ctx, "#no-sessions"); !strings.Contains(s, "open_debug_mode") {
		t.Fatalf("empty state does not say what to do next: %q", s)
	}
	do(t, ctx, "get the credential: the confirmation dialog first",
		chromedp.Click(chromedp.CSS("#get-token")),
		chromedp.WaitVisible(chromedp.CSS("#confirm-token")),
	)
	do(t, ctx, "confirm",
		chromedp.Click(chromedp.CSS("#confirm-get-token")),
		chromedp.WaitVisible(chromedp.CSS("#debug-token")),
	)
	token := text(t, ctx, "#debug-token")
	if !strings.HasPrefix(token, "ozdbg_") || text(t, ctx, "#token-expiry") == "" {
		t.Fatalf("token panel shows %q, expiry %q", token, text(t, ctx, "#token-expiry"))
	}

	port := freePort(t)
	receiver := fmt.Sprintf("http://127.0.0.1:%d/", port)
	do(t, ctx, "set the receiver URL",
		chromedp.SendKeys(chromedp.CSS("#receiver-url"), receiver),
		chromedp.Click(chromedp.CSS("#set-receiver")),
		chromedp.WaitVisible(chromedp.CSS("#receiver-saved")),
	)

	// The app half, then the SDK half from the example program.
	tok := z.Token("wwtest", appSecret)
	if r := z.PostApp("/cgi-bin/chatdata/open_debug_mode", tok, map[string]any{"program_id": "prog-dbg", "debug_token": token}); testenv.Errcode(r) != 0 {
		t.Fatalf("open_debug_mode with the token from the page: %s", testenv.Describe(r))
	}
	cmd := exec.Command(testenv.Example(t), "--addr", fmt.Sprintf("127.0.0.1:%d", port), "--name", "local",
		"--api", z.URL, "--debug-token", token, "--access-token", tok)
	cmd.Env = append(os.Environ(), "OPENZONE_PROGRAM_ID=prog-dbg", "OPENZONE_SECRET=")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })

	row := "#sess-wwtest-1000002"
	do(t, ctx, "both halves shown on",
		chromedp.WaitVisible(chromedp.CSS(row+" .status .pill.ok")),
	)
	if n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("`+row+` .dot.on").length`)); err != nil || n != 2 {
		t.Fatalf("halves shown on: %d (%v), want 2", n, err)
	}
	if s := text(t, ctx, row+" .status"); !strings.Contains(s, "(2)") {
		t.Fatalf("status shows %q, want check_debug_mode's 2", s)
	}
	debugSecret := secretsWhileOn(t, z)

	// A sync call goes to the local program; it appears in the open
	// inspector, and a replay with an edited field reaches the program.
	do(t, ctx, "open the inspector", chromedp.Click(chromedp.CSS(`nav.side a[href="/console/traffic"]`)), chromedp.WaitVisible(chromedp.CSS("#filters")))
	r := z.PostApp("/cgi-bin/chatdata/sync_call_program", tok, map[string]any{"program_id": "prog-dbg", "ability_id": "echo", "request_data": `{"text":"via debug"}`})
	if testenv.Errcode(r) != 0 || !strings.Contains(r["response_data"].(string), "local") {
		t.Fatalf("call in debug mode: %s", testenv.Describe(r))
	}
	do(t, ctx, "the call appears live; open it",
		chromedp.WaitVisible(chromedp.CSS("#traffic-rows tr.click .pill.debug")),
		chromedp.Click(chromedp.CSS("#traffic-rows tr.click a")),
		chromedp.WaitVisible(chromedp.CSS("#replay-request")),
	)
	do(t, ctx, "replay with an edited field",
		chromedp.SetValue(chromedp.CSS("#replay-request"), `{"text":"edited, through debug"}`),
		chromedp.Click(chromedp.CSS("#replay-edit")),
		chromedp.WaitVisible(chromedp.CSS("#replay-response")),
	)
	if s := text(t, ctx, "#replay-response"); !strings.Contains(s, `"edited, through debug"`) || !strings.Contains(s, `"local"`) {
		t.Fatalf("the replay's reply = %q, want the edited text served by the local program", s)
	}
	if s := text(t, ctx, "#replay-status"); !strings.Contains(s, "debug") {
		t.Fatalf("replay status = %q, want the debug route", s)
	}
	do(t, ctx, "back to the debug page",
		chromedp.Navigate(z.URL+"/console/programs/prog-dbg/debug"),
		chromedp.WaitVisible(chromedp.CSS(row+" .status .pill.ok")),
	)

	do(t, ctx, "close",
		chromedp.Click(chromedp.CSS(row+" .close-debug")),
		chromedp.WaitVisible(chromedp.CSS("#close-wwtest-1000002")),
		chromedp.Click(chromedp.CSS("#close-wwtest-1000002 .confirm-close")),
		chromedp.WaitNotPresent(chromedp.CSS(row+" .status .pill.ok")),
	)
	if s := text(t, ctx, row+" .status"); !strings.Contains(s, "off") {
		t.Fatalf("after close the row says %q", s)
	}
	r = z.PostApp("/cgi-bin/chatdata/check_debug_mode", tok, map[string]any{"program_id": "prog-dbg"})
	if st, _ := r["debug_mode_status"].(float64); st != 1 {
		t.Fatalf("check_debug_mode after close: %s", testenv.Describe(r))
	}

	// A call whose request carries a password is recorded masked.
	z.PostApp("/cgi-bin/chatdata/sync_call_program", tok, map[string]any{"program_id": "prog-dbg", "ability_id": "echo", "request_data": `{"text":"x","password":"` + pwSecret + `"}`})
	var list struct {
		Traffic []struct{ ID int64 }
	}
	z.Admin("GET", "/admin/v1/traffic?limit=1", nil, &list)
	pages := []string{"/console/", "/console/programs", "/console/programs/prog-dbg", "/console/programs/prog-dbg/debug",
		"/console/notifications", "/console/corps", "/console/corps/wwtest", "/console/corps/wwtest/archive",
		"/console/traffic", fmt.Sprintf("/console/traffic/%d", list.Traffic[0].ID)}
	secrets := map[string]string{"debug token": token, "app secret": appSecret, "callback token": cbToken,
		"EncodingAESKey": aesKey, "admin token": z.AdminToken(), "access_token": tok, "masked password": pwSecret}
	for name, v := range programSecret(t, z) {
		secrets[name] = v
	}
	for name, v := range debugSecret {
		secrets[name] = v
	}
	secrets["message key"] = messageKey(t, z, "wwtest", "m-1")
	for _, p := range pages {
		do(t, ctx, "visit "+p, chromedp.Navigate(z.URL+p), chromedp.WaitVisible(chromedp.CSS("main")))
		html := pageHTML(t, ctx)
		for name, secret := range secrets {
			if strings.Contains(html, secret) {
				t.Errorf("%s shows the %s unmasked", p, name)
			}
		}
	}
	logs := zoneLog.String()
	for name, secret := range secrets {
		if name != "access_token" && strings.Contains(logs, secret) { // the SDK's own log lines are not the zone's
			t.Errorf("the zone's log shows the %s", name)
		}
	}
	if !strings.Contains(pageHTML(t, ctx), `"***"`) {
		t.Errorf("the traffic detail does not show the masked password as \"***\"")
	}
}

// TestConsoleLongProbeError: a long probe error wraps; the debug page
// stays within the 1,280 px the console is laid out for.
func TestConsoleLongProbeError(t *testing.T) {
	ctx := tab(t)
	z := testenv.Start(t, testenv.Options{Seed: consoleSeed})
	long := "cannot connect to the receiver URL of program \"prog-dbg\" (http://" + strings.Repeat("very-long-host-name-", 12) + ".example:9/receiver/path/that/goes/on)"
	if err := z.Store().DebugProbeSet(context.Background(), "prog-dbg", &openzone.DebugProbe{At: time.Now(), Via: "receiver",
		CorpID: "wwtest", AgentID: 1000002, Errcode: openzone.ErrProgramConnect, Errmsg: long}); err != nil {
		t.Fatal(err)
	}
	signIn(t, ctx, z)
	do(t, ctx, "open the debug page", chromedp.Navigate(z.URL+"/console/programs/prog-dbg/debug"), chromedp.WaitVisible(chromedp.CSS("#probe-state")))
	w, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.documentElement.scrollWidth`))
	if err != nil || w > 1280 {
		t.Fatalf("the debug page is %d px wide with a long probe error (%v), want ≤ 1280", w, err)
	}
}

// TestConsoleReplayWithEdits replays a recorded call with an edited
// payload from its detail page and sees the new reply.
func TestConsoleReplayWithEdits(t *testing.T) {
	ctx := tab(t)
	z := testenv.Start(t, testenv.Options{Seed: consoleSeed})
	tok := z.Token("wwtest", appSecret)
	if r := z.PostApp("/cgi-bin/chatdata/sync_call_program", tok, map[string]any{"program_id": "prog-rel", "ability_id": "echo", "request_data": `{"text":"original"}`}); testenv.Errcode(r) != 0 {
		t.Fatal(testenv.Describe(r))
	}
	signIn(t, ctx, z)
	// A healthy instance is drawn as healthy (the runtime's state, styled
	// from the one table in the root package), on the list and the page.
	for _, page := range []string{"/console/programs", "/console/programs/prog-rel"} {
		do(t, ctx, "see prog-rel's instance on "+page, chromedp.Navigate(z.URL+page),
			chromedp.WaitVisible(chromedp.CSS(".pill.state")))
		got, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll(".pill.state")].map(e => e.className + " " + e.textContent)`))
		if err != nil || len(got) != 1 || got[0] != "pill state ok healthy" {
			t.Fatalf("%s: instance pills %q (%v), want one healthy, styled ok", page, got, err)
		}
	}
	do(t, ctx, "open the call from the inspector",
		chromedp.Click(chromedp.CSS(`nav.side a[href="/console/traffic"]`)),
		chromedp.WaitVisible(chromedp.CSS("#traffic-rows tr.click a")),
		chromedp.Click(chromedp.CSS("#traffic-rows tr.click a")),
		chromedp.WaitVisible(chromedp.CSS("#replay-request")),
	)
	if s := text(t, ctx, "#resp"); !strings.Contains(s, "original") {
		t.Fatalf("detail response = %q", s)
	}
	do(t, ctx, "replay with edits",
		chromedp.SetValue(chromedp.CSS("#replay-request"), `{"text":"edited in the browser"}`),
		chromedp.Click(chromedp.CSS("#replay-edit")),
		chromedp.WaitVisible(chromedp.CSS("#replay-response")),
	)
	if s := text(t, ctx, "#replay-response"); !strings.Contains(s, `"edited in the browser"`) || !strings.Contains(s, "deployed") {
		t.Fatalf("new reply = %q", s)
	}
	if s := text(t, ctx, "#replay-status"); !strings.Contains(s, "errcode 0") || !strings.Contains(s, "with edits") {
		t.Fatalf("replay status = %q", s)
	}
	// The replay is in the live list.
	do(t, ctx, "back to the list",
		chromedp.Click(chromedp.CSS(`nav.side a[href="/console/traffic"]`)),
		chromedp.WaitVisible(chromedp.CSS("#traffic-rows")),
	)
	n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("#traffic-rows tr.click").length`))
	if err != nil || n != 2 {
		t.Fatalf("rows after the replay: %d (%v), want 2", n, err)
	}
}

// TestConsoleExportFixture ticks a record in the live list (it arrives
// while the page is open) and downloads it as a JSON fixture.
func TestConsoleExportFixture(t *testing.T) {
	ctx := tab(t)
	z := testenv.Start(t, testenv.Options{Seed: consoleSeed})
	signIn(t, ctx, z)
	do(t, ctx, "open the inspector",
		chromedp.Click(chromedp.CSS(`nav.side a[href="/console/traffic"]`)),
		chromedp.WaitVisible(chromedp.CSS("#traffic-empty")),
	)
	tok := z.Token("wwtest", appSecret)
	if r := z.PostApp("/cgi-bin/chatdata/sync_call_program", tok, map[string]any{"program_id": "prog-rel", "ability_id": "echo", "request_data": `{"text":"for the fixture"}`}); testenv.Errcode(r) != 0 {
		t.Fatal(testenv.Describe(r))
	}
	dir := t.TempDir()
	do(t, ctx, "the call arrives live; tick it and export",
		chromedp.WaitVisible(chromedp.CSS(`#traffic-rows input[name=id]`)),
		chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
			_, err := cdp.Call(ctx, chromedp.FromContext(ctx).Browser, browser.SetDownloadBehavior,
				browser.SetDownloadBehaviorParams{Behavior: browser.SetDownloadBehaviorBehaviorAllow, DownloadPath: dir})
			return err
		}),
		chromedp.Click(chromedp.CSS(`#traffic-rows input[name=id]`)),
		chromedp.Click(chromedp.CSS("#export-btn")),
	)
	var file string
	testenv.Eventually(t, "the fixture file", func() bool {
		m, _ := filepath.Glob(filepath.Join(dir, "openzone-fixture-*.json"))
		if len(m) == 1 {
			file = m[0]
			return true
		}
		return false
	})
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var fx struct {
		Format  string `json:"format"`
		Version int    `json:"version"`
		Records []struct {
			Kind      string `json:"kind"`
			ProgramID string `json:"program_id"`
			Request   string `json:"request"`
			Response  string `json:"response"`
		} `json:"records"`
	}
	if err := json.Unmarshal(b, &fx); err != nil {
		t.Fatalf("fixture is not JSON: %v\n%s", err, b)
	}
	if fx.Format != "openzone.traffic" || fx.Version != 1 || len(fx.Records) != 1 || fx.Records[0].ProgramID != "prog-rel" ||
		!strings.Contains(fx.Records[0].Request, "for the fixture") || !strings.Contains(fx.Records[0].Response, "deployed") {
		t.Fatalf("fixture = %s", b)
	}
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// encodings are the forms a key could be printed in.
func encodings(name string, key []byte) map[string]string {
	return map[string]string{
		name + " (base64)":    base64.StdEncoding.EncodeToString(key),
		name + " (base64url)": base64.RawURLEncoding.EncodeToString(key),
		name + " (hex)":       hex.EncodeToString(key),
	}
}

func programSecret(t *testing.T, z *testenv.Zone) map[string]string {
	t.Helper()
	sec, err := z.Store().ProgramSecretGet(t.Context(), "prog-dbg")
	if err != nil {
		t.Fatal(err)
	}
	return encodings("program secret", sec.Key)
}

// secretsWhileOn returns the debug secret of (wwtest, 1000002, prog-dbg).
func secretsWhileOn(t *testing.T, z *testenv.Zone) map[string]string {
	t.Helper()
	sess, err := z.Store().DebugSessionGet(t.Context(), store.DebugSessionGetParams{CorpID: "wwtest", AgentID: 1000002, ProgramID: "prog-dbg"})
	if err != nil || len(sess.Secret) == 0 {
		t.Fatalf("debug session: %+v, %v", sess, err)
	}
	return encodings("debug secret", sess.Secret)
}

// messageKey opens a message's secret_key as the zone does: its sealed
// key under the archive key kept in the data directory.
func messageKey(t *testing.T, z *testenv.Zone, corpID, msgID string) string {
	t.Helper()
	var st struct {
		DataDir string `json:"data_dir"`
	}
	z.Admin("GET", "/admin/v1/status", nil, &st)
	b, err := os.ReadFile(filepath.Join(st.DataDir, "archive.key"))
	if err != nil {
		t.Fatal(err)
	}
	ak, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	m, err := z.Store().MessageGet(t.Context(), corpID, msgID)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := aes.NewCipher(ak)
	g, _ := cipher.NewGCM(block)
	key, err := g.Open(nil, m.SealedKey[:g.NonceSize()], m.SealedKey[g.NonceSize():], []byte("msgkey\x00"+corpID+"\x00"+msgID))
	if err != nil {
		t.Fatalf("open the message key: %v", err)
	}
	return base64.RawURLEncoding.EncodeToString(key)
}
