package server_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/openzone/openzone"
	"github.com/openzone/openzone/internal/testenv"
)

// listenSeed: prog-dbg is not deployed; app 1000002 debugs it and receives
// its events.
const listenSeed = `
providers: [{id: isv, name: Test ISV}]
corps:
  - corpid: wwtest
    name: Test Corp
    members: [{userid: zhangsan, name: 张三}]
    external_contacts: [{external_userid: wmc, name: C}]
programs:
  - id: prog-dbg
    provider: isv
    name: In development
    abilities:
      - {id: echo, input: {"text": ""}, output: {"text": "", "served_by": ""}}
apps:
  - {corpid: wwtest, agentid: 1000002, type: self_built, secret: s1, programs: [prog-dbg]}
`

// listenLine is one JSON line of `openzone debug listen --json`.
type listenLine struct {
	Type       string  `json:"type"`
	ListenerID string  `json:"listener_id"`
	HeldCount  int     `json:"held_count"`
	Kind       string  `json:"kind"`
	Ability    string  `json:"ability"`
	EventID    string  `json:"event_id"`
	Status     int     `json:"status"`
	Exception  string  `json:"exception"`
	LatencyMS  float64 `json:"latency_ms"`
	Held       bool    `json:"held"`
	Error      string  `json:"error"`
}

// listenProc is a running `openzone debug listen`.
type listenProc struct {
	t      *testing.T
	cmd    *exec.Cmd
	stderr logBuffer
	mu     sync.Mutex
	lines  []listenLine
	done   chan struct{}
}

func startListen(t *testing.T, z *testenv.Zone, args ...string) *listenProc {
	t.Helper()
	p := &listenProc{t: t, done: make(chan struct{})}
	p.cmd = exec.Command(testenv.CLI(t), append([]string{"debug", "listen", "--zone", z.URL, "--json"}, args...)...)
	p.cmd.Env = append(os.Environ(), "OPENZONE_ADMIN_TOKEN="+z.AdminToken(), "OPENZONE_DEBUG_TOKEN=")
	p.cmd.Stderr = &p.stderr
	out, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		defer close(p.done)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			var l listenLine
			if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
				t.Errorf("debug listen --json printed a line that is not JSON: %q", sc.Text())
				continue
			}
			p.mu.Lock()
			p.lines = append(p.lines, l)
			p.mu.Unlock()
		}
	}()
	t.Cleanup(func() { p.cmd.Process.Kill(); p.cmd.Wait() })
	return p
}

func (p *listenProc) snapshot() []listenLine {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.lines)
}

func (p *listenProc) count(typ string) int {
	n := 0
	for _, l := range p.snapshot() {
		if l.Type == typ {
			n++
		}
	}
	return n
}

// wait waits for the process to exit and returns its exit code.
func (p *listenProc) wait() int {
	p.t.Helper()
	select {
	case <-p.done:
	case <-time.After(20 * time.Second):
		p.t.Fatalf("debug listen did not exit; stderr:\n%s", p.stderr.String())
	}
	p.cmd.Wait()
	return p.cmd.ProcessState.ExitCode()
}

type debugPage struct {
	Route    string `json:"route"`
	Receiver string `json:"receiver"`
	Listener *struct {
		openzone.DebugListener
		Text string `json:"text"`
	} `json:"listener"`
	Probe *openzone.DebugProbe `json:"probe"`
}

func getPage(t *testing.T, z *testenv.Zone, program string) debugPage {
	t.Helper()
	var p debugPage
	if st := z.Admin("GET", "/admin/v1/programs/"+program+"/debug", nil, &p); st != 200 {
		t.Fatalf("debug page: HTTP %d", st)
	}
	return p
}

// TestDebugListen: the example program runs on a loopback port the zone is
// never told about; `openzone debug listen` carries sync calls, an async
// call and events to it and back, holds events and async calls while it is
// gone (sync calls fail fast), delivers them in order when it returns,
// detects a frozen peer and reconnects by itself; its replies are those of
// a receiver URL.
func TestDebugListen(t *testing.T) {
	z := testenv.Start(t, testenv.Options{
		Seed: listenSeed, CallTimeout: 5 * time.Second,
		RetryBackoff:         func(int) time.Duration { return 200 * time.Millisecond },
		ListenerPingInterval: 200 * time.Millisecond, ListenerPongTimeout: 500 * time.Millisecond,
	})
	tok := z.Token("wwtest", "s1")
	receiveEvents(t, z, tok, "prog-dbg")
	dt, _ := debugToken(t, z, "prog-dbg")
	if r := z.PostApp("/cgi-bin/chatdata/open_debug_mode", tok, map[string]any{"program_id": "prog-dbg", "debug_token": dt}); testenv.Errcode(r) != 0 {
		t.Fatalf("open_debug_mode: %s", testenv.Describe(r))
	}
	port := freePort(t)
	local := fmt.Sprintf("http://127.0.0.1:%d/", port)
	prog := exec.Command(testenv.Example(t), "--addr", fmt.Sprintf("127.0.0.1:%d", port), "--name", "local",
		"--api", z.URL, "--debug-token", dt, "--access-token", tok)
	prog.Env = append(os.Environ(), "OPENZONE_PROGRAM_ID=prog-dbg", "OPENZONE_SECRET=")
	var progOut logBuffer
	prog.Stdout, prog.Stderr = &progOut, &progOut
	if err := prog.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { prog.Process.Kill(); prog.Wait() })
	testenv.Eventually(t, "debug mode on", func() bool { return checkDebug(t, z, tok, "prog-dbg") == 2 })

	call := func() map[string]any {
		return z.PostApp("/cgi-bin/chatdata/sync_call_program", tok, syncCall("prog-dbg", "echo", `{"text":"hi"}`))
	}
	send := func(i int) {
		msg := fmt.Sprintf(`{"sender":{"type":1,"id":"zhangsan"},"receiver_list":[{"type":2,"id":"wmc"}],"msgtype":1,"text":{"content":"m%d"}}`, i)
		var out map[string]any
		if st := z.Admin("POST", "/admin/v1/corps/wwtest/messages", strings.NewReader(msg), &out); st != 200 {
			t.Fatalf("ingest %d: HTTP %d %v", i, st, out)
		}
	}
	events := func() []openzone.Event { // oldest first
		var out struct {
			Events []openzone.Event `json:"events"`
		}
		z.Admin("GET", "/admin/v1/events?program_id=prog-dbg", nil, &out)
		slices.Reverse(out.Events)
		return out.Events
	}
	delivered := func() bool {
		for _, e := range events() {
			if e.State != openzone.EventDelivered {
				return false
			}
		}
		return true
	}

	// No receiver URL, no listener: 710674.
	if r := call(); testenv.Errcode(r) != openzone.ErrProgramConnect {
		t.Fatalf("before the listener: %s, want 710674", testenv.Describe(r))
	}

	l := startListen(t, z, "prog-dbg", "--forward-to", local)
	testenv.Eventually(t, "the listener to connect", func() bool { return l.count("connected") == 1 })
	testenv.Eventually(t, "the pre-flight probe through the listener", func() bool {
		p := getPage(t, z, "prog-dbg")
		return p.Probe != nil && p.Probe.OK && p.Probe.Via == "listener"
	})
	page := getPage(t, z, "prog-dbg")
	if page.Route != "listener" || page.Listener == nil || page.Listener.State != openzone.ListenerConnected ||
		!strings.HasPrefix(page.Listener.Text, "listener connected since ") {
		t.Fatalf("debug page = %+v", page)
	}

	// Flow A: a sync call, through the listener to the local program.
	r := call()
	if testenv.Errcode(r) != 0 || r["response_data"] != `{"text":"hi","served_by":"local"}` {
		t.Fatalf("sync call through the listener: %s", testenv.Describe(r))
	}
	viaListener := r["response_data"]
	// Concurrent calls share the one connection.
	var wg sync.WaitGroup
	errs := make(chan string, 8)
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			text := fmt.Sprintf("c%d", i)
			r := z.PostApp("/cgi-bin/chatdata/sync_call_program", tok, syncCall("prog-dbg", "echo", `{"text":"`+text+`"}`))
			if testenv.Errcode(r) != 0 || r["response_data"] != `{"text":"`+text+`","served_by":"local"}` {
				errs <- testenv.Describe(r)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Errorf("concurrent call: %s", e)
	}
	// debug status shows the listener and the probe.
	status := exec.Command(testenv.CLI(t), "debug", "status", "prog-dbg", "--zone", z.URL, "--admin-token", z.AdminToken())
	if out, err := status.CombinedOutput(); err != nil || !strings.Contains(string(out), "listener: connected since") ||
		!strings.Contains(string(out), "via listener for wwtest/1000002: answered and opened it") {
		t.Errorf("debug status: %v\n%s", err, out)
	}
	// An event and an async call, through the listener.
	send(0)
	testenv.Eventually(t, "the first event delivered", delivered)
	asyncCall := func(text string) string {
		r := z.PostApp("/cgi-bin/chatdata/async_program_task", tok, syncCall("prog-dbg", "echo", `{"text":"`+text+`"}`))
		jobID, _ := r["jobid"].(string)
		if testenv.Errcode(r) != 0 || jobID == "" {
			t.Fatalf("async_program_task: %s", testenv.Describe(r))
		}
		return jobID
	}
	asyncResult := func(jobID, text string) {
		t.Helper()
		var r map[string]any
		testenv.Eventually(t, "async_program_result of "+jobID, func() bool {
			r = z.PostApp("/cgi-bin/chatdata/async_program_result", tok, map[string]any{"jobid": jobID})
			return testenv.Errcode(r) != openzone.ErrWaitingResult
		})
		if testenv.Errcode(r) != 0 || r["response_data"] != `{"text":"`+text+`","served_by":"local"}` {
			t.Fatalf("async_program_result: %s", testenv.Describe(r))
		}
	}
	asyncResult(asyncCall("async"), "async")

	// The listener dies: sync calls fail fast, events are held.
	l.cmd.Process.Kill()
	testenv.Eventually(t, "the zone to see the listener lost", func() bool {
		p := getPage(t, z, "prog-dbg")
		return p.Listener != nil && p.Listener.State == openzone.ListenerLost && strings.HasPrefix(p.Listener.Text, "listener lost at ")
	})
	start := time.Now()
	r = call()
	if took := time.Since(start); testenv.Errcode(r) != openzone.ErrProgramConnect || took > time.Second ||
		!strings.Contains(r["errmsg"].(string), "debug listener") {
		t.Fatalf("sync call without the listener: %s after %s, want 710674 at once", testenv.Describe(r), took)
	}
	// Held while it is gone: an event, an async call, two events.
	send(1)
	time.Sleep(5 * time.Millisecond)
	heldJob := asyncCall("held")
	time.Sleep(5 * time.Millisecond)
	send(2)
	send(3)
	testenv.Eventually(t, "three held events", func() bool {
		held := 0
		for _, e := range events() {
			if e.State == openzone.EventPending && strings.HasPrefix(e.LastError, "held: ") {
				held++
			}
		}
		return held == 3
	})

	// It comes back: the held work arrives, in the order it was raised.
	l = startListen(t, z, "prog-dbg", "--forward-to", local)
	testenv.Eventually(t, "held events delivered after the listener returned", delivered)
	asyncResult(heldJob, "held")
	evs := events()
	want := []string{evs[1].ID, "async", evs[2].ID, evs[3].ID}
	var got []string
	lines := l.snapshot()
	if lines[0].Type != "connected" || lines[0].HeldCount != 4 {
		t.Fatalf("first line = %+v, want connected with 4 held deliveries", lines[0])
	}
	for _, ln := range lines {
		if ln.Type != "request" || ln.Kind == "probe" {
			continue
		}
		if !ln.Held || ln.Status != 200 || ln.Ability == "" {
			t.Errorf("held delivery line = %+v", ln)
		}
		if ln.Kind == "async" {
			got = append(got, "async")
		} else {
			got = append(got, ln.EventID)
		}
	}
	if !slices.Equal(got, want) {
		t.Fatalf("held work forwarded in order %v, want %v (raise order)", got, want)
	}

	// A frozen CLI is a dead peer: the zone notices, and the CLI, thawed,
	// reconnects by itself.
	l.cmd.Process.Signal(syscall.SIGSTOP)
	testenv.Eventually(t, "the zone to declare the frozen listener dead", func() bool {
		p := getPage(t, z, "prog-dbg")
		return p.Listener.State == openzone.ListenerLost && strings.Contains(p.Listener.Reason, "dead peer")
	})
	l.cmd.Process.Signal(syscall.SIGCONT)
	testenv.Eventually(t, "the CLI to reconnect", func() bool { return l.count("connected") == 2 })
	if r := call(); testenv.Errcode(r) != 0 {
		t.Fatalf("sync call after the reconnect: %s", testenv.Describe(r))
	}
	if !strings.Contains(l.stderr.String(), "reconnecting in") {
		t.Errorf("the CLI's status lines do not say it reconnects:\n%s", l.stderr.String())
	}

	// Ctrl-C: a clean exit, recorded as such.
	l.cmd.Process.Signal(syscall.SIGINT)
	if code := l.wait(); code != 0 {
		t.Fatalf("exit code after SIGINT = %d; stderr:\n%s", code, l.stderr.String())
	}
	testenv.Eventually(t, "the listener closed by the CLI", func() bool {
		return getPage(t, z, "prog-dbg").Listener.Reason == "closed by the CLI"
	})
	var calls int
	for _, ln := range l.snapshot() {
		if ln.Type == "request" && ln.Kind == "call" && ln.Ability == "echo" && ln.Status == 200 && ln.LatencyMS > 0 {
			calls++
		}
	}
	if calls != 1 {
		t.Errorf("%d call lines for the echo after the second reconnect, want 1: %+v", calls, l.snapshot())
	}

	// The same program through a receiver URL answers the same; setting the
	// URL ends listener mode.
	setReceiver(t, z, "prog-dbg", local)
	if p := getPage(t, z, "prog-dbg"); p.Route != "receiver" || p.Listener != nil {
		t.Fatalf("after setting a receiver URL: %+v", p)
	}
	if r := call(); testenv.Errcode(r) != 0 || r["response_data"] != viaListener {
		t.Fatalf("through the receiver URL: %s, want response_data %v", testenv.Describe(r), viaListener)
	}

	// A listener whose local program is not running: 710674 naming
	// --forward-to, and an ERR line.
	dead := startListen(t, z, "prog-dbg", "--forward-to", "http://127.0.0.1:1/")
	testenv.Eventually(t, "the listener to connect", func() bool { return dead.count("connected") == 1 })
	if r := call(); testenv.Errcode(r) != openzone.ErrProgramConnect || !strings.Contains(r["errmsg"].(string), "--forward-to") {
		t.Fatalf("call with the local program down: %s, want 710674", testenv.Describe(r))
	}
	testenv.Eventually(t, "an error line for the call", func() bool {
		for _, ln := range dead.snapshot() {
			if ln.Kind == "call" && ln.Error != "" && ln.Status == 0 {
				return true
			}
		}
		return false
	})

	// Secrets never reach the CLI's output.
	if s := l.stderr.String(); strings.Contains(s, dt) || strings.Contains(s, z.AdminToken()) {
		t.Errorf("the CLI printed a secret:\n%s", s)
	}
}

// TestDebugListen_Refused: a bad credential, an unknown program and an
// unreachable zone end the CLI at once, non-zero, saying why.
func TestDebugListen_Refused(t *testing.T) {
	z := testenv.Start(t, testenv.Options{Seed: listenSeed})
	dt, _ := debugToken(t, z, "prog-dbg")
	for _, tc := range []struct {
		name string
		zone string
		args []string
		want []string
	}{
		{"BadDebugToken", z.URL, []string{"prog-dbg", "--debug-token", "ozdbg_wrong"}, []string{"errcode 40058", "debug_token", "ozdbg_wron…"}},
		{"UnknownProgram", z.URL, []string{"prog-nope", "--debug-token", dt}, []string{"errcode 404", "prog-nope"}},
		{"BadAdminToken", z.URL, []string{"prog-dbg", "--debug-token", dt, "--admin-token", "wrong"}, []string{"errcode 401", "admin token"}},
		{"ZoneUnreachable", fmt.Sprintf("http://127.0.0.1:%d", freePort(t)), []string{"prog-dbg", "--debug-token", dt}, []string{"cannot reach the zone", "refused"}},
		{"NoForwardTo", z.URL, []string{"prog-dbg", "--debug-token", dt, "--forward-to", ""}, []string{"--forward-to is required"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"debug", "listen", "--zone", tc.zone, "--forward-to", "http://127.0.0.1:1/"}, tc.args...)
			cmd := exec.Command(testenv.CLI(t), args...)
			cmd.Env = append(os.Environ(), "OPENZONE_ADMIN_TOKEN="+z.AdminToken(), "OPENZONE_DEBUG_TOKEN=")
			out, err := cmd.CombinedOutput()
			if err == nil || cmd.ProcessState.ExitCode() == 0 {
				t.Fatalf("exit 0; output:\n%s", out)
			}
			for _, w := range tc.want {
				if !strings.Contains(string(out), w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
			if strings.Contains(string(out), dt) {
				t.Errorf("output shows the debug credential:\n%s", out)
			}
		})
	}
}

// TestDebugListen_OneAtATime: a second listener for a program is refused
// while the first lives, saying which one and what to do; --force takes the
// program over, and the first stops (not reconnects), saying who replaced
// it.
func TestDebugListen_OneAtATime(t *testing.T) {
	z := testenv.Start(t, testenv.Options{Seed: listenSeed})
	first := startListen(t, z, "prog-dbg", "--forward-to", "http://127.0.0.1:1/")
	testenv.Eventually(t, "the first listener to connect", func() bool { return first.count("connected") == 1 })
	firstID := getPage(t, z, "prog-dbg").Listener.ID

	second := startListen(t, z, "prog-dbg", "--forward-to", "http://127.0.0.1:1/")
	if code := second.wait(); code == 0 {
		t.Fatal("the second listener was not refused")
	}
	for _, want := range []string{"already has a debug listener", firstID, "--force"} {
		if !strings.Contains(second.stderr.String(), want) {
			t.Errorf("the refusal lacks %q:\n%s", want, second.stderr.String())
		}
	}
	if p := getPage(t, z, "prog-dbg"); p.Listener.ID != firstID || p.Listener.State != openzone.ListenerConnected {
		t.Fatalf("the refused listener disturbed the first: %+v", p.Listener)
	}

	forced := startListen(t, z, "prog-dbg", "--forward-to", "http://127.0.0.1:1/", "--force")
	testenv.Eventually(t, "the forced listener to connect", func() bool { return forced.count("connected") == 1 })
	if code := first.wait(); code == 0 {
		t.Fatal("the replaced listener exited 0")
	}
	if s := first.stderr.String(); !strings.Contains(s, "replaced by listener") || !strings.Contains(s, "stopping") {
		t.Errorf("the replaced listener does not say who replaced it:\n%s", s)
	}
	if first.count("connected") != 1 {
		t.Errorf("the replaced listener reconnected: %+v", first.snapshot())
	}
	if p := getPage(t, z, "prog-dbg"); p.Listener.ID == firstID || p.Listener.State != openzone.ListenerConnected {
		t.Fatalf("after the takeover: %+v", p.Listener)
	}
}

// TestDebugListen_ZoneStops: a zone that stops records its listeners lost,
// and the CLI stays up, saying it reconnects.
func TestDebugListen_ZoneStops(t *testing.T) {
	z := testenv.Start(t, testenv.Options{Seed: listenSeed})
	l := startListen(t, z, "prog-dbg", "--forward-to", "http://127.0.0.1:1/")
	testenv.Eventually(t, "the listener to connect", func() bool { return l.count("connected") == 1 })
	z.Restart()
	page := getPage(t, z, "prog-dbg")
	if page.Listener == nil || page.Listener.State != openzone.ListenerLost || page.Listener.Reason != "the zone is shutting down" {
		t.Fatalf("listener after the zone stopped = %+v", page.Listener)
	}
	testenv.Eventually(t, "the CLI to say it reconnects", func() bool {
		s := l.stderr.String()
		return strings.Contains(s, "listener lost: the zone closed the listener: the zone is shutting down") && strings.Contains(s, "reconnecting in")
	})
	if l.cmd.ProcessState != nil {
		t.Fatalf("the CLI exited: %s", l.stderr.String())
	}
}
