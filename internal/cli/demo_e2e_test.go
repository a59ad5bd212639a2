package cli_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openzone/openzone/internal/sandbox/sandboxtest"
	"github.com/openzone/openzone/internal/testenv"
)

// TestDemo runs the README's first command as a user would, from the
// repository's root, and the flow its banner promises: a sync call, and a
// message that raises conversation_new_message for prog-echo.
func TestDemo(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the example programs")
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	cli := testenv.CLI(t)
	data := t.TempDir()
	demo := exec.Command(cli, "demo", "--addr", "127.0.0.1:0", "--data", data)
	demo.Dir = root
	var out syncBuf
	demo.Stdout, demo.Stderr = &out, &out
	if err := demo.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { demo.Process.Kill(); demo.Wait() })
	deadline := time.Now().Add(3 * time.Minute)
	for !strings.Contains(out.String(), "Ctrl-C stops the zone") {
		if time.Now().After(deadline) || demo.ProcessState != nil {
			t.Fatalf("the demo did not get ready:\n%s", out.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	m := regexp.MustCompile(`(http://127\.0\.0\.1:\d+)/console/`).FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("no zone URL in the banner:\n%s", out.String())
	}
	zone := m[1]
	if strings.Contains(out.String(), "set-up failed") {
		t.Fatalf("the demo's archive set-up failed:\n%s", out.String())
	}
	oz := func(args ...string) string {
		cmd := exec.Command(cli, append(args, "--zone", zone, "--data", data)...)
		cmd.Dir = root
		b, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("openzone %s: %v\n%s", strings.Join(args, " "), err, b)
		}
		return string(b)
	}
	testenv.Eventually(t, "prog-echo's instances to answer", func() bool {
		cmd := exec.Command(cli, "call", "prog-echo", "echo", `{"text":"hello"}`, "--zone", zone, "--data", data)
		b, err := cmd.CombinedOutput()
		return err == nil && strings.Contains(string(b), `"served_by":"deployed"`)
	})
	// The README says the demo runs sandboxed wherever the host allows it.
	if sandboxtest.Host(t).Probe().Sandbox {
		type programJSON struct {
			ID        string
			Isolation struct{ Sandboxed bool }
			Instances []struct{ Sandbox *struct{ Isolation string } }
		}
		var ps struct{ Programs []programJSON }
		if err := json.Unmarshal([]byte(oz("programs", "--json")), &ps); err != nil {
			t.Fatal(err)
		}
		i := slices.IndexFunc(ps.Programs, func(p programJSON) bool { return p.ID == "prog-echo" })
		if i < 0 {
			t.Fatalf("no prog-echo in the demo's programs: %+v", ps.Programs)
		}
		if p := ps.Programs[i]; !p.Isolation.Sandboxed || len(p.Instances) == 0 || p.Instances[0].Sandbox == nil {
			t.Errorf("this host sandboxes, but the demo's prog-echo runs unsandboxed: %+v", p)
		}
	}
	if got := oz("chat", "send", "您好", "--from", "zhangsan", "--to", "wmcustomer1"); !strings.Contains(got, "1 event(s) raised") {
		t.Fatalf("chat send in the demo: %s", got)
	}
	// The event reaches prog-echo, which tells the app (spec_notify_app).
	testenv.Eventually(t, "the event delivered and spec_notify_app called", func() bool {
		var tr struct {
			Traffic []struct {
				Kind      string `json:"kind"`
				Interface string `json:"interface"`
				Errcode   int    `json:"errcode"`
			} `json:"traffic"`
		}
		if err := json.Unmarshal([]byte(oz("traffic", "--json", "--program", "prog-echo")), &tr); err != nil {
			return false
		}
		event, notify := false, false
		for _, r := range tr.Traffic {
			event = event || r.Kind == "event" && r.Errcode == 0
			notify = notify || r.Kind == "invoke" && r.Interface == "spec_notify_app" && r.Errcode == 0
		}
		return event && notify
	})
	resp, err := http.Get(zone + "/healthz")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("healthz: %v %v", resp, err)
	}
	resp.Body.Close()
}

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
