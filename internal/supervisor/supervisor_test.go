//go:build unix

package supervisor_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/openzone/openzone"
	"github.com/openzone/openzone/internal/supervisor"
)

// binDir holds the tinyprog binary built once by TestMain.
var binDir string

func TestMain(m *testing.M) {
	os.Exit(func() int {
		dir, err := os.MkdirTemp("", "supervisor-test-")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer os.RemoveAll(dir)
		build := exec.Command("go", "build", "-o", filepath.Join(dir, "tinyprog"), "./testdata/tinyprog")
		build.Stdout, build.Stderr = os.Stdout, os.Stderr
		if err := build.Run(); err != nil {
			fmt.Fprintln(os.Stderr, "build tinyprog:", err)
			return 1
		}
		// Readable by others: a root zone runs sandboxed programs as an
		// unprivileged uid.
		os.Chmod(dir, 0o755)
		binDir = dir
		return m.Run()
	}())
}

const (
	pollDeadline = 10 * time.Second
	zoneURL      = "http://127.0.0.1:8780"
	secret       = "1:c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LTMyYg=="
)

// newSupervisor returns a Supervisor with fast health checks, shut down when the
// test ends.
func newSupervisor(t *testing.T, cfg supervisor.Config) *supervisor.Supervisor {
	t.Helper()
	if cfg.HealthInterval == 0 {
		cfg.HealthInterval = 50 * time.Millisecond
	}
	if cfg.ZoneURL == "" {
		cfg.ZoneURL = zoneURL
	}
	if cfg.PickWait == 0 {
		cfg.PickWait = pollDeadline
	}
	rt := supervisor.New(cfg)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), pollDeadline)
		defer cancel()
		rt.Shutdown(ctx)
	})
	return rt
}

// tinySpec deploys tinyprog by a path relative to Dir.
func tinySpec(id string, instances int, env ...string) supervisor.Spec {
	return supervisor.Spec{
		ProgramID: id,
		Command:   []string{"./tinyprog"},
		Instances: instances,
		Dir:       binDir,
		Secret:    secret,
		ExtraEnv:  env,
	}
}

func deploy(t *testing.T, rt *supervisor.Supervisor, spec supervisor.Spec) {
	t.Helper()
	if err := rt.Deploy(context.Background(), spec); err != nil {
		t.Fatalf("Deploy(%s): %v", spec.ProgramID, err)
	}
}

// waitFor polls cond until it holds or the poll deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(pollDeadline)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// waitHealthy waits until the program has n instances, all healthy, and
// returns them.
func waitHealthy(t *testing.T, rt *supervisor.Supervisor, id string, n int) []supervisor.InstanceStatus {
	t.Helper()
	var st []supervisor.InstanceStatus
	waitFor(t, fmt.Sprintf("%d healthy instances of %s", n, id), func() bool {
		st = rt.Instances(id)
		if len(st) != n {
			return false
		}
		for _, s := range st {
			if s.State != supervisor.StateHealthy {
				return false
			}
		}
		return true
	})
	return st
}

type info struct {
	ProgramID  string `json:"program_id"`
	PID        int    `json:"pid"`
	ChildPID   int    `json:"child_pid"`
	API        string `json:"api"`
	Secret     string `json:"secret"`
	Port       string `json:"port"`
	Extra      string `json:"extra"`
	AdminToken bool   `json:"admin_token"`
	Cwd        string `json:"cwd"`
}

var client = &http.Client{Timeout: 5 * time.Second}

func getInfo(base string) (info, error) {
	var in info
	resp, err := client.Get(base + "/")
	if err != nil {
		return in, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return in, fmt.Errorf("GET %s/: %s", base, resp.Status)
	}
	return in, json.NewDecoder(resp.Body).Decode(&in)
}

func mustInfo(t *testing.T, base string) info {
	t.Helper()
	in, err := getInfo(base)
	if err != nil {
		t.Fatal(err)
	}
	return in
}

// get fetches base+path, ignoring the outcome (used for /crash, whose
// connection dies with the process).
func get(base, path string) {
	resp, err := client.Get(base + path)
	if err == nil {
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
}

// alive reports whether pid is a live (not zombie) process.
func alive(pid int) bool {
	if pid <= 0 || syscall.Kill(pid, 0) != nil {
		return false
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return !os.IsNotExist(err)
	}
	i := bytes.LastIndexByte(b, ')')
	return !(i >= 0 && i+2 < len(b) && b[i+2] == 'Z')
}

func waitDead(t *testing.T, pids ...int) {
	t.Helper()
	for _, pid := range pids {
		waitFor(t, fmt.Sprintf("pid %d to die", pid), func() bool { return !alive(pid) })
	}
}

func hasLine(lines []supervisor.LogLine, stream, substr string) bool {
	for _, l := range lines {
		if l.Stream == stream && strings.Contains(l.Text, substr) {
			return true
		}
	}
	return false
}

func TestSupervisor_DeployPickRoundRobin(t *testing.T) {
	rt := newSupervisor(t, supervisor.Config{})
	deploy(t, rt, tinySpec("prog-echo", 2))
	st := waitHealthy(t, rt, "prog-echo", 2)

	for i, s := range st {
		if want := fmt.Sprintf("prog-echo#%d", i+1); s.Name != want {
			t.Errorf("instance %d name = %q, want %q", i, s.Name, want)
		}
		if !strings.HasPrefix(s.URL, "http://127.0.0.1:") || s.PID == 0 || s.Restarts != 0 || s.StartedAt.IsZero() {
			t.Errorf("instance %d = %+v", i, s)
		}
		got := mustInfo(t, s.URL)
		if got.ProgramID != "prog-echo" || got.PID != s.PID {
			t.Errorf("%s answered program %q pid %d, want prog-echo pid %d", s.Name, got.ProgramID, got.PID, s.PID)
		}
	}
	if st[0].URL == st[1].URL {
		t.Fatalf("both instances on %s", st[0].URL)
	}

	var names []string
	for range 4 {
		inst, ok, err := rt.Pick(context.Background(), "prog-echo")
		if !ok || err != nil {
			t.Fatalf("Pick = %v, %v", ok, err)
		}
		if inst.ProgramID != "prog-echo" {
			t.Errorf("Pick program = %q", inst.ProgramID)
		}
		names = append(names, inst.Name)
	}
	if names[0] == names[1] || names[0] != names[2] || names[1] != names[3] {
		t.Errorf("Pick sequence %v is not round-robin", names)
	}

	waitFor(t, "start lines of both instances", func() bool {
		logs := rt.Logs("prog-echo", 0)
		for _, s := range st {
			pid := fmt.Sprintf("pid=%d", s.PID)
			if !hasLine(logs, supervisor.StreamStdout, "stdout hello "+pid) ||
				!hasLine(logs, supervisor.StreamStderr, "stderr hello "+pid) ||
				!hasLine(logs, supervisor.StreamZone, fmt.Sprintf("started pid %d", s.PID)) {
				return false
			}
		}
		return true
	})
}

func TestSupervisor_Env(t *testing.T) {
	rt := newSupervisor(t, supervisor.Config{
		BaseEnv: append(os.Environ(), "OPENZONE_ADMIN_TOKEN=top-secret"),
	})
	deploy(t, rt, tinySpec("prog-env", 1, "TINY_EXTRA=extra-value", "PORT=1"))
	st := waitHealthy(t, rt, "prog-env", 1)
	got := mustInfo(t, st[0].URL)
	u, err := url.Parse(st[0].URL)
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name      string
		got, want any
	}{
		{"OPENZONE_API", got.API, zoneURL},
		{"OPENZONE_PROGRAM_ID", got.ProgramID, "prog-env"},
		{"OPENZONE_SECRET", got.Secret, secret},
		{"PORT", got.Port, u.Port()},
		{"ExtraEnv", got.Extra, "extra-value"},
		{"OPENZONE_ADMIN_TOKEN not inherited", got.AdminToken, false},
		{"working directory", evalSymlinks(t, got.Cwd), evalSymlinks(t, binDir)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got != tt.want {
				t.Errorf("got %v, want %v", tt.got, tt.want)
			}
		})
	}
}

func evalSymlinks(t *testing.T, path string) string {
	t.Helper()
	p, err := filepath.EvalSymlinks(path)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestSupervisor_CrashRestart(t *testing.T) {
	rt := newSupervisor(t, supervisor.Config{})
	deploy(t, rt, tinySpec("prog-crash", 2))
	before := waitHealthy(t, rt, "prog-crash", 2)

	get(before[0].URL, "/crash")

	// Callers keep being served while #1 restarts: Pick either waits or
	// picks #2, and an instance that refuses the connection is marked
	// unhealthy (as the gateway does) and another one picked.
	restarted := func() bool {
		s := rt.Instances("prog-crash")[0]
		return s.Restarts == 1 && s.State == supervisor.StateHealthy && s.PID != before[0].PID
	}
	for i := 0; !restarted() || i < 20; i++ {
		served := false
		for attempt := 0; attempt < 5 && !served; attempt++ {
			inst, ok, err := rt.Pick(context.Background(), "prog-crash")
			if !ok || err != nil {
				t.Fatalf("Pick during restart = %v, %v", ok, err)
			}
			if _, err := getInfo(inst.URL); err != nil {
				rt.MarkUnhealthy(inst)
				continue
			}
			served = true
		}
		if !served {
			t.Fatal("no instance served a call during the restart")
		}
		if i > 2000 {
			t.Fatal("instance #1 was not restarted")
		}
		time.Sleep(5 * time.Millisecond)
	}

	after := rt.Instances("prog-crash")
	if got := after[0]; got.LastExit != "exit status 3" || got.PID == before[0].PID {
		t.Errorf("restarted #1 = %+v", got)
	}
	if got := mustInfo(t, after[0].URL); got.PID != after[0].PID {
		t.Errorf("#1 answers as pid %d, want %d", got.PID, after[0].PID)
	}
	if after[1].Restarts != 0 || after[1].PID != before[1].PID {
		t.Errorf("#2 was disturbed: %+v", after[1])
	}
	waitDead(t, before[0].PID)

	logs := rt.Logs("prog-crash", 0)
	for _, want := range []struct{ stream, text string }{
		{supervisor.StreamStdout, "tinyprog crashing"},
		{supervisor.StreamZone, fmt.Sprintf("pid %d exited with status 3", before[0].PID)},
		{supervisor.StreamZone, "restarting in"},
		{supervisor.StreamZone, fmt.Sprintf("started pid %d", after[0].PID)},
	} {
		if !hasLine(logs, want.stream, want.text) {
			t.Errorf("logs lack %s line %q", want.stream, want.text)
		}
	}
}

func TestSupervisor_PickWaitsForRestart(t *testing.T) {
	rt := newSupervisor(t, supervisor.Config{})
	deploy(t, rt, tinySpec("prog-one", 1))
	before := waitHealthy(t, rt, "prog-one", 1)

	get(before[0].URL, "/crash")
	for attempt := 0; ; attempt++ {
		inst, ok, err := rt.Pick(context.Background(), "prog-one")
		if !ok || err != nil {
			t.Fatalf("Pick while the only instance restarts = %v, %v", ok, err)
		}
		got, err := getInfo(inst.URL)
		if err == nil {
			if got.PID == before[0].PID {
				t.Fatalf("crashed pid %d still answers", got.PID)
			}
			break
		}
		if attempt > 100 {
			t.Fatalf("no call served after the crash: %v", err)
		}
		rt.MarkUnhealthy(inst) // the crash may not be noticed yet
	}
}

func TestSupervisor_Pick(t *testing.T) {
	rt := newSupervisor(t, supervisor.Config{PickWait: 200 * time.Millisecond})
	deploy(t, rt, tinySpec("prog-deaf", 1, "TINYPROG_NO_LISTEN=1"))
	waitFor(t, "prog-deaf to start", func() bool {
		st := rt.Instances("prog-deaf")
		return len(st) == 1 && st[0].PID != 0
	})

	t.Run("ErrNoHealthyInstance", func(t *testing.T) {
		_, ok, err := rt.Pick(context.Background(), "prog-deaf")
		if !ok || !errors.Is(err, supervisor.ErrNoHealthyInstance) || openzone.ErrorCode(err) != openzone.ErrCallProgram {
			t.Fatalf("Pick = %v, %v; want ok and ErrNoHealthyInstance (%d)", ok, err, openzone.ErrCallProgram)
		}
		if st := rt.Instances("prog-deaf")[0]; st.State != supervisor.StateStarting {
			t.Errorf("state = %q, want %q", st.State, supervisor.StateStarting)
		}
	})
	t.Run("ContextDone", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, ok, err := rt.Pick(ctx, "prog-deaf")
		if !ok || !errors.Is(err, supervisor.ErrNoHealthyInstance) || !errors.Is(err, context.Canceled) {
			t.Fatalf("Pick = %v, %v", ok, err)
		}
	})
	t.Run("NotDeployed", func(t *testing.T) {
		_, ok, err := rt.Pick(context.Background(), "prog-nowhere")
		if ok || err != nil {
			t.Fatalf("Pick = %v, %v; want not ok, nil", ok, err)
		}
	})
}

func TestSupervisor_MarkUnhealthy(t *testing.T) {
	t.Run("AvoidedByPick", func(t *testing.T) {
		rt := newSupervisor(t, supervisor.Config{HealthInterval: time.Hour}) // no check comes to restore it
		deploy(t, rt, tinySpec("prog-mark", 2))
		waitHealthy(t, rt, "prog-mark", 2)
		first, _, err := rt.Pick(context.Background(), "prog-mark")
		if err != nil {
			t.Fatal(err)
		}
		rt.MarkUnhealthy(first)
		for range 3 {
			inst, ok, err := rt.Pick(context.Background(), "prog-mark")
			if !ok || err != nil || inst.Name == first.Name {
				t.Fatalf("Pick = %+v, %v, %v; want the instance other than %s", inst, ok, err, first.Name)
			}
		}
		for _, s := range rt.Instances("prog-mark") {
			if want := map[bool]string{true: supervisor.StateUnhealthy, false: supervisor.StateHealthy}[s.Name == first.Name]; s.State != want {
				t.Errorf("%s state = %q, want %q", s.Name, s.State, want)
			}
		}
	})
	t.Run("RestoredByHealthCheck", func(t *testing.T) {
		rt := newSupervisor(t, supervisor.Config{})
		deploy(t, rt, tinySpec("prog-mark", 1))
		waitHealthy(t, rt, "prog-mark", 1)
		inst, _, err := rt.Pick(context.Background(), "prog-mark")
		if err != nil {
			t.Fatal(err)
		}
		rt.MarkUnhealthy(inst)
		waitHealthy(t, rt, "prog-mark", 1)
		waitFor(t, "the recovery in the logs", func() bool {
			return hasLine(rt.Logs("prog-mark", 0), supervisor.StreamZone, "healthy again")
		})
	})
}

func pids(st []supervisor.InstanceStatus) []int {
	var out []int
	for _, s := range st {
		out = append(out, s.PID)
	}
	return out
}

func TestSupervisor_Reconcile(t *testing.T) {
	rt := newSupervisor(t, supervisor.Config{})
	deploy(t, rt, tinySpec("prog-scale", 2))
	two := waitHealthy(t, rt, "prog-scale", 2)

	t.Run("IdenticalSpecIsNoop", func(t *testing.T) {
		deploy(t, rt, tinySpec("prog-scale", 2))
		if got := pids(waitHealthy(t, rt, "prog-scale", 2)); got[0] != two[0].PID || got[1] != two[1].PID {
			t.Errorf("pids %v, want %v", got, pids(two))
		}
	})
	t.Run("ScaleDown", func(t *testing.T) {
		deploy(t, rt, tinySpec("prog-scale", 1))
		one := rt.Instances("prog-scale")
		if len(one) != 1 || one[0].Name != "prog-scale#1" || one[0].PID != two[0].PID {
			t.Fatalf("after scale down: %+v", one)
		}
		waitDead(t, two[1].PID)
	})
	t.Run("ScaleUp", func(t *testing.T) {
		deploy(t, rt, tinySpec("prog-scale", 2))
		st := waitHealthy(t, rt, "prog-scale", 2)
		if st[0].PID != two[0].PID || st[1].PID == two[1].PID || st[1].Name != "prog-scale#2" {
			t.Fatalf("after scale up: %+v", st)
		}
		two = st
	})
	t.Run("ChangedEnvReplaces", func(t *testing.T) {
		deploy(t, rt, tinySpec("prog-scale", 2, "TINY_EXTRA=v2"))
		st := waitHealthy(t, rt, "prog-scale", 2)
		for i, s := range st {
			if s.PID == two[i].PID {
				t.Errorf("%s kept pid %d", s.Name, s.PID)
			}
			if got := mustInfo(t, s.URL); got.Extra != "v2" {
				t.Errorf("%s TINY_EXTRA = %q", s.Name, got.Extra)
			}
		}
		waitDead(t, pids(two)...)
		two = st
	})
	t.Run("ChangedSecretReplaces", func(t *testing.T) {
		spec := tinySpec("prog-scale", 2, "TINY_EXTRA=v2")
		spec.Secret = "2:bmV3LXNlY3JldA=="
		deploy(t, rt, spec)
		st := waitHealthy(t, rt, "prog-scale", 2)
		if got := mustInfo(t, st[0].URL); got.Secret != spec.Secret {
			t.Errorf("OPENZONE_SECRET = %q, want %q", got.Secret, spec.Secret)
		}
		waitDead(t, pids(two)...)
		two = st
	})
	t.Run("CommandToURL", func(t *testing.T) {
		deploy(t, rt, supervisor.Spec{ProgramID: "prog-scale", URL: "http://10.0.0.7:8080"})
		st := rt.Instances("prog-scale")
		if len(st) != 1 || st[0].URL != "http://10.0.0.7:8080" || st[0].PID != 0 {
			t.Fatalf("after switch to URL: %+v", st)
		}
		waitDead(t, pids(two)...)
	})
}

func TestSupervisor_URL(t *testing.T) {
	rt := newSupervisor(t, supervisor.Config{})
	const target = "http://192.0.2.10:8080"
	deploy(t, rt, supervisor.Spec{ProgramID: "prog-remote", URL: target, Instances: 3})

	want := supervisor.InstanceStatus{Name: "prog-remote#1", URL: target, State: supervisor.StateHealthy}
	if st := rt.Instances("prog-remote"); len(st) != 1 || st[0] != want {
		t.Fatalf("Instances = %+v, want [%+v]", st, want)
	}
	inst, ok, err := rt.Pick(context.Background(), "prog-remote")
	if !ok || err != nil || inst != (supervisor.Instance{ProgramID: "prog-remote", Name: "prog-remote#1", URL: target, External: true}) {
		t.Fatalf("Pick = %+v, %v, %v", inst, ok, err)
	}
	rt.MarkUnhealthy(inst) // not health-checked, so never taken out
	if _, ok, err := rt.Pick(context.Background(), "prog-remote"); !ok || err != nil {
		t.Fatalf("Pick after MarkUnhealthy = %v, %v", ok, err)
	}
	if err := rt.Undeploy("prog-remote"); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := rt.Pick(context.Background(), "prog-remote"); ok {
		t.Fatal("Pick after Undeploy found the program")
	}
}

func TestSupervisor_Undeploy(t *testing.T) {
	rt := newSupervisor(t, supervisor.Config{})
	deploy(t, rt, tinySpec("prog-gone", 2, "TINYPROG_SPAWN=1"))
	st := waitHealthy(t, rt, "prog-gone", 2)
	var all []int
	for _, s := range st {
		got := mustInfo(t, s.URL)
		if got.ChildPID == 0 || !alive(got.ChildPID) {
			t.Fatalf("%s child pid %d not running", s.Name, got.ChildPID)
		}
		all = append(all, s.PID, got.ChildPID)
	}

	if err := rt.Undeploy("prog-gone"); err != nil {
		t.Fatal(err)
	}
	for _, s := range st {
		if alive(s.PID) {
			t.Errorf("pid %d of %s alive after Undeploy returned", s.PID, s.Name)
		}
	}
	waitDead(t, all...) // children of the group included
	if _, ok, _ := rt.Pick(context.Background(), "prog-gone"); ok {
		t.Error("Pick found an undeployed program")
	}
	if st := rt.Instances("prog-gone"); st != nil {
		t.Errorf("Instances = %+v", st)
	}
	if logs := rt.Logs("prog-gone", 0); !hasLine(logs, supervisor.StreamZone, "undeployed") {
		t.Error("logs of the undeployed program are gone or lack the undeployed line")
	}
	if err := rt.Undeploy("prog-gone"); err != nil {
		t.Errorf("second Undeploy: %v", err)
	}
}

func TestSupervisor_Shutdown(t *testing.T) {
	rt := newSupervisor(t, supervisor.Config{})
	deploy(t, rt, tinySpec("prog-a", 2))
	deploy(t, rt, tinySpec("prog-stubborn", 1, "TINYPROG_IGNORE_TERM=1", "TINYPROG_SPAWN=1"))
	var all []int
	for _, s := range waitHealthy(t, rt, "prog-a", 2) {
		all = append(all, s.PID)
	}
	st := waitHealthy(t, rt, "prog-stubborn", 1)
	all = append(all, st[0].PID, mustInfo(t, st[0].URL).ChildPID)

	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if err := rt.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Shutdown with a SIGTERM-ignoring program = %v, want %v", err, context.DeadlineExceeded)
	}
	waitDead(t, all...)
	if err := rt.Shutdown(context.Background()); err != nil {
		t.Errorf("second Shutdown = %v", err)
	}
	if err := rt.Deploy(context.Background(), tinySpec("prog-late", 1)); !errors.Is(err, supervisor.ErrClosed) {
		t.Errorf("Deploy after Shutdown = %v, want ErrClosed", err)
	}
	if _, ok, _ := rt.Pick(context.Background(), "prog-a"); ok {
		t.Error("Pick after Shutdown found a program")
	}
	if !hasLine(rt.Logs("prog-stubborn", 0), supervisor.StreamZone, "exited: signal: killed") {
		t.Error("logs lack the kill of the SIGTERM-ignoring program")
	}
}

func TestSupervisor_BindRace(t *testing.T) {
	rt := newSupervisor(t, supervisor.Config{})
	mark := filepath.Join(t.TempDir(), "lost-bind-once")
	deploy(t, rt, tinySpec("prog-race", 1, "TINYPROG_BINDFAIL_MARK="+mark))
	st := waitHealthy(t, rt, "prog-race", 1)
	if st[0].Restarts != 0 {
		t.Errorf("restarts = %d; a lost bind race should not count", st[0].Restarts)
	}
	logs := rt.Logs("prog-race", 0)
	if !hasLine(logs, supervisor.StreamStderr, "address already in use") || !hasLine(logs, supervisor.StreamZone, "starting again on a new port") {
		t.Errorf("logs lack the bind retry: %+v", logs)
	}
}

func TestSupervisor_StartFailure(t *testing.T) {
	rt := newSupervisor(t, supervisor.Config{
		Backoff:  func(int) time.Duration { return 20 * time.Millisecond },
		PickWait: 200 * time.Millisecond,
	})
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "not-executable"), []byte("hello"), 0o644); err != nil {
		t.Fatal(err)
	}
	deploy(t, rt, supervisor.Spec{ProgramID: "prog-broken", Command: []string{"./not-executable"}, Dir: dir})
	waitFor(t, "restarts of the broken instance", func() bool {
		st := rt.Instances("prog-broken")
		return len(st) == 1 && st[0].Restarts >= 2 && st[0].PID == 0 &&
			strings.HasPrefix(st[0].LastExit, "start failed:")
	})
	if !hasLine(rt.Logs("prog-broken", 0), supervisor.StreamZone, "start failed:") {
		t.Error("logs lack the start failure")
	}
	if _, ok, err := rt.Pick(context.Background(), "prog-broken"); !ok || !errors.Is(err, supervisor.ErrNoHealthyInstance) {
		t.Errorf("Pick = %v, %v", ok, err)
	}
}

func TestSupervisor_Logs(t *testing.T) {
	dir := t.TempDir()
	rt := newSupervisor(t, supervisor.Config{LogDir: dir, LogLines: 500})
	deploy(t, rt, tinySpec("prog-log", 1))
	st := waitHealthy(t, rt, "prog-log", 1)

	t.Run("LongLineSplit", func(t *testing.T) {
		const n = 150_000
		get(st[0].URL, fmt.Sprintf("/long?n=%d", n))
		var pieces []int
		waitFor(t, "the long line", func() bool {
			pieces = pieces[:0]
			total := 0
			for _, l := range rt.Logs("prog-log", 0) {
				if l.Stream == supervisor.StreamStdout && strings.HasPrefix(l.Text, "xxx") {
					pieces = append(pieces, len(l.Text))
					total += len(l.Text)
				}
			}
			return total == n
		})
		for _, p := range pieces {
			if p > 64*1024 {
				t.Errorf("piece of %d bytes, want at most 64 KiB", p)
			}
		}
		if len(pieces) != 3 {
			t.Errorf("pieces %v, want 3", pieces)
		}
	})
	t.Run("BoundedRingNeverBlocks", func(t *testing.T) {
		get(st[0].URL, "/spam?lines=5000&size=1000") // 5 MB: answers only if its output is drained
		waitFor(t, "the last spam line", func() bool {
			return hasLine(rt.Logs("prog-log", 0), supervisor.StreamStdout, "4999 sss")
		})
		if got := len(rt.Logs("prog-log", 0)); got != 500 {
			t.Errorf("kept %d lines, want 500", got)
		}
		if got := len(rt.Logs("prog-log", 10)); got != 10 {
			t.Errorf("tail 10 gave %d lines", got)
		}
	})
	t.Run("File", func(t *testing.T) {
		if err := rt.Undeploy("prog-log"); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(filepath.Join(dir, "prog-log.log"))
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{
			" prog-log#1 stdout tinyprog stdout hello",
			" prog-log#1 stderr tinyprog stderr hello",
			fmt.Sprintf(" prog-log#1 zone started pid %d", st[0].PID),
			" prog-log#1 stdout 4999 sss",
			" - zone undeployed",
		} {
			if !bytes.Contains(b, []byte(want)) {
				t.Errorf("log file lacks %q", want)
			}
		}
	})
}

func TestSupervisor_DeployInvalid(t *testing.T) {
	rt := newSupervisor(t, supervisor.Config{})
	tests := []struct {
		name string
		spec supervisor.Spec
	}{
		{"ErrNoProgramID", supervisor.Spec{Command: []string{"./tinyprog"}, Dir: binDir}},
		{"ErrCommandAndURL", supervisor.Spec{ProgramID: "p", Command: []string{"./tinyprog"}, Dir: binDir, URL: "http://127.0.0.1:1"}},
		{"ErrNegativeInstances", supervisor.Spec{ProgramID: "p", Command: []string{"./tinyprog"}, Dir: binDir, Instances: -1}},
		{"ErrCommandNotFound", supervisor.Spec{ProgramID: "p", Command: []string{"./no-such-program"}, Dir: binDir}},
		{"ErrCommandNotInPath", supervisor.Spec{ProgramID: "p", Command: []string{"openzone-no-such-program"}}},
		{"ErrBadURL", supervisor.Spec{ProgramID: "p", URL: "ftp://example.com"}},
		{"ErrBadEnv", supervisor.Spec{ProgramID: "p", Command: []string{"./tinyprog"}, Dir: binDir, ExtraEnv: []string{"NOEQUALS"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := rt.Deploy(context.Background(), tt.spec)
			if openzone.ErrorCode(err) != openzone.ErrInvalidParam {
				t.Fatalf("Deploy = %v, want errcode %d", err, openzone.ErrInvalidParam)
			}
			if st := rt.Instances(tt.spec.ProgramID); st != nil {
				t.Errorf("Instances = %+v after a failed Deploy", st)
			}
		})
	}
	t.Run("EmptySpecUndeploys", func(t *testing.T) {
		deploy(t, rt, supervisor.Spec{ProgramID: "p-empty", URL: "http://127.0.0.1:1"})
		deploy(t, rt, supervisor.Spec{ProgramID: "p-empty"})
		if st := rt.Instances("p-empty"); st != nil {
			t.Errorf("Instances = %+v", st)
		}
	})
}

func TestDefaultBackoff(t *testing.T) {
	tests := []struct {
		restarts int
		want     time.Duration
	}{
		{1, 100 * time.Millisecond},
		{2, 200 * time.Millisecond},
		{3, 400 * time.Millisecond},
		{7, 6400 * time.Millisecond},
		{8, 10 * time.Second},
		{100, 10 * time.Second},
	}
	for _, tt := range tests {
		if got := supervisor.DefaultBackoff(tt.restarts); got != tt.want {
			t.Errorf("DefaultBackoff(%d) = %v, want %v", tt.restarts, got, tt.want)
		}
	}
}
