package sandbox

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// readyTimeout bounds a sandbox's setup, from the init's start to its
// ready message (an image's first start extracts nothing here: Image did).
const readyTimeout = 30 * time.Second

// Run is one run of one sandboxed instance, zone side.
type Run struct {
	m        *Manager
	req      Request
	cfg      *initConfig
	limits   Limits
	ctl      *ctlConn
	child    *os.File // the init's end of the control socket, until Start
	endpoint net.Listener
	url      string
	attempts *attempts
	cgroup   *cgroup
	oomsAt   int // OOM kills of the cgroup before the program ran
	api      *http.Server

	nextID  atomic.Uint64
	mu      sync.Mutex
	pending map[uint64]chan dialResult
	exit    *message // the program's exit, from the init
	failed  string   // the init's setup error
	ready   chan error
	done    chan struct{} // closed when the control socket closes
	closed  atomic.Bool
}

type dialResult struct {
	conn net.Conn
	err  error
}

// URL is where the zone reaches the instance: a host-side endpoint that
// forwards into the sandbox. The zone's own calls skip it (Dial).
func (r *Run) URL() string { return r.url }

// Env returns the values of PORT, HOST and OPENZONE_API for the program.
func (r *Run) Env() (port, host, api string) { return "8080", "0.0.0.0", APIURL }

// Command turns cmd, built by the runtime for the program, into the start
// of the sandbox's init: cmd's environment becomes the program's, and its
// output pipes stay as they are and carry the program's output.
func (r *Run) Command(cmd *exec.Cmd) {
	if cmd.Env != nil {
		r.cfg.Env = cmd.Env // the program's, zone context included
	}
	cmd.Path = r.m.cfg.Executable
	cmd.Args = []string{initArg0, r.req.Instance}
	cmd.Env = initEnv()
	cmd.Dir = ""
	cmd.ExtraFiles = []*os.File{r.child}
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	r.m.initAttr(cmd.SysProcAttr)
}

// Start follows the start of the init (pid): it puts the init in the
// instance's cgroup, sends it the configuration, and waits until the
// sandbox is set up; then the program starts. An error means the sandbox
// never ran the program: the runtime kills the init.
func (r *Run) Start(pid int) error {
	r.child.Close()
	r.child = nil
	if r.m.cg.usable() {
		cg, err := r.m.cg.create(r.req.Instance, r.limits)
		if err != nil {
			return fmt.Errorf("sandbox limits: %w", err)
		}
		r.cgroup = cg
		if err := cg.add(pid); err != nil {
			return fmt.Errorf("sandbox limits: %w", err)
		}
		r.oomsAt = cg.ooms()
	}
	go r.read()
	if err := r.ctl.send(&message{Op: opConfig, Config: r.cfg}); err != nil {
		return fmt.Errorf("sandbox: %w", err)
	}
	select {
	case err := <-r.ready:
		if err != nil {
			return err
		}
	case <-time.After(readyTimeout):
		return fmt.Errorf("sandbox: not set up after %s", readyTimeout)
	}
	go r.forward()
	return nil
}

// read handles the init's messages until the control socket closes.
func (r *Run) read() {
	defer func() {
		r.mu.Lock()
		for id, ch := range r.pending {
			ch <- dialResult{err: errors.New("sandbox: the instance is gone")}
			delete(r.pending, id)
		}
		r.mu.Unlock()
		close(r.done)
		select {
		case r.ready <- errors.New("sandbox: the init exited during setup"):
		default:
		}
	}()
	for {
		m, files, err := r.ctl.recv()
		if err != nil {
			return
		}
		switch m.Op {
		case opReady:
			if len(files) != 1 {
				closeAll(files)
				r.ready <- errors.New("sandbox: no program API socket")
				continue
			}
			ln, err := net.FileListener(files[0])
			files[0].Close()
			if err != nil {
				r.ready <- fmt.Errorf("sandbox: program API socket: %w", err)
				continue
			}
			r.serveAPI(ln)
			r.ready <- nil
		case opFailed:
			r.mu.Lock()
			r.failed = m.Err
			r.mu.Unlock()
			r.ready <- fmt.Errorf("sandbox setup failed: %s", m.Err)
		case opDialed:
			r.mu.Lock()
			ch := r.pending[m.ID]
			delete(r.pending, m.ID)
			r.mu.Unlock()
			res := dialResult{err: errors.New(m.Err)}
			if m.Err == "" && len(files) == 1 {
				res.conn, res.err = net.FileConn(files[0])
			} else if m.Err == "" {
				res.err = errors.New("sandbox: no connection")
			}
			closeAll(files)
			if ch != nil {
				ch <- res
			} else if res.conn != nil {
				res.conn.Close()
			}
		case opBlocked:
			if m.Attempt != nil {
				r.block(*m.Attempt)
			}
		case opUsage:
			r.m.setDataUsed(r.req.ProgramID, m.UsedMB)
			if m.Over {
				r.log(slog.LevelWarn, fmt.Sprintf("%s is over its %d MB quota (%.1f MB): read-only until it is under; raise deploy.limits.disk_mb or delete files in %s",
					DataPath, r.limits.DiskMB, m.UsedMB, r.cfg.Data))
			}
		case opExit:
			r.mu.Lock()
			r.exit = m
			r.mu.Unlock()
		default:
			closeAll(files)
		}
	}
}

func (r *Run) log(level slog.Level, text string) {
	if r.req.LogFunc != nil {
		r.req.LogFunc(level, text)
	}
}

// block records a refused attempt; the first of each kind and target is
// logged.
func (r *Run) block(a Attempt) {
	a.Time = time.Now()
	if r.attempts.add(a) {
		r.log(slog.LevelWarn, describeAttempt(a))
	}
}

// serveAPI serves the program API on the listening socket the init
// created inside the sandbox: the zone accepts the instance's connections
// itself, so nothing copies bytes between them.
func (r *Run) serveAPI(ln net.Listener) {
	r.api = &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			if !strings.HasPrefix(req.URL.Path, "/spec/v1/") || r.m.cfg.API == nil {
				r.block(Attempt{Kind: AttemptAPI, Target: req.Method + " " + req.URL.Path, Count: 1})
				http.Error(w, "OpenZone sandbox: a program reaches only the program API (/spec/v1/*)", http.StatusForbidden)
				return
			}
			r.m.cfg.API.ServeHTTP(w, req)
		}),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(r.m.cfg.Logger.Handler(), slog.LevelDebug),
	}
	go r.api.Serve(ln)
}

// Dial connects to the instance's port 8080 inside the sandbox.
func (r *Run) Dial(ctx context.Context) (net.Conn, error) {
	id := r.nextID.Add(1)
	ch := make(chan dialResult, 1)
	r.mu.Lock()
	if r.closed.Load() {
		r.mu.Unlock()
		return nil, errors.New("sandbox: the instance is gone")
	}
	r.pending[id] = ch
	r.mu.Unlock()
	if err := r.ctl.send(&message{Op: opDial, ID: id}); err != nil {
		r.mu.Lock()
		delete(r.pending, id)
		r.mu.Unlock()
		return nil, fmt.Errorf("sandbox: %w", err)
	}
	select {
	case res := <-ch:
		return res.conn, res.err
	case <-ctx.Done():
		r.mu.Lock()
		delete(r.pending, id)
		r.mu.Unlock()
		return nil, ctx.Err()
	case <-r.done:
		return nil, errors.New("sandbox: the instance is gone")
	}
}

// Check reports whether the instance accepts connections on 8080.
func (r *Run) Check() bool {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	c, err := r.Dial(ctx)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// forward serves the host-side endpoint: each connection is joined to a
// new connection into the sandbox.
func (r *Run) forward() {
	for {
		c, err := r.endpoint.Accept()
		if err != nil {
			return
		}
		go func() {
			defer c.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			in, err := r.Dial(ctx)
			cancel()
			if err != nil {
				return
			}
			defer in.Close()
			done := make(chan struct{}, 2)
			go func() { io.Copy(in, c); closeWrite(in); done <- struct{}{} }()
			go func() { io.Copy(c, in); closeWrite(c); done <- struct{}{} }()
			<-done
			<-done
		}()
	}
}

func closeWrite(c net.Conn) {
	if cw, ok := c.(interface{ CloseWrite() error }); ok {
		cw.CloseWrite()
	}
}

// Exit describes how the run ended, for the instance's last exit: the
// program's status as the init saw it, and why when the kernel killed it
// for memory.
func (r *Run) Exit(ps *os.ProcessState) string {
	r.drain()
	r.mu.Lock()
	exit, failed := r.exit, r.failed
	r.mu.Unlock()
	var text string
	switch {
	case failed != "":
		text = "sandbox setup failed: " + failed
	case exit == nil && ps != nil:
		text = ps.String()
	case exit == nil:
		text = "exited"
	case exit.Signal != 0:
		text = "signal: " + syscall.Signal(exit.Signal).String()
	default:
		text = fmt.Sprintf("exit status %d", exit.Code)
	}
	if r.cgroup != nil && r.cgroup.ooms() > r.oomsAt {
		text += fmt.Sprintf(" (out of memory: over its %d MB limit)", r.limits.MemoryMB)
	}
	return text
}

// drain waits (briefly) until the init's last messages are read: its
// exit can be seen before its report of the program's.
func (r *Run) drain() {
	select {
	case <-r.done:
	case <-time.After(time.Second):
	}
}

// ExitCode is the program's exit status when it exited normally, else -1.
func (r *Run) ExitCode() int {
	r.drain()
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.exit == nil || r.exit.Signal != 0 {
		return -1
	}
	return r.exit.Code
}

// Close releases the run once its init is gone: the program API socket,
// the endpoint, the cgroup and the staging folder.
func (r *Run) Close() {
	if r.closed.Swap(true) {
		return
	}
	if r.child != nil {
		r.child.Close()
	}
	r.endpoint.Close()
	r.ctl.Close()
	if r.api != nil {
		// Connections from inside die with the sandbox; the listening
		// socket keeps its network namespace alive until closed here.
		r.api.Close()
	}
	if r.cgroup != nil {
		r.cgroup.remove()
	}
	removeStaging(r.cfg.Root)
}
