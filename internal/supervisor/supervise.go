package supervisor

import (
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/openzone/openzone/internal/fold"
	"github.com/openzone/openzone/internal/sandbox"
)

const (
	// healthyReset is how long an instance must have been healthy for its
	// consecutive-failure count (which drives the backoff) to start over.
	healthyReset = 30 * time.Second
	// maxBindRetries bounds the immediate restarts, on a new port, of a
	// process that died of "address already in use" within bindRaceWindow of
	// its start (someone took the port between our pick and its bind).
	// Such restarts are not counted and not delayed.
	maxBindRetries = 5
	bindRaceWindow = 5 * time.Second
	// maxLine is the longest log line kept whole; longer lines are split.
	maxLine = 64 * 1024
	// readerGrace is how long an exited instance's output readers may take
	// to drain its pipes (a process outside its group may hold them open).
	readerGrace = 2 * time.Second
	// dialTimeout bounds one TCP health check.
	dialTimeout = time.Second
)

// instance is one instance of a deployed program. Its exported-looking state
// is guarded by Supervisor.mu; the channels drive its supervisor.
type instance struct {
	name   string
	static bool // URL instance: always healthy, no process

	// Guarded by Supervisor.mu.
	url       string
	pid       int
	state     string
	healthy   bool
	restarts  int
	startedAt time.Time
	lastExit  string

	stopCh   chan struct{} // closed: SIGTERM and stop supervising
	killCh   chan struct{} // closed: SIGKILL now
	done     chan struct{} // closed when the supervisor returned (process gone)
	stopOnce sync.Once
	killOnce sync.Once
}

func newInstance(name string) *instance {
	return &instance{
		name:   name,
		state:  StateStarting,
		stopCh: make(chan struct{}),
		killCh: make(chan struct{}),
		done:   make(chan struct{}),
	}
}

func newStaticInstance(name, url string) *instance {
	in := newInstance(name)
	in.static, in.url, in.healthy, in.state = true, url, true, StateHealthy
	close(in.done)
	return in
}

// instance is in as the gateway picks it (call with Supervisor.mu held).
func (in *instance) instance(programID string) Instance {
	return Instance{ProgramID: programID, Name: in.name, URL: in.url, External: in.static}
}

func (in *instance) stop() { in.stopOnce.Do(func() { close(in.stopCh) }) }

func (in *instance) kill() {
	in.stop()
	in.killOnce.Do(func() { close(in.killCh) })
}

func (in *instance) stopping() bool {
	select {
	case <-in.stopCh:
		return true
	default:
		return false
	}
}

// launch is what a supervisor needs to start its instance's processes.
type launch struct {
	programID string
	path      string   // resolved executable
	args      []string // argv, args[0] as written in the spec
	dir       string
	env       []string // without PORT and OPENZONE_API
	book      *logbook
	sandbox   *sandbox.Spec // nil: a plain process
}

// supervise runs one instance until it is stopped: start, health-check,
// wait for exit, back off, start again.
func (r *Supervisor) supervise(in *instance, l launch) {
	defer r.wg.Done()
	defer close(in.done)
	defer func() {
		r.mu.Lock()
		in.state, in.healthy, in.pid = StateStopped, false, 0
		r.mu.Unlock()
	}()

	failures := 0 // consecutive, for the backoff
	bindRetries := 0
	for !in.stopping() {
		res := r.runOnce(in, l)
		if res.stopped || in.stopping() {
			return
		}
		if res.bindErr && res.ranFor < bindRaceWindow && bindRetries < maxBindRetries {
			bindRetries++
			r.zoneLog(l.book, in.name, slog.LevelWarn,
				fmt.Sprintf("port %d was taken before the program could bind it; starting again on a new port", res.port))
			continue
		}
		bindRetries = 0
		if res.healthyFor >= healthyReset {
			failures = 0
		}
		failures++
		d := r.cfg.Backoff(failures)
		r.mu.Lock()
		in.restarts++
		in.state = StateRestarting
		r.mu.Unlock()
		r.zoneLog(l.book, in.name, slog.LevelInfo, fmt.Sprintf("restarting in %s (%d failed runs in a row)", d, failures))
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-in.stopCh:
			t.Stop()
			return
		}
	}
}

type runResult struct {
	stopped     bool // the run ended because the instance was stopped
	bindErr     bool // the process reported "address already in use"
	everHealthy bool
	healthyFor  time.Duration // since it first became healthy
	ranFor      time.Duration // since the process started
	port        int
}

// runOnce starts one process for in and returns after it has exited (or
// failed to start). When in is stopped meanwhile, it terminates the process
// group (SIGTERM, then SIGKILL on in.killCh).
func (r *Supervisor) runOnce(in *instance, l launch) runResult {
	t, err := r.newTarget(in, l)
	if err != nil {
		r.startFailed(in, l, err)
		return runResult{}
	}
	defer t.close()
	res := runResult{port: t.port()}
	p, err := startProcess(l, t.env(l.env, r.cfg.ZoneURL, in.name), in.name, t.prepare)
	if err != nil {
		r.startFailed(in, l, err)
		return res
	}
	if err := t.started(p.pid); err != nil {
		signalGroup(p.cmd.Process, sigKill)
		<-p.exited
		p.drain(readerGrace)
		r.startFailed(in, l, err)
		return res
	}
	started := time.Now()
	r.mu.Lock()
	in.url = t.url()
	in.pid = p.pid
	in.state = StateStarting
	in.healthy = false
	in.startedAt = started
	r.mu.Unlock()
	if sb, ok := t.(*sandboxTarget); ok {
		host := strings.TrimPrefix(sb.url(), "http://")
		r.dialMu.Lock()
		r.dials[host] = sb.run
		r.dialMu.Unlock()
		defer func() {
			r.dialMu.Lock()
			delete(r.dials, host)
			r.dialMu.Unlock()
		}()
	}
	r.zoneLog(l.book, in.name, slog.LevelInfo, fmt.Sprintf("started pid %d %s", p.pid, t.where()))

	var healthySince time.Time
	delay := min(10*time.Millisecond, r.cfg.HealthInterval)
	timer := time.NewTimer(delay)
	defer timer.Stop()
wait:
	for {
		select {
		case <-p.exited:
			break wait
		case <-in.stopCh:
			res.stopped = true
			signalGroup(p.cmd.Process, sigTerm)
			select {
			case <-p.exited:
			case <-in.killCh:
				signalGroup(p.cmd.Process, sigKill)
				<-p.exited
			}
			break wait
		case <-timer.C:
			ok := t.check()
			r.mu.Lock()
			changed := ok != in.healthy
			if changed && ok {
				in.healthy, in.state = true, StateHealthy
				r.notifyLocked()
			} else if changed {
				in.healthy, in.state = false, StateUnhealthy
			}
			r.mu.Unlock()
			switch {
			case ok && !res.everHealthy:
				res.everHealthy = true
				healthySince = time.Now()
				r.zoneLog(l.book, in.name, slog.LevelInfo, "healthy "+t.where())
			case ok && changed:
				r.zoneLog(l.book, in.name, slog.LevelInfo, "healthy again "+t.where())
			case changed: // was healthy
				r.zoneLog(l.book, in.name, slog.LevelWarn, "health check failed "+t.where())
			}
			if !res.everHealthy {
				delay = min(delay*2, r.cfg.HealthInterval)
			} else {
				delay = r.cfg.HealthInterval
			}
			timer.Reset(delay)
		}
	}

	r.mu.Lock()
	in.healthy = false // out of Pick's rotation at once
	if !res.stopped {
		in.state = StateRestarting
	}
	r.mu.Unlock()
	// Whatever the leader left behind in its group goes with it.
	signalGroup(p.cmd.Process, sigKill)
	p.drain(readerGrace)
	res.bindErr = p.bindErr.Load() && res.port != 0
	res.ranFor = time.Since(started)
	if res.everHealthy {
		res.healthyFor = time.Since(healthySince)
	}

	exit, code := t.exitText(p.cmd.ProcessState)
	text := fmt.Sprintf("pid %d exited: %s", p.pid, exit)
	if code >= 0 {
		text = fmt.Sprintf("pid %d exited with status %d", p.pid, code)
	}
	r.mu.Lock()
	in.pid, in.lastExit = 0, exit
	r.mu.Unlock()
	level := slog.LevelWarn
	if res.stopped {
		level = slog.LevelInfo
	}
	r.zoneLog(l.book, in.name, level, text)
	return res
}

func (r *Supervisor) startFailed(in *instance, l launch, err error) {
	r.mu.Lock()
	in.healthy, in.pid, in.lastExit = false, 0, "start failed: "+err.Error()
	r.mu.Unlock()
	r.zoneLog(l.book, in.name, slog.LevelError, "start failed: "+err.Error())
}

// freePort returns a port of host that was free a moment ago.
func freePort(host string) (int, error) {
	ln, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		return 0, fmt.Errorf("pick a free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

func checkHealth(host string, port int) bool {
	c, err := net.DialTimeout("tcp", net.JoinHostPort(host, strconv.Itoa(port)), dialTimeout)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// process is one running child and the readers of its output.
type process struct {
	cmd     *exec.Cmd
	pid     int
	exited  chan struct{} // closed once the child is reaped
	pipes   []*os.File
	readers sync.WaitGroup
	bindErr atomic.Bool
}

// startProcess starts the child in its own process group, with its stdout
// and stderr on pipes that are read line by line into the log book;
// prepare may change the command before it starts.
func startProcess(l launch, env []string, name string, prepare func(*exec.Cmd)) (*process, error) {
	outR, outW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		outR.Close()
		outW.Close()
		return nil, err
	}
	cmd := &exec.Cmd{
		Path:        l.path,
		Args:        l.args,
		Dir:         l.dir,
		Env:         env,
		Stdout:      outW, // *os.File: handed to the child as is, no copying goroutine
		Stderr:      errW,
		SysProcAttr: sysProcAttr(),
	}
	prepare(cmd)
	err = startCmd(cmd)
	outW.Close()
	errW.Close()
	if err != nil {
		outR.Close()
		errR.Close()
		return nil, err
	}
	p := &process{cmd: cmd, pid: cmd.Process.Pid, exited: make(chan struct{}), pipes: []*os.File{outR, errR}}
	p.readers.Add(2)
	go p.read(outR, l.book, name, StreamStdout)
	go p.read(errR, l.book, name, StreamStderr)
	go func() {
		cmd.Wait() // the exit status is in cmd.ProcessState
		close(p.exited)
	}()
	return p, nil
}

func (p *process) read(f *os.File, b *logbook, name, stream string) {
	defer p.readers.Done()
	defer f.Close()
	readLines(f, maxLine, func(text string) {
		if isBindError(text) {
			p.bindErr.Store(true)
		}
		b.add(LogLine{Time: time.Now(), Instance: name, Stream: stream, Text: text})
	})
}

// drain waits for the output readers to reach the end of the pipes; after
// grace it closes the pipes (something outside the process group still
// holds them) and waits for the readers to notice.
func (p *process) drain(grace time.Duration) {
	done := make(chan struct{})
	go func() {
		p.readers.Wait()
		close(done)
	}()
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
		for _, f := range p.pipes {
			f.Close()
		}
		<-done
	}
}

// isBindError runs on every line a program writes: no allocation.
func isBindError(line string) bool {
	return fold.Contains(line, "address already in use") || fold.Contains(line, "eaddrinuse")
}
