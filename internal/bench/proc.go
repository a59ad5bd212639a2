package bench

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// child is a process the bench started.
type child struct {
	cmd  *exec.Cmd
	url  string // from its "listening on URL" line
	logs *os.File
	done chan struct{}
}

// startChild runs bin with args and waits (up to 30 s) for the line
// "… listening on http://ADDR" on its stdout. Its stderr goes to a log
// file in the scratch directory, quoted when it fails.
func (r *runner) startChild(ctx context.Context, name, bin string, args []string, env []string) (*child, error) {
	logs, err := os.Create(filepath.Join(r.dir, name+".log"))
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stderr = logs
	out, err := cmd.StdoutPipe()
	if err != nil {
		logs.Close()
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		logs.Close()
		return nil, err
	}
	c := &child{cmd: cmd, logs: logs, done: make(chan struct{})}
	urlc := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		sent := false
		for sc.Scan() {
			if _, u, ok := strings.Cut(sc.Text(), "listening on "); ok && !sent {
				urlc <- strings.Fields(u)[0]
				sent = true
			}
		}
		io.Copy(io.Discard, out)
	}()
	go func() { cmd.Wait(); close(c.done) }()
	select {
	case c.url = <-urlc:
		return c, nil
	case <-c.done:
		return nil, fmt.Errorf("%s exited before listening: %s", name, c.tail())
	case <-time.After(30 * time.Second):
		c.stop()
		return nil, fmt.Errorf("%s did not listen within 30 s: %s", name, c.tail())
	case <-ctx.Done():
		c.stop()
		return nil, ctx.Err()
	}
}

// stop ends the child with SIGTERM (SIGKILL after 15 s) and waits for it.
func (c *child) stop() {
	c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.done:
	case <-time.After(15 * time.Second):
		c.cmd.Process.Kill()
		<-c.done
	}
	c.logs.Close()
}

// log returns what the child has logged so far.
func (c *child) log() string {
	b, _ := os.ReadFile(c.logs.Name())
	return string(b)
}

// tail returns the end of the child's log.
func (c *child) tail() string {
	b := c.log()
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return strings.TrimSpace(b)
}

// procStatusKB reads a "Name:   N kB" field of /proc/<pid>/status.
func procStatusKB(pid int, field string) (int, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, field+":"); ok {
			var kb int
			if _, err := fmt.Sscanf(strings.TrimSpace(v), "%d kB", &kb); err != nil {
				return 0, err
			}
			return kb, nil
		}
	}
	return 0, fmt.Errorf("/proc/%d/status has no %s", pid, field)
}

// sampler records the largest value f returns, every 20 ms, until stopped.
type sampler struct {
	mu   sync.Mutex
	peak int
	stop chan struct{}
	done chan struct{}
}

func sample(f func() (int, error)) *sampler {
	s := &sampler{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for {
			if v, err := f(); err == nil {
				s.mu.Lock()
				s.peak = max(s.peak, v)
				s.mu.Unlock()
			}
			select {
			case <-s.stop:
				return
			case <-t.C:
			}
		}
	}()
	return s
}

func (s *sampler) Stop() int {
	close(s.stop)
	<-s.done
	return s.peak
}

// startLogging runs bin with args, its stdout and stderr to a log file,
// without waiting for anything.
func (r *runner) startLogging(ctx context.Context, name, bin string, args []string, env []string) (*child, error) {
	logs, err := os.Create(filepath.Join(r.dir, name+".log"))
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		logs.Close()
		return nil, err
	}
	c := &child{cmd: cmd, logs: logs, done: make(chan struct{})}
	go func() { cmd.Wait(); close(c.done) }()
	return c, nil
}
