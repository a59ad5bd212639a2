package cli_test

import (
	"bufio"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/openzone/openzone/internal/testenv"
)

// TestDebugWalkthrough runs docs/debug-mode.md's shell blocks as written,
// top to bottom, in one bash with `set -euo pipefail`: the walkthrough a
// user pastes is the one that works. `go run ./cmd/openzone` is the built
// CLI (the same program, compiled once); blocks after a
// `<!-- walkthrough: skip … -->` line are alternatives and are not run.
// It uses the walkthrough's fixed ports (8780, 9000, 9100), which the
// other tests never pick (internal/freeport stays above 10000).
func TestDebugWalkthrough(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the whole debug walkthrough")
	}
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("the walkthrough uses curl")
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	blocks, err := shellBlocks(filepath.Join(root, "docs", "debug-mode.md"))
	if err != nil {
		t.Fatal(err)
	}
	if len(blocks) < 8 {
		t.Fatalf("found %d runnable blocks in docs/debug-mode.md", len(blocks))
	}
	// The walkthrough's ports and /tmp files are fixed: runs of the suite
	// from several checkouts on one machine take turns.
	lock, err := os.OpenFile(filepath.Join(os.TempDir(), "openzone-walkthrough.lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	// An older checkout's run (without the lock) may still hold a port:
	// wait for it a while before failing.
	for _, port := range []string{"8780", "9000", "9100"} {
		for start := time.Now(); ; time.Sleep(time.Second) {
			ln, err := net.Listen("tcp", "127.0.0.1:"+port)
			if err == nil {
				ln.Close()
				break
			}
			if time.Since(start) > 2*time.Minute {
				t.Fatalf("the walkthrough needs 127.0.0.1:%s, which is in use: %v", port, err)
			}
		}
	}
	data := t.TempDir()
	script := `set -euo pipefail
# go run ./cmd/openzone is the CLI built for the tests.
go() { if [ "${1:-}" = run ] && [ "${2:-}" = ./cmd/openzone ]; then shift 2; "$OZ_BIN" "$@"; else command go "$@"; fi; }
trap 'trap "" TERM; kill 0 2>/dev/null || true' EXIT
` + strings.Join(blocks, "\n") + "\necho WALKTHROUGH-DONE\n"
	cmd := exec.Command("bash", "-c", script)
	cmd.Dir = root
	// Its own process group: whatever the walkthrough leaves running (the
	// zone, programs it started, the listener) goes with it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	t.Cleanup(func() {
		if cmd.Process != nil {
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		}
	})
	cmd.Env = append(os.Environ(), "OZ_BIN="+testenv.CLI(t), "OPENZONE_DATA="+data, "OPENZONE_ADMIN_TOKEN=")
	done := make(chan struct{})
	var out []byte
	go func() { out, err = cmd.CombinedOutput(); close(done) }()
	select {
	case <-done:
	case <-time.After(4 * time.Minute):
		cmd.Process.Kill()
		<-done
		t.Fatalf("the walkthrough did not finish in 4 minutes:\n%s", out)
	}
	logs := ""
	for _, f := range []string{"/tmp/zone.log", "/tmp/local.log", "/tmp/app.log", "/tmp/listen.log"} {
		if b, err := os.ReadFile(f); err == nil {
			logs += "\n--- " + f + "\n" + string(b)
		}
	}
	if err != nil || !strings.Contains(string(out), "WALKTHROUGH-DONE") {
		t.Fatalf("the walkthrough failed: %v\n%s%s", err, out, logs)
	}
	for _, want := range []string{`"served_by":"local"`, `您好`, `"text\":\"later\"`, `through the listener`, `800002`} {
		if !strings.Contains(string(out), want) {
			t.Errorf("the walkthrough's output lacks %q:\n%s%s", want, out, logs)
		}
	}
}

// shellBlocks returns the ```sh blocks of a Markdown file, in order, but
// those right after a `<!-- walkthrough: skip … -->` line.
func shellBlocks(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var blocks []string
	var cur []string
	in, skip, skipNext := false, false, false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case !in && strings.HasPrefix(line, "<!-- walkthrough: skip"):
			skipNext = true
		case !in && strings.TrimSpace(line) == "```sh":
			in, skip, skipNext, cur = true, skipNext, false, nil
		case in && strings.TrimSpace(line) == "```":
			in = false
			if !skip {
				blocks = append(blocks, strings.Join(cur, "\n"))
			}
		case in:
			cur = append(cur, line)
		}
	}
	return blocks, sc.Err()
}
