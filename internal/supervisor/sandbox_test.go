//go:build linux

package supervisor_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/openzone/openzone/internal/sandbox"
	"github.com/openzone/openzone/internal/sandbox/sandboxtest"
	"github.com/openzone/openzone/internal/supervisor"
)

// newSandboxRuntime returns a Supervisor whose specs may ask for sandboxes.
func newSandboxSupervisor(t *testing.T) (*supervisor.Supervisor, *sandbox.Manager) {
	t.Helper()
	m := sandbox.New(sandbox.Config{DataDir: t.TempDir()})
	sandboxtest.Require(t, m)
	t.Cleanup(m.Close)
	return newSupervisor(t, supervisor.Config{Sandbox: m, Backoff: func(int) time.Duration { return 50 * time.Millisecond }}), m
}

func sandboxed(spec supervisor.Spec, sb sandbox.Spec) supervisor.Spec {
	spec.Sandbox = &sb
	return spec
}

func TestRuntime_Sandbox(t *testing.T) {
	rt, _ := newSandboxSupervisor(t)
	deploy(t, rt, sandboxed(tinySpec("prog-sbx", 2), sandbox.Spec{}))
	st := waitHealthy(t, rt, "prog-sbx", 2)

	for _, s := range st {
		if s.Sandbox == nil || !strings.Contains(s.Sandbox.Isolation, "namespaces") {
			t.Errorf("%s sandbox status = %+v", s.Name, s.Sandbox)
		}
		// The endpoint forwards into the sandbox, for tools and other nodes.
		got := mustInfo(t, s.URL)
		if got.Port != "8080" || got.API != sandbox.APIURL || got.ProgramID != "prog-sbx" {
			t.Errorf("%s sees PORT=%s OPENZONE_API=%s program %s", s.Name, got.Port, got.API, got.ProgramID)
		}
	}
	t.Run("DialContext", func(t *testing.T) {
		inst, _, err := rt.Pick(context.Background(), "prog-sbx")
		if err != nil {
			t.Fatal(err)
		}
		c := &http.Client{Transport: &http.Transport{DialContext: rt.DialContext}}
		resp, err := c.Get(inst.URL + "/")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("GET through DialContext: %s", resp.Status)
		}
	})
	t.Run("CrashRestart", func(t *testing.T) {
		get(st[0].URL, "/crash")
		waitFor(t, "the crashed instance back", func() bool {
			s := rt.Instances("prog-sbx")[0]
			return s.Restarts == 1 && s.State == supervisor.StateHealthy
		})
		if got := rt.Instances("prog-sbx")[0].LastExit; got != "exit status 3" {
			t.Errorf("last exit %q, want exit status 3", got)
		}
	})
	t.Run("Undeploy", func(t *testing.T) {
		var pids []int
		for _, s := range rt.Instances("prog-sbx") {
			pids = append(pids, s.PID)
		}
		if err := rt.Undeploy("prog-sbx"); err != nil {
			t.Fatal(err)
		}
		waitDead(t, pids...)
	})
}

func TestRuntime_SandboxMemoryLimit(t *testing.T) {
	rt, m := newSandboxSupervisor(t)
	sandboxtest.RequireLimits(t, m)
	deploy(t, rt, sandboxed(tinySpec("prog-hog", 1), sandbox.Spec{Limits: sandbox.Limits{MemoryMB: 64}}))
	before := waitHealthy(t, rt, "prog-hog", 1)[0]
	get(before.URL, "/alloc?mb=256")
	waitFor(t, "the hog killed and restarted", func() bool {
		s := rt.Instances("prog-hog")[0]
		return s.Restarts >= 1 && s.State == supervisor.StateHealthy
	})
	after := rt.Instances("prog-hog")[0]
	if !strings.Contains(after.LastExit, "out of memory") || !strings.Contains(after.LastExit, "64 MB") {
		t.Errorf("last exit %q does not say it ran out of its 64 MB", after.LastExit)
	}
	if !hasLine(rt.Logs("prog-hog", 0), supervisor.StreamZone, "out of memory") {
		t.Error("the logs do not say why the instance died")
	}
}

func TestRuntime_SandboxEndpointClosed(t *testing.T) {
	rt, _ := newSandboxSupervisor(t)
	deploy(t, rt, sandboxed(tinySpec("prog-gone", 1), sandbox.Spec{}))
	st := waitHealthy(t, rt, "prog-gone", 1)
	if err := rt.Undeploy("prog-gone"); err != nil {
		t.Fatal(err)
	}
	addr := strings.TrimPrefix(st[0].URL, "http://")
	if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		io.Copy(io.Discard, c)
		c.Close()
		t.Errorf("the endpoint %s still accepts after Undeploy", addr)
	}
}
