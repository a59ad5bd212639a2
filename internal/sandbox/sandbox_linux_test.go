package sandbox_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/openzone/openzone/internal/sandbox"
	"github.com/openzone/openzone/internal/sandbox/sandboxtest"
)

// prog is the test program (testdata/sbxprog), built once.
var prog string

// envProg hands the built test program to this test binary run again as
// another user (TestSandbox_Rootless), which cannot build it.
const envProg = "OPENZONE_SANDBOX_TEST_PROG"

func TestMain(m *testing.M) {
	if prog = os.Getenv(envProg); prog != "" {
		os.Exit(m.Run())
	}
	os.Exit(func() int {
		dir, err := os.MkdirTemp("", "sandbox-test-")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer os.RemoveAll(dir)
		// Readable by others: a root zone runs programs as an unprivileged uid.
		os.Chmod(dir, 0o755)
		prog = filepath.Join(dir, "sbxprog")
		// Static: it runs alone in an image too.
		build := exec.Command("go", "build", "-o", prog, "./testdata/sbxprog")
		build.Env = append(os.Environ(), "CGO_ENABLED=0")
		build.Stdout, build.Stderr = os.Stdout, os.Stderr
		if err := build.Run(); err != nil {
			fmt.Fprintln(os.Stderr, "build sbxprog:", err)
			return 1
		}
		return m.Run()
	}())
}

// instance is a sandboxed run of sbxprog under test.
type instance struct {
	run  *sandbox.Run
	cmd  *exec.Cmd
	out  *os.File // the program's output (and the init's)
	done chan struct{}
	http *http.Client

	mu    sync.Mutex
	lines []string // the zone's lines about the run (LogFunc)
}

// logged reports whether the zone logged a line about the run holding s.
func (in *instance) logged(s string) bool {
	in.mu.Lock()
	defer in.mu.Unlock()
	return slices.ContainsFunc(in.lines, func(l string) bool { return strings.Contains(l, s) })
}

// output returns what the instance wrote so far.
func (in *instance) output() string {
	b, _ := os.ReadFile(in.out.Name())
	return string(b)
}

func newManager(t *testing.T, api http.Handler) *sandbox.Manager {
	t.Helper()
	m := sandbox.New(sandbox.Config{DataDir: t.TempDir(), API: api})
	sandboxtest.Require(t, m)
	t.Cleanup(m.Close)
	return m
}

// launch runs sbxprog in a sandbox the way the runtime does (the init in a
// process group of its own) and returns once the sandbox is set up, as the
// program starts.
func launch(t *testing.T, m *sandbox.Manager, programID, name string, spec sandbox.Spec, env ...string) *instance {
	t.Helper()
	env = append(env, "PORT=8080", "HOST=0.0.0.0", "OPENZONE_API="+sandbox.APIURL, "OPENZONE_INSTANCE="+name)
	in := &instance{done: make(chan struct{})}
	path := prog
	if spec.Image != "" {
		path = "/sbxprog" // alone in the image (TestSandbox_Image)
	}
	run, err := m.Prepare(sandbox.Request{ProgramID: programID, Instance: name, Spec: spec,
		Path: path, Args: []string{path}, Env: env, LogFunc: func(_ slog.Level, text string) {
			in.mu.Lock()
			in.lines = append(in.lines, text)
			in.mu.Unlock()
		}})
	if err != nil {
		t.Fatal(err)
	}
	out, err := os.Create(filepath.Join(t.TempDir(), "output"))
	if err != nil {
		t.Fatal(err)
	}
	in.run, in.out = run, out
	in.cmd = &exec.Cmd{Stdout: out, Stderr: out, SysProcAttr: &syscall.SysProcAttr{Setpgid: true}}
	run.Command(in.cmd)
	if err := in.cmd.Start(); err != nil {
		run.Close()
		t.Fatal(err)
	}
	go func() { in.cmd.Wait(); close(in.done) }()
	t.Cleanup(func() {
		in.cmd.Process.Kill()
		<-in.done
		run.Close()
	})
	if err := run.Start(in.cmd.Process.Pid); err != nil {
		t.Fatalf("sandbox start: %v\n%s", err, in.output())
	}
	return in
}

// start launches sbxprog in a sandbox and waits until it serves.
func start(t *testing.T, m *sandbox.Manager, programID, name string, spec sandbox.Spec, env ...string) *instance {
	t.Helper()
	in := launch(t, m, programID, name, spec, env...)
	run := in.run
	in.http = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) { return run.Dial(ctx) },
	}}
	deadline := time.Now().Add(10 * time.Second)
	for !run.Check() {
		if time.Now().After(deadline) {
			t.Fatalf("%s never listened on 8080:\n%s", name, in.output())
		}
		time.Sleep(10 * time.Millisecond)
	}
	return in
}

// do runs op on the instance (through Dial) and returns its result and
// error text.
func (in *instance) do(t *testing.T, op, arg string) (any, string) {
	t.Helper()
	resp, err := in.http.Get("http://instance/do?op=" + op + "&arg=" + url.QueryEscape(arg))
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", op, arg, err, in.output())
	}
	defer resp.Body.Close()
	var v struct {
		Result any
		Err    string
	}
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
		t.Fatalf("%s %s: %v", op, arg, err)
	}
	return v.Result, v.Err
}

func TestSandbox_Isolation(t *testing.T) {
	m := newManager(t, pingAPI())
	in := start(t, m, "prog-a", "prog-a#1", sandbox.Spec{}, "SBX_EXTRA=x")

	res, _ := in.do(t, "whoami", "")
	who := res.(map[string]any)
	if who["uid"] != float64(sandbox.ProgramUID) || who["gid"] != float64(sandbox.ProgramUID) {
		t.Errorf("uid/gid = %v/%v, want %d", who["uid"], who["gid"], sandbox.ProgramUID)
	}
	if pid, _ := who["pid"].(float64); who["ppid"] != float64(1) || pid > 100 {
		t.Errorf("pid %v ppid %v: want a child of the sandbox's init, pid 1 (own PID namespace)", who["pid"], who["ppid"])
	}
	if who["hostname"] != "prog-a-1" || who["cwd"] != sandbox.DataPath || who["api"] != sandbox.APIURL || who["extra"] != "x" {
		t.Errorf("whoami = %v", who)
	}
	checkSealed(t, m, in, "prog-a", "prog-a#1", op{"HostRootReadOnly", "write", "/etc/openzone-sandbox-test", "read-only file system"})
}

// TestSandbox_Image runs sbxprog alone in an image (a static binary in an
// otherwise empty filesystem) through the OCI runtime: sealed as a command
// is, its attempts recorded as a command's are.
func TestSandbox_Image(t *testing.T) {
	m := newManager(t, pingAPI())
	sandboxtest.RequireRuntime(t, m)
	b, err := os.ReadFile(prog)
	if err != nil {
		t.Fatal(err)
	}
	tarball := filepath.Join(t.TempDir(), "image.tar")
	sandboxtest.Tar(t, tarball, "", map[string][]byte{"sbxprog": b}, "sbxprog")
	digest, err := m.Image(tarball)
	if err != nil {
		t.Fatal(err)
	}
	in := start(t, m, "prog-img", "prog-img#1", sandbox.Spec{Image: digest})
	res, _ := in.do(t, "whoami", "")
	if who := res.(map[string]any); who["uid"] != float64(0) || who["hostname"] != "prog-img-1" || who["api"] != sandbox.APIURL {
		t.Errorf("whoami = %v, want the image's root in prog-img-1", who)
	}
	checkSealed(t, m, in, "prog-img", "prog-img#1", op{"HostFiles", "read", "/etc/passwd", "no such file"})
}

// op is something a test asks sbxprog to do, and what should come of it.
type op struct {
	name, op, arg string
	wantErr       string // substring; "" wants success
}

func pingAPI() http.Handler {
	api := http.NewServeMux()
	api.HandleFunc("/spec/v1/ping", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "pong") })
	return api
}

// checkSealed checks what a sandboxed instance can reach (the program API,
// itself, /mnt/data, /tmp) and what it cannot (anything else), the more
// ops, and that its attempts are recorded.
func checkSealed(t *testing.T, m *sandbox.Manager, in *instance, programID, instance string, more ...op) {
	t.Helper()
	zone := zoneAddr(t)
	tests := append([]op{
		{"ProgramAPI", "fetch", sandbox.APIURL + "/spec/v1/ping", ""},
		{"HostLoopback", "connect", zone, "connection refused"},
		{"Itself", "connect", "127.0.0.1:8080", ""},
		{"Internet", "connect", "192.0.2.1:443", "network is unreachable"},
		{"DNS", "lookup", "example.com", "server misbehaving"},
		{"ZoneData", "read", filepath.Dir(m.DataDir(programID)), "no such file"},
		{"HostTmp", "read", t.TempDir(), "no such file"},
		{"WriteData", "write", "/mnt/data/hello", ""},
		{"WriteTmp", "write", "/tmp/x", ""},
	}, more...)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, e := in.do(t, tt.op, tt.arg)
			if tt.wantErr == "" && e != "" || tt.wantErr != "" && !strings.Contains(e, tt.wantErr) {
				t.Errorf("%s %s: err %q, want %q (result %v)", tt.op, tt.arg, e, tt.wantErr, got)
			}
		})
	}
	t.Run("APIOnly", func(t *testing.T) {
		got, _ := in.do(t, "fetch", sandbox.APIURL+"/cgi-bin/gettoken")
		if r, _ := got.(map[string]any); r["status"] != float64(http.StatusForbidden) {
			t.Errorf("GET /cgi-bin/gettoken from inside = %v, want 403", got)
		}
	})
	// The sandbox's init and the connect watch report attempts over the
	// control socket as they happen: wait for them rather than race them.
	wants := []string{"dns example.com A", "api GET /cgi-bin/gettoken", "connect " + zone, "connect 192.0.2.1:443"}
	var kinds []string
	var got string
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		st := m.Status(programID, instance, sandbox.Spec{})
		kinds = kinds[:0]
		for _, a := range st.Attempts {
			kinds = append(kinds, a.Kind+" "+a.Target)
		}
		got = strings.Join(kinds, "\n")
		all := true
		for _, want := range wants {
			all = all && strings.Contains(got, want)
		}
		if all || time.Now().After(deadline) {
			break
		}
	}
	for _, want := range wants {
		if !strings.Contains(got, want) {
			t.Errorf("attempts %q lack %q", kinds, want)
		}
	}
	for _, allowed := range []string{"127.0.0.1:8780", "127.0.0.1:53", "127.0.0.1:8080"} {
		if strings.Contains(got, allowed) {
			t.Errorf("attempts %q hold %s, which the sandbox reaches", kinds, allowed)
		}
	}
	if _, err := os.Stat(filepath.Join(m.DataDir(programID), "hello")); err != nil {
		t.Errorf("/mnt/data/hello is not in the program's data folder on the host: %v", err)
	}
}

// zoneAddr is a port the host listens on, as the zone does.
func zoneAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	return ln.Addr().String()
}

// TestSandbox_StopWhileStarting stops instances as the zone does (SIGTERM
// to the init's process group) the moment their sandboxes are set up,
// before or while their programs start: the signal must reach each
// program, however early it came, or the instance never stops.
func TestSandbox_StopWhileStarting(t *testing.T) {
	m := newManager(t, nil)
	for i := range 3 {
		in := launch(t, m, "prog-stop", fmt.Sprintf("prog-stop#%d", i), sandbox.Spec{})
		if err := syscall.Kill(-in.cmd.Process.Pid, syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		select {
		case <-in.done:
		case <-time.After(time.Minute):
			t.Fatalf("run %d: still running a minute after SIGTERM\n%s", i, in.output())
		}
		if got := in.run.Exit(in.cmd.ProcessState); got != "signal: terminated" {
			t.Errorf("run %d: exit %q, want signal: terminated", i, got)
		}
	}
}

// TestSandbox_Rootless runs TestSandbox_Isolation and TestSandbox_Image
// again as an unprivileged user (nobody), as a zone started by a user runs:
// the sandbox comes from a user namespace alone, and seals a command and an
// image as well as under root.
func TestSandbox_Rootless(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("not root: the other tests ran rootless already")
	}
	sandboxtest.Require(t, sandboxtest.Host(t))
	const nobody = 65534
	// A copy of this test binary, and a working folder, that nobody can use.
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "sandbox-rootless-") // t.TempDir's parent is private
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "work"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(filepath.Join(dir, "work"), nobody, nobody); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(exe)
	if err != nil {
		t.Fatal(err)
	}
	copied := filepath.Join(dir, "sandbox.test")
	if err := os.WriteFile(copied, b, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(copied, "-test.run=^TestSandbox_(Isolation|Image)$", "-test.v", "-test.count=1")
	cmd.Dir = filepath.Join(dir, "work")
	cmd.Env = append(os.Environ(), envProg+"="+prog, "HOME="+cmd.Dir, "TMPDIR="+cmd.Dir)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobody, Gid: nobody}}
	out, err := cmd.CombinedOutput()
	for _, test := range []string{"TestSandbox_Isolation", "TestSandbox_Image"} {
		if err != nil || !strings.Contains(string(out), "--- PASS: "+test) {
			t.Fatalf("%s as uid %d: %v\n%s", test, nobody, err, out)
		}
	}
}

// TestSandbox_DataQuota fills /mnt/data over its quota: the zone says so,
// the folder turns read-only until files are deleted, then takes writes
// again.
func TestSandbox_DataQuota(t *testing.T) {
	m := newManager(t, nil)
	in := start(t, m, "prog-quota", "prog-quota#1", sandbox.Spec{Limits: sandbox.Limits{DiskMB: 1}})
	if _, e := in.do(t, "fill", "2"); e != "" {
		t.Fatalf("write 2 MB to /mnt/data/fill: %s", e)
	}
	eventually(t, "/mnt/data read-only over its quota", func() bool {
		_, e := in.do(t, "write", "/mnt/data/more")
		return strings.Contains(e, "read-only file system")
	})
	if !in.logged("over its 1 MB quota") {
		t.Error("the zone did not say /mnt/data is over its quota")
	}
	if st := m.Status("prog-quota", "prog-quota#1", sandbox.Spec{}); st.DataUsedMB < 2 {
		t.Errorf("status shows %.1f MB used, want at least 2", st.DataUsedMB)
	}
	// Deleting needs a writable folder: the provider does it on the host.
	if err := os.Remove(filepath.Join(m.DataDir("prog-quota"), "fill")); err != nil {
		t.Fatal(err)
	}
	eventually(t, "/mnt/data writable again under its quota", func() bool {
		_, e := in.do(t, "write", "/mnt/data/more")
		return e == ""
	})
}

// eventually polls cond (every 100 ms, for up to a minute) until it holds.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); !cond(); time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not after a minute", what)
		}
	}
}
