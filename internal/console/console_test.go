package console_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/openzone/openzone"
	"github.com/openzone/openzone/internal/sandbox/sandboxtest"
	"github.com/openzone/openzone/internal/store"
	"github.com/openzone/openzone/internal/testenv"
)

// client is a signed-in console user without a browser.
type client struct {
	tb   testing.TB
	z    *testenv.Zone
	http *http.Client
	csrf string
}

func newClient(tb testing.TB, z *testenv.Zone) *client {
	tb.Helper()
	jar, _ := cookiejar.New(nil)
	c := &client{tb: tb, z: z, http: &http.Client{Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	resp, err := c.http.PostForm(z.URL+"/console/login", url.Values{"token": {z.AdminToken()}, "next": {"/console/"}})
	if err != nil {
		tb.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		tb.Fatalf("sign in: HTTP %d", resp.StatusCode)
	}
	_, body := c.get("/console/")
	m := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(body)
	if m == nil {
		tb.Fatal("no CSRF token on the overview")
	}
	c.csrf = m[1]
	return c
}

func (c *client) get(path string) (int, string) {
	c.tb.Helper()
	resp, err := c.http.Get(c.z.URL + path)
	if err != nil {
		c.tb.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func (c *client) post(path string, form url.Values, htmx bool) (int, string) {
	c.tb.Helper()
	req, _ := http.NewRequest(http.MethodPost, c.z.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if htmx {
		req.Header.Set("HX-Request", "true")
		req.Header.Set("X-CSRF-Token", c.csrf)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		c.tb.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

const attachSeed = consoleSeed + `
  - {corpid: wwtest, agentid: 2000001, type: third_party, provider: isv, secret: s3, programs: [prog-rel]}
`

func TestConsoleAuth(t *testing.T) {
	z := testenv.Start(t, testenv.Options{Seed: consoleSeed})
	anon := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

	t.Run("RedirectsToSignIn", func(t *testing.T) {
		resp, err := anon.Get(z.URL + "/console/traffic")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/console/login?next=") {
			t.Fatalf("HTTP %d to %q", resp.StatusCode, resp.Header.Get("Location"))
		}
	})
	t.Run("ErrWrongToken", func(t *testing.T) {
		resp, err := anon.PostForm(z.URL+"/console/login", url.Values{"token": {"nope"}})
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(string(b), "admin-token") || resp.Header.Get("Set-Cookie") != "" {
			t.Fatalf("HTTP %d, cookie %q", resp.StatusCode, resp.Header.Get("Set-Cookie"))
		}
	})
	t.Run("ErrNoCSRF", func(t *testing.T) {
		c := newClient(t, z)
		st, _ := c.post("/console/programs/prog-dbg/debug/token", url.Values{}, false)
		if st != http.StatusForbidden {
			t.Fatalf("POST without CSRF token: HTTP %d, want 403", st)
		}
	})
	t.Run("OpenRedirect", func(t *testing.T) {
		jar, _ := cookiejar.New(nil)
		h := &http.Client{Jar: jar, CheckRedirect: anon.CheckRedirect}
		resp, err := h.PostForm(z.URL+"/console/login", url.Values{"token": {z.AdminToken()}, "next": {"//evil.example/"}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if loc := resp.Header.Get("Location"); loc != "/console/" {
			t.Fatalf("next=//evil.example/ redirected to %q", loc)
		}
	})
	t.Run("SignOut", func(t *testing.T) {
		c := newClient(t, z)
		if st, _ := c.post("/console/logout", url.Values{"csrf": {c.csrf}}, false); st != http.StatusSeeOther {
			t.Fatalf("sign out: HTTP %d", st)
		}
		if st, _ := c.get("/console/"); st != http.StatusSeeOther {
			t.Fatalf("after sign out: HTTP %d, want a redirect to sign in", st)
		}
	})
}

// TestConsoleAttachRules: the app card explains a refused attach, and a
// test install lifts the refusal.
func TestConsoleAttachRules(t *testing.T) {
	z := testenv.Start(t, testenv.Options{Seed: attachSeed})
	c := newClient(t, z)
	_, body := c.get("/console/corps/wwtest")
	if !strings.Contains(body, "not test-installed") {
		t.Fatal("the third-party app's card does not say it is not test-installed")
	}
	st, body := c.post("/console/corps/wwtest/apps/2000001/programs", url.Values{"program": {"prog-rel", "prog-dbg"}}, true)
	if st != 200 || !strings.Contains(body, "unreleased (未上线)") || !strings.Contains(body, "测试安装") {
		t.Fatalf("attach an unreleased program: HTTP %d\n%s", st, body)
	}
	if _, body = c.post("/console/corps/wwtest/apps/2000001/test_install", url.Values{"test_install": {"true"}}, true); !strings.Contains(body, "测试场景 test scenario") {
		t.Fatalf("after test install the card does not show the test scenario:\n%s", body)
	}
	st, body = c.post("/console/corps/wwtest/apps/2000001/programs", url.Values{"program": {"prog-rel", "prog-dbg"}}, true)
	if st != 200 || !strings.Contains(body, "Saved") {
		t.Fatalf("attach after test install: HTTP %d\n%s", st, body)
	}
}

// TestConsoleProgramEvents: a program's page lists its latest events,
// and marks one that stepped aside (it stopped holding back the later
// events of its corp).
func TestConsoleProgramEvents(t *testing.T) {
	z := testenv.Start(t, testenv.Options{Seed: consoleSeed})
	ctx := t.Context()
	now := time.Now()
	for _, e := range []*openzone.Event{
		{ID: "ev-poison", CorpID: "wwtest", ProgramID: "prog-rel", Type: "conversation_new_message", State: openzone.EventPending,
			Attempts: 9, LastError: "stepped aside: errcode 710676: HTTP 500", CreatedAt: now.Add(-time.Hour),
			FailingSince: now.Add(-time.Hour), SteppedAsideAt: now.Add(-50 * time.Minute)},
		{ID: "ev-after", CorpID: "wwtest", ProgramID: "prog-rel", Type: "hit_keyword", State: openzone.EventDelivered,
			Attempts: 1, CreatedAt: now.Add(-time.Minute), DeliveredAt: now},
	} {
		if err := z.Store().EventInsert(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	c := newClient(t, z)
	st, body := c.get("/console/programs/prog-rel")
	if st != http.StatusOK {
		t.Fatalf("program page: HTTP %d", st)
	}
	rows := regexp.MustCompile(`(?s)<tr><td class="mono">(ev-[a-z]+)</td>.*?</tr>`).FindAllStringSubmatch(body, -1)
	if len(rows) != 2 || rows[0][1] != "ev-after" || rows[1][1] != "ev-poison" {
		t.Fatalf("event rows %q, want ev-after then ev-poison", rows)
	}
	if !strings.Contains(rows[1][0], "stepped aside</span>") || !strings.Contains(rows[1][0], "stepped aside: errcode 710676") ||
		strings.Contains(rows[0][0], "stepped aside") {
		t.Fatalf("rows:\n%s\n%s", rows[0][0], rows[1][0])
	}
}

// TestConsoleProgramEditor creates a program, saves a broken protocol (the
// admin API's message names the field) and checks a protocol.
func TestConsoleProgramEditor(t *testing.T) {
	z := testenv.Start(t, testenv.Options{Seed: consoleSeed})
	c := newClient(t, z)
	if st, _ := c.post("/console/programs", url.Values{"csrf": {c.csrf}, "id": {"prog-new"}, "name": {"New"}, "provider": {"isv"}, "kind": {"model"}}, false); st != http.StatusSeeOther {
		t.Fatalf("create: HTTP %d", st)
	}
	form := url.Values{"csrf": {c.csrf}, "provider": {"isv"}, "name": {"New"}, "kind": {"model"}, "deploy_mode": {"none"},
		"ability_id": {"summarise", ""}, "ability_name": {"", ""}, "ability_input": {`{"text": ""`, "{}"}, "ability_output": {`{"summary": ""}`, "{}"}}
	st, body := c.post("/console/programs/prog-new", form, false)
	if st != http.StatusBadRequest || !strings.Contains(body, "abilities[0].input") {
		t.Fatalf("broken protocol: HTTP %d\n%.2000s", st, body)
	}
	form.Set("ability_input", `{"text": "", "n": 0}`)
	form["ability_input"] = []string{`{"text": "", "n": 0}`, "{}"}
	if st, _ := c.post("/console/programs/prog-new", form, false); st != http.StatusSeeOther {
		t.Fatalf("save: HTTP %d", st)
	}
	var p openzone.Program
	z.Admin("GET", "/admin/v1/programs/prog-new", nil, &p)
	if p.Kind != openzone.KindModel || len(p.Abilities) != 1 || p.Abilities[0].ID != "summarise" {
		t.Fatalf("saved program = %+v", p)
	}
	_, body = c.post("/console/protocol-check", url.Values{"protocol": {`{"text":"","items":[{"id":0}]}`}, "sample": {`{"items":[{"id":"x"}]}`}}, true)
	if !strings.Contains(body, "items[].id") || !strings.Contains(body, "a number") || !strings.Contains(body, "Sample does not match") {
		t.Fatalf("protocol check:\n%s", body)
	}
}

// BenchmarkPages measures each console page at 1,000 traffic records
// (measured, not asserted: see docs/console.md for figures).
func BenchmarkPages(b *testing.B) {
	z := testenv.Start(b, testenv.Options{Seed: consoleSeed})
	ctx := context.Background()
	now := time.Now()
	err := z.Store().InTx(ctx, func(tx store.Executor) error {
		for i := range 1000 {
			kind := []string{openzone.TrafficCall, openzone.TrafficEvent, openzone.TrafficInvoke, openzone.TrafficNotify}[i%4]
			r := &openzone.TrafficRecord{Kind: kind, Route: openzone.RouteDeployed, CorpID: "wwtest", AgentID: 1000002,
				ProgramID: "prog-rel", AbilityID: "echo", Errcode: []int{0, 0, 0, 790016}[i%4],
				Request: fmt.Sprintf(`{"text":"message %d","password":"***"}`, i), Response: `{"text":"x","served_by":"deployed"}`,
				StartedAt: now.Add(time.Duration(i-1000) * time.Second), TotalMS: 1.5, ProgramMS: 1.1, ZoneMS: 0.4}
			if err := tx.TrafficInsert(ctx, r); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	var list struct{ Traffic []struct{ ID int64 } }
	z.Admin("GET", "/admin/v1/traffic?limit=1", nil, &list)
	c := newClient(b, z)
	pages := []struct{ name, path string }{
		{"Overview", "/console/"},
		{"Programs", "/console/programs"},
		{"Program", "/console/programs/prog-rel"},
		{"Debug", "/console/programs/prog-dbg/debug"},
		{"Notifications", "/console/notifications"},
		{"Corps", "/console/corps"},
		{"Corp", "/console/corps/wwtest"},
		{"Archive", "/console/corps/wwtest/archive"},
		{"Traffic", "/console/traffic"},
		{"TrafficFiltered", "/console/traffic?kind=call&failed=true"},
		{"TrafficPoll", fmt.Sprintf("/console/traffic/rows?after_id=%d", list.Traffic[0].ID)},
		{"TrafficDetail", fmt.Sprintf("/console/traffic/%d", list.Traffic[0].ID)},
	}
	for _, p := range pages {
		b.Run(p.name, func(b *testing.B) {
			for b.Loop() {
				if st, _ := c.get(p.path); st != http.StatusOK {
					b.Fatalf("%s: HTTP %d", p.path, st)
				}
			}
		})
	}
}

// TestConsoleDebugListener: the debug page shows the debug listener's state
// and the pre-flight probe, as the admin API records them.
func TestConsoleDebugListener(t *testing.T) {
	z := testenv.Start(t, testenv.Options{Seed: consoleSeed})
	c := newClient(t, z)
	ctx := context.Background()
	now := time.Now()
	for _, err := range []error{
		z.Store().DebugListenerSet(ctx, "prog-dbg", &openzone.DebugListener{State: openzone.ListenerLost, ID: "lst_1",
			ConnectedAt: now.Add(-time.Minute), LostAt: now, Reason: "dead peer: no pong within 10s"}),
		z.Store().DebugProbeSet(ctx, "prog-dbg", &openzone.DebugProbe{OK: false, At: now, Via: "listener", CorpID: "wwtest",
			AgentID: 1000002, Errcode: 710677, Errmsg: "could not open the request", MS: 1.5}),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, path := range []string{"/console/programs/prog-dbg/debug", "/console/programs/prog-dbg/debug/sessions"} {
		st, body := c.get(path)
		for _, want := range []string{`id="listener-state"`, "listener lost at ", "dead peer: no pong within 10s", "710674",
			`id="probe-state"`, "via listener", "errcode 710677", "1.5 ms"} {
			if st != 200 || !strings.Contains(body, want) {
				t.Errorf("%s: HTTP %d, body lacks %q", path, st, want)
			}
		}
	}
}

func TestConsoleProgramSandbox(t *testing.T) {
	m := sandboxtest.Host(t)
	z := testenv.Start(t, testenv.Options{Seed: consoleSeed})
	c := newClient(t, z)
	waitFor := func(what string, cond func(string) bool) string {
		var body string
		testenv.Eventually(t, what, func() bool {
			_, body = c.get("/console/programs/prog-rel")
			return cond(body)
		})
		return body
	}
	if m.Probe().Sandbox {
		waitFor("the instance shown sandboxed with its limits", func(b string) bool {
			return strings.Contains(b, ">sandboxed<") && strings.Contains(b, "1024 MB · no CPU limit") && strings.Contains(b, "nothing blocked")
		})
	} else {
		waitFor("the isolation off notice", func(b string) bool { return strings.Contains(b, `id="isolation-note">isolation off: `) })
	}
	form := url.Values{"csrf": {c.csrf}, "provider": {"isv"}, "name": {"Released and deployed"}, "kind": {"program"}, "released": {"on"},
		"deploy_mode": {"command"}, "command": {testenv.Example(t) + " --name deployed"}, "instances": {"1"},
		"isolation": {"off"}, "memory_mb": {"256"}, "cpus": {"lots"}, "disk_mb": {""},
		"ability_id": {"echo", ""}, "ability_name": {"", ""}, "ability_input": {`{"text": ""}`, "{}"}, "ability_output": {`{"text": "", "served_by": ""}`, "{}"}}
	if st, body := c.post("/console/programs/prog-rel", form, false); st != http.StatusBadRequest || !strings.Contains(body, "limits.cpus") {
		t.Fatalf("cpus lots: HTTP %d, want 400 naming limits.cpus\n%.3000s", st, body)
	}
	form.Set("cpus", "0.5")
	if st, body := c.post("/console/programs/prog-rel", form, false); st != http.StatusSeeOther {
		t.Fatalf("save: HTTP %d\n%.3000s", st, body)
	}
	var p openzone.Program
	z.Admin("GET", "/admin/v1/programs/prog-rel", nil, &p)
	if want := (openzone.Limits{MemoryMB: 256, CPUs: 0.5}); p.Deploy.Isolation != "off" || p.Deploy.Limits != want {
		t.Fatalf("saved deploy = %+v", p.Deploy)
	}
	waitFor("the plain process and the isolation off notice", func(b string) bool {
		return strings.Contains(b, "plain process") && strings.Contains(b, "isolation off: deploy.isolation is off")
	})
}

// TestConsoleLogQuery: 日志查询 shows a program's lines by level and
// req_id, a call's page links to its lines, a line's req_id to its call.
func TestConsoleLogQuery(t *testing.T) {
	z := testenv.Start(t, testenv.Options{Seed: consoleSeed})
	ctx := context.Background()
	const rid = "0123456789abcdef0123456789abcdef"
	now := z.Clock.Now()
	lines := []*openzone.ProgramLog{
		{ProgramID: "prog-rel", Time: now, Level: openzone.LogLevelError, ReqID: rid, File: "main.go", Line: 9, Text: "went <wrong>", Received: now},
		{ProgramID: "prog-rel", Time: now, Level: openzone.LogLevelInfo, ReqID: rid, File: "main.go", Line: 10, Text: "all fine", Received: now},
	}
	if _, err := z.Store().ProgramLogInsert(ctx, store.ProgramLogInsertParams{ProgramID: "prog-rel", Hour: now.Truncate(time.Hour),
		Lines: lines, Sizes: []int64{10, 10}, Dropped: 3}); err != nil {
		t.Fatal(err)
	}
	rec := &openzone.TrafficRecord{Kind: openzone.TrafficCall, ProgramID: "prog-rel", AbilityID: "echo", RequestID: rid, StartedAt: now}
	if err := z.Store().TrafficInsert(ctx, rec); err != nil {
		t.Fatal(err)
	}
	c := newClient(t, z)
	st, body := c.get("/console/programs/prog-rel/logquery")
	if st != 200 || !strings.Contains(body, ",ERR,") || !strings.Contains(body, "went &lt;wrong&gt;") || !strings.Contains(body, "all fine") {
		t.Fatalf("log query: HTTP %d\n%s", st, body)
	}
	if !strings.Contains(body, `href="/console/traffic?request_id=`+rid+`"`) || !strings.Contains(body, `id="log-hours"`) || !strings.Contains(body, ">3</span>") {
		t.Errorf("log query lacks the req_id link or the hour's 3 dropped lines:\n%s", body)
	}
	if _, body := c.get("/console/programs/prog-rel/logquery?level=ERR"); strings.Contains(body, "all fine") {
		t.Errorf("level=ERR shows an INFO line")
	}
	if _, body := c.get("/console/programs/prog-rel/logquery?req_id=other"); !strings.Contains(body, `id="log-empty"`) {
		t.Errorf("another req_id shows lines")
	}
	if _, body := c.get(fmt.Sprintf("/console/traffic/%d", rec.ID)); !strings.Contains(body, `/console/programs/prog-rel/logquery?req_id=`+rid) {
		t.Errorf("the call's page does not link to its lines:\n%s", body)
	}
	if _, body := c.get("/console/traffic?request_id=" + rid); !strings.Contains(body, fmt.Sprintf("/console/traffic/%d", rec.ID)) {
		t.Errorf("the inspector filtered by request id does not show the call")
	}
}
