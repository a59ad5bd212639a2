// Package supervisor runs the programs deployed into the zone.
//
// A program deployed with a command runs as N local processes (instances),
// each on its own free loopback port, with the zone context in its
// environment (docs/protocol.md §10): OPENZONE_API, OPENZONE_PROGRAM_ID,
// OPENZONE_SECRET and PORT. The supervisor restarts crashed instances with
// backoff, health-checks them with a TCP connect, keeps their output in a
// bounded in-memory log (and optionally a log file), and hands the gateway a
// healthy instance per call (Pick). A program deployed with a URL runs
// elsewhere: it gets one instance at that URL and is not supervised.
//
// Every child runs in its own process group, so stopping an instance stops
// everything it started; Shutdown stops all of them and no child outlives the
// Supervisor.
package supervisor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/openzone/openzone"
	"github.com/openzone/openzone/internal/sandbox"
)

// Instance states reported by Instances: the root package's, named here
// where the supervisor sets them.
const (
	StateStarting   = openzone.InstanceStarting
	StateHealthy    = openzone.InstanceHealthy
	StateUnhealthy  = openzone.InstanceUnhealthy
	StateRestarting = openzone.InstanceRestarting
	StateStopped    = openzone.InstanceStopped
)

// Log streams of a LogLine.
const (
	StreamStdout = "stdout"
	StreamStderr = "stderr"
	StreamZone   = "zone" // lines written by the supervisor itself (started, exited, restarting…)
)

// ErrNoHealthyInstance is in the chain of the error Pick returns when a
// program is deployed but none of its instances became healthy in time. That
// error is an *openzone.Error with code openzone.ErrCallProgram.
var ErrNoHealthyInstance = errors.New("no healthy instance")

// ErrClosed is returned by Deploy after Shutdown.
var ErrClosed = errors.New("supervisor: shut down")

// Config configures a Supervisor. Zero fields take their defaults.
type Config struct {
	// Logger receives the zone-side lines (started, exited, restarting…).
	// Default: discard.
	Logger *slog.Logger
	// LogDir is where each program's log file lives
	// (<LogDir>/<program_id>.log, appended to). "" keeps logs in memory only.
	LogDir string
	// ZoneURL is the base URL of the zone, given to programs as
	// OPENZONE_API.
	ZoneURL string
	// BaseEnv is the environment inherited by programs. Default os.Environ().
	// Variables named OPENZONE_* are always removed from it (the zone's own
	// settings, such as OPENZONE_ADMIN_TOKEN, never reach a program); the
	// supervisor then adds Spec.ExtraEnv and the zone context variables.
	BaseEnv []string
	// Backoff returns how long to wait before restarting an instance that has
	// exited; restarts is the number of consecutive failed runs, starting at
	// 1. The count goes back to 0 after an instance has been healthy for 30 s.
	// Default: 100 ms doubling up to 10 s.
	Backoff func(restarts int) time.Duration
	// HealthInterval is the period of the TCP health check of running
	// instances. Default 1 s. Until an instance first passes, it is checked
	// more often (from 10 ms, doubling up to HealthInterval).
	HealthInterval time.Duration
	// PickWait bounds how long Pick waits for an instance to become healthy
	// when a program is deployed but none is healthy. Default 2 s.
	PickWait time.Duration
	// StopTimeout is how long Undeploy (and Deploy, when it replaces
	// instances) waits after SIGTERM before SIGKILL. Default 5 s.
	StopTimeout time.Duration
	// LogLines is how many log lines are kept in memory per program.
	// Default 2000.
	LogLines int
	// Host is the address instances listen on (given to them as HOST) and
	// are reached at. Default 127.0.0.1; a zone node whose instances other
	// nodes must reach sets an address they can route to.
	Host string
	// NamePrefix starts every instance name. Zone nodes sharing a database
	// set it to their node id, so names are unique across nodes.
	NamePrefix string
	// Sandbox runs the instances of specs that have a Sandbox; nil: such
	// specs are refused.
	Sandbox *sandbox.Manager
}

// Spec is the desired deployment of one program. Exactly one of Command and
// URL is set; a Spec with neither means "not deployed" and Deploy treats it
// as Undeploy.
type Spec struct {
	ProgramID string
	// Command is the program and its arguments. A relative path containing a
	// slash resolves against Dir; a bare name is looked up in PATH.
	Command []string
	// Instances is the number of processes to run; 0 means 1.
	Instances int
	// URL is where a program that runs elsewhere is reached.
	URL string
	// Dir is the working directory of the processes ("" = the zone's).
	Dir string
	// Secret is the program secret, "<ver>:<base64>", given as OPENZONE_SECRET.
	Secret string
	// ExtraEnv is added to the environment ("KEY=value"); the zone context
	// variables (OPENZONE_API, OPENZONE_PROGRAM_ID, OPENZONE_SECRET, PORT)
	// take precedence over it.
	ExtraEnv []string
	// Sandbox, when set, runs each instance in a sandbox of its own
	// (Config.Sandbox): on port 8080 of its own network, where OPENZONE_API
	// reaches the zone. With an image, Command is a path inside it.
	Sandbox *sandbox.Spec
}

func (s Spec) equal(o Spec) bool {
	return s.ProgramID == o.ProgramID && slices.Equal(s.Command, o.Command) &&
		s.Instances == o.Instances && s.URL == o.URL && s.Dir == o.Dir &&
		s.Secret == o.Secret && slices.Equal(s.ExtraEnv, o.ExtraEnv) &&
		(s.Sandbox == nil) == (o.Sandbox == nil) && (s.Sandbox == nil || *s.Sandbox == *o.Sandbox)
}

// image reports whether the spec runs an image (its command is inside it).
func (s Spec) image() bool { return s.Sandbox != nil && s.Sandbox.Image != "" }

// sameProcess reports whether s and o start identical processes, so that
// only the number of instances differs.
func (s Spec) sameProcess(o Spec) bool {
	o.Instances = s.Instances
	return len(s.Command) > 0 && s.equal(o)
}

// Instance is one callable instance of a program.
type Instance struct {
	ProgramID string
	Name      string // e.g. prog-echo#1
	URL       string // e.g. http://127.0.0.1:41234
	// External marks a program deployed with a URL: it runs elsewhere, at
	// an address an operator typed, so calls to it go out under the
	// zone's outbound policy like any foreign target.
	External bool
}

// InstanceStatus describes an instance for the admin API.
type InstanceStatus struct {
	Name      string    `json:"name"`
	URL       string    `json:"url"`
	PID       int       `json:"pid,omitempty"` // 0 when no process is running
	State     string    `json:"state"`
	Restarts  int       `json:"restarts"`
	StartedAt time.Time `json:"started_at,omitzero"` // start of the current (or last) process
	LastExit  string    `json:"last_exit,omitempty"` // e.g. "exit status 3", "signal: killed"
	// Sandbox describes the instance's sandbox: isolation, limits, blocked
	// attempts; nil for a plain process.
	Sandbox *sandbox.Status `json:"sandbox,omitempty"`
}

// LogLine is one line of a program's log.
type LogLine struct {
	Time     time.Time `json:"time"`
	Instance string    `json:"instance,omitempty"` // "" for program-level zone lines
	Stream   string    `json:"stream"`             // stdout, stderr or zone
	Text     string    `json:"text"`
}

// Supervisor supervises deployed programs. Its methods are safe for concurrent
// use.
type Supervisor struct {
	cfg Config
	log *slog.Logger

	dialMu sync.RWMutex
	dials  map[string]*sandbox.Run // host:port of a sandboxed instance's endpoint → its run

	mu       sync.Mutex
	programs map[string]*program
	books    map[string]*logbook // kept after Undeploy, so the logs of a stopped program stay readable
	changed  chan struct{}       // closed (and replaced) whenever instance health may have improved
	closed   bool
	shutdown chan struct{} // closed when Shutdown has finished

	wg sync.WaitGroup // supervisors
}

type program struct {
	spec  Spec   // normalized
	path  string // resolved executable (command programs)
	insts []*instance
	next  int // round-robin cursor
	book  *logbook
}

// New returns a Supervisor. It starts nothing until Deploy.
func New(cfg Config) *Supervisor {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.BaseEnv == nil {
		cfg.BaseEnv = os.Environ()
	}
	cfg.BaseEnv = slices.DeleteFunc(slices.Clone(cfg.BaseEnv), func(kv string) bool {
		return strings.HasPrefix(kv, "OPENZONE_")
	})
	if cfg.Backoff == nil {
		cfg.Backoff = DefaultBackoff
	}
	if cfg.HealthInterval <= 0 {
		cfg.HealthInterval = time.Second
	}
	if cfg.PickWait <= 0 {
		cfg.PickWait = 2 * time.Second
	}
	if cfg.StopTimeout <= 0 {
		cfg.StopTimeout = 5 * time.Second
	}
	if cfg.LogLines <= 0 {
		cfg.LogLines = 2000
	}
	if cfg.Host == "" {
		cfg.Host = "127.0.0.1"
	}
	return &Supervisor{
		cfg:      cfg,
		log:      cfg.Logger,
		programs: make(map[string]*program),
		books:    make(map[string]*logbook),
		dials:    make(map[string]*sandbox.Run),
		changed:  make(chan struct{}),
		shutdown: make(chan struct{}),
	}
}

// DefaultBackoff is the default restart backoff: 100 ms for the first
// restart, doubling up to 10 s.
func DefaultBackoff(restarts int) time.Duration {
	const max = 10 * time.Second
	d := 100 * time.Millisecond
	for i := 1; i < restarts && d < max; i++ {
		d *= 2
	}
	return min(d, max)
}

// notifyLocked wakes Pick waiters. r.mu must be held.
func (r *Supervisor) notifyLocked() {
	close(r.changed)
	r.changed = make(chan struct{})
}

// bookLocked returns the log book of a program, creating it. r.mu must be held.
func (r *Supervisor) bookLocked(programID string) *logbook {
	b := r.books[programID]
	if b == nil {
		b = newLogbook(r.cfg.LogLines, r.cfg.LogDir, programID)
		r.books[programID] = b
	}
	return b
}

// normalize validates spec and fills its defaults; for command programs it
// also resolves the executable.
func normalize(spec Spec) (Spec, string, error) {
	spec.Command = slices.Clone(spec.Command)
	spec.ExtraEnv = slices.Clone(spec.ExtraEnv)
	if spec.ProgramID == "" {
		return spec, "", openzone.Errorf(openzone.ErrInvalidParam, "deploy: program_id is required")
	}
	if len(spec.Command) > 0 && spec.URL != "" {
		return spec, "", openzone.Errorf(openzone.ErrInvalidParam, "deploy of %s: command and url are exclusive", spec.ProgramID)
	}
	if spec.Instances < 0 {
		return spec, "", openzone.Errorf(openzone.ErrInvalidParam, "deploy of %s: instances must not be negative", spec.ProgramID)
	}
	for _, kv := range spec.ExtraEnv {
		if k, _, ok := strings.Cut(kv, "="); !ok || k == "" {
			return spec, "", openzone.Errorf(openzone.ErrInvalidParam, "deploy of %s: env entry %q is not KEY=value", spec.ProgramID, kv)
		}
	}
	if spec.URL != "" {
		u, err := url.Parse(spec.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return spec, "", openzone.Errorf(openzone.ErrInvalidParam, "deploy of %s: url %q is not an http(s) URL", spec.ProgramID, spec.URL)
		}
		spec.Instances = 1
		spec.Command, spec.Dir, spec.Secret, spec.ExtraEnv = nil, "", "", nil
		return spec, "", nil
	}
	if spec.Instances == 0 {
		spec.Instances = 1
	}
	if spec.Dir != "" {
		dir, err := filepath.Abs(spec.Dir)
		if err != nil {
			return spec, "", openzone.Wrap(openzone.ErrInvalidParam, err, "deploy of %s: bad dir %q", spec.ProgramID, spec.Dir)
		}
		spec.Dir = dir
	}
	if spec.Sandbox != nil {
		sb := *spec.Sandbox
		spec.Sandbox = &sb
	}
	if spec.image() {
		// The OCI runtime finds it inside the image.
		return spec, spec.Command[0], nil
	}
	path, err := resolveCommand(spec.Command[0], spec.Dir)
	if err != nil {
		return spec, "", openzone.Wrap(openzone.ErrInvalidParam, err, "deploy of %s: command %q not found", spec.ProgramID, spec.Command[0])
	}
	return spec, path, nil
}

func resolveCommand(name, dir string) (string, error) {
	if name == "" {
		return "", errors.New("empty command")
	}
	path := name
	if !filepath.IsAbs(name) {
		if !strings.ContainsRune(name, '/') && !strings.ContainsRune(name, filepath.Separator) {
			return exec.LookPath(name)
		}
		path = filepath.Join(dir, name)
		if dir == "" {
			abs, err := filepath.Abs(name)
			if err != nil {
				return "", err
			}
			path = abs
		}
	}
	fi, err := os.Stat(path)
	if err != nil {
		return "", err
	}
	if fi.IsDir() {
		return "", fmt.Errorf("%s is a directory", path)
	}
	return path, nil
}

// Deploy starts, or reconciles to, the desired deployment of a program.
//
// For a command program it starts spec.Instances processes; for a URL
// program it registers one unsupervised instance at that URL. Calling Deploy
// again with an identical spec does nothing. If only Instances changed, the
// surplus instances are stopped (the last ones) or the missing ones started,
// and the others keep running; any other change replaces all instances.
// Deploy returns once the new processes are started (not yet healthy: use
// Pick to wait) and the replaced ones have stopped; ctx bounds how long those
// get after SIGTERM (at most Config.StopTimeout) before SIGKILL.
//
// A spec with neither Command nor URL undeploys the program. A missing
// executable is an *openzone.Error with code ErrInvalidParam.
func (r *Supervisor) Deploy(ctx context.Context, spec Spec) error {
	if len(spec.Command) == 0 && spec.URL == "" && spec.ProgramID != "" {
		return r.Undeploy(spec.ProgramID)
	}
	spec, path, err := normalize(spec)
	if err != nil {
		return err
	}
	if spec.Sandbox != nil && r.cfg.Sandbox == nil {
		return openzone.Errorf(openzone.ErrInvalidParam, "deploy of %s: this zone runs no sandboxes", spec.ProgramID)
	}

	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return ErrClosed
	}
	p := r.programs[spec.ProgramID]
	if p != nil && p.spec.equal(spec) {
		r.mu.Unlock()
		return nil
	}
	var stale []*instance
	verb := "deployed"
	if p == nil {
		p = &program{book: r.bookLocked(spec.ProgramID)}
		r.programs[spec.ProgramID] = p
	} else if p.spec.sameProcess(spec) {
		verb = "scaled"
		if n := spec.Instances; n < len(p.insts) {
			stale = slices.Clone(p.insts[n:])
			p.insts = p.insts[:n]
		}
	} else {
		verb = "redeployed"
		stale = p.insts
		p.insts = nil
	}
	p.spec, p.path = spec, path
	for len(p.insts) < spec.Instances {
		name := fmt.Sprintf("%s%s#%d", r.cfg.NamePrefix, spec.ProgramID, len(p.insts)+1)
		if spec.URL != "" {
			p.insts = append(p.insts, newStaticInstance(name, spec.URL))
			continue
		}
		in := newInstance(name)
		p.insts = append(p.insts, in)
		l := launch{programID: spec.ProgramID, path: path, args: spec.Command, dir: spec.Dir, env: r.envFor(spec), book: p.book, sandbox: spec.Sandbox}
		r.wg.Add(1)
		go r.supervise(in, l)
	}
	r.notifyLocked()
	r.mu.Unlock()

	target := spec.URL
	if target == "" {
		target = strings.Join(spec.Command, " ")
	}
	r.zoneLog(p.book, "", slog.LevelInfo, fmt.Sprintf("%s: %s (instances %d)", verb, target, spec.Instances))
	if len(stale) > 0 {
		sctx, cancel := context.WithTimeout(ctx, r.cfg.StopTimeout)
		defer cancel()
		if err := r.stopAll(sctx, stale); err != nil {
			r.zoneLog(p.book, "", slog.LevelWarn, "replaced instances did not stop in time: killed")
		}
	}
	return nil
}

// envFor returns the environment of spec's processes, without PORT and
// OPENZONE_API (added at each start).
func (r *Supervisor) envFor(spec Spec) []string {
	env := slices.Clip(slices.Clone(r.cfg.BaseEnv))
	if spec.Dir != "" {
		env = append(env, "PWD="+spec.Dir) // as exec.Cmd does when it builds the environment itself
	}
	env = append(env, spec.ExtraEnv...)
	return append(env,
		"OPENZONE_PROGRAM_ID="+spec.ProgramID,
		"OPENZONE_SECRET="+spec.Secret,
	)
}

// Undeploy stops all instances of a program and forgets its deployment; its
// logs stay readable. Processes get Config.StopTimeout after SIGTERM before
// SIGKILL; Undeploy returns when they are gone. Undeploying a program that
// is not deployed does nothing.
func (r *Supervisor) Undeploy(programID string) error {
	r.mu.Lock()
	p := r.programs[programID]
	if p == nil {
		r.mu.Unlock()
		return nil
	}
	delete(r.programs, programID)
	r.notifyLocked()
	r.mu.Unlock()

	ctx, cancel := context.WithTimeout(context.Background(), r.cfg.StopTimeout)
	defer cancel()
	if err := r.stopAll(ctx, p.insts); err != nil {
		r.zoneLog(p.book, "", slog.LevelWarn, "instances did not stop in time: killed")
	}
	r.zoneLog(p.book, "", slog.LevelInfo, "undeployed")
	p.book.closeFile(false)
	return nil
}

// Deployed reports whether the program has a deployment on this node,
// healthy or not.
func (r *Supervisor) Deployed(programID string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.programs[programID] != nil
}

// Pick returns a healthy instance of the program, round-robin over the
// healthy ones. ok is false when the program has no deployment. When it is
// deployed but no instance is healthy, Pick waits (up to Config.PickWait,
// and ctx) for one to become healthy; if none does, it returns ok=true and
// an *openzone.Error with code ErrCallProgram wrapping ErrNoHealthyInstance.
func (r *Supervisor) Pick(ctx context.Context, programID string) (inst Instance, ok bool, err error) {
	return r.PickPreferred(ctx, programID, "")
}

// PickPreferred is Pick that returns the instance named prefer when it is
// healthy: a sync_call_program carrying a notify_id goes back to the
// instance that minted it, which holds the data stored under it. When that
// instance is gone it falls back to any healthy one.
func (r *Supervisor) PickPreferred(ctx context.Context, programID, prefer string) (inst Instance, ok bool, err error) {
	var timeout <-chan time.Time
	for {
		r.mu.Lock()
		p := r.programs[programID]
		if p == nil {
			r.mu.Unlock()
			return Instance{}, false, nil
		}
		if prefer != "" {
			for _, in := range p.insts {
				if in.name == prefer && in.healthy {
					r.mu.Unlock()
					return in.instance(programID), true, nil
				}
			}
		}
		if in, found := p.pickLocked(programID); found {
			r.mu.Unlock()
			return in, true, nil
		}
		changed := r.changed
		r.mu.Unlock()

		if timeout == nil {
			t := time.NewTimer(r.cfg.PickWait)
			defer t.Stop()
			timeout = t.C
		}
		select {
		case <-changed:
		case <-timeout:
			return Instance{}, true, openzone.Wrap(openzone.ErrCallProgram, ErrNoHealthyInstance,
				"program %s has no healthy instance", programID)
		case <-ctx.Done():
			return Instance{}, true, openzone.Wrap(openzone.ErrCallProgram, errors.Join(ErrNoHealthyInstance, ctx.Err()),
				"program %s has no healthy instance", programID)
		}
	}
}

func (p *program) pickLocked(programID string) (Instance, bool) {
	n := len(p.insts)
	for i := range n {
		j := (p.next + i) % n
		in := p.insts[j]
		if in.healthy {
			p.next = (j + 1) % n
			return in.instance(programID), true
		}
	}
	return Instance{}, false
}

// Changed returns a channel closed at the next change of the instances
// (deployed, stopped, or one became healthy).
func (r *Supervisor) Changed() <-chan struct{} {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.changed
}

// Healthy returns every healthy instance of every program.
func (r *Supervisor) Healthy() []Instance {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []Instance
	for id, p := range r.programs {
		for _, in := range p.insts {
			if in.healthy {
				out = append(out, in.instance(id))
			}
		}
	}
	return out
}

// Has reports whether this supervisor runs an instance called name.
func (r *Supervisor) Has(programID, name string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if p := r.programs[programID]; p != nil {
		for _, in := range p.insts {
			if in.name == name {
				return true
			}
		}
	}
	return false
}

// Instances describes the instances of a program, in name order; nil when
// the program is not deployed.
func (r *Supervisor) Instances(programID string) []InstanceStatus {
	r.mu.Lock()
	defer r.mu.Unlock()
	p := r.programs[programID]
	if p == nil {
		return nil
	}
	out := make([]InstanceStatus, 0, len(p.insts))
	for _, in := range p.insts {
		st := InstanceStatus{
			Name:      in.name,
			URL:       in.url,
			PID:       in.pid,
			State:     in.state,
			Restarts:  in.restarts,
			StartedAt: in.startedAt,
			LastExit:  in.lastExit,
		}
		if p.spec.Sandbox != nil && r.cfg.Sandbox != nil {
			st.Sandbox = r.cfg.Sandbox.Status(programID, in.name, *p.spec.Sandbox)
		}
		out = append(out, st)
	}
	return out
}

// DialSandboxed connects to addr when it is the endpoint of a sandboxed
// instance of this node: straight inside its sandbox (the connection is
// made there and handed over). ok is false for any other address.
func (r *Supervisor) DialSandboxed(ctx context.Context, addr string) (c net.Conn, ok bool, err error) {
	r.dialMu.RLock()
	run := r.dials[addr]
	r.dialMu.RUnlock()
	if run == nil {
		return nil, false, nil
	}
	c, err = run.Dial(ctx)
	return c, true, err
}

// DialContext connects to addr as the gateway does: a sandboxed instance of
// this node inside its sandbox (DialSandboxed), anything else over TCP.
func (r *Supervisor) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	if c, ok, err := r.DialSandboxed(ctx, addr); ok {
		return c, err
	}
	return dialer.DialContext(ctx, network, addr)
}

var dialer = &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}

// Logs returns the last tail log lines of a program, oldest first (all kept
// lines when tail <= 0). Logs of an undeployed program stay available.
func (r *Supervisor) Logs(programID string, tail int) []LogLine {
	r.mu.Lock()
	b := r.books[programID]
	r.mu.Unlock()
	if b == nil {
		return nil
	}
	return b.tail(tail)
}

// MarkUnhealthy takes an instance out of Pick's rotation until its next
// health check passes. The gateway calls it when it cannot connect to the
// instance. It does nothing for URL instances (they are not health-checked)
// or for an instance that has since moved to another URL.
func (r *Supervisor) MarkUnhealthy(inst Instance) {
	r.mu.Lock()
	defer r.mu.Unlock()
	p := r.programs[inst.ProgramID]
	if p == nil {
		return
	}
	for _, in := range p.insts {
		if in.name == inst.Name && in.url == inst.URL && !in.static && in.healthy {
			in.healthy = false
			in.state = StateUnhealthy
			r.zoneLog(p.book, in.name, slog.LevelWarn, "marked unhealthy by the gateway")
		}
	}
}

// Shutdown stops every instance of every program: SIGTERM to each process
// group, then SIGKILL when ctx is done. It returns when all processes are
// gone; the error is ctx's if some had to be killed. Deploy fails after
// Shutdown. Calling Shutdown again waits for the first call and returns nil.
func (r *Supervisor) Shutdown(ctx context.Context) error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		<-r.shutdown
		return nil
	}
	r.closed = true
	var all []*instance
	for _, p := range r.programs {
		all = append(all, p.insts...)
	}
	clear(r.programs)
	r.notifyLocked()
	r.mu.Unlock()

	err := r.stopAll(ctx, all)
	r.wg.Wait()
	r.mu.Lock()
	for _, b := range r.books {
		b.closeFile(true)
	}
	r.mu.Unlock()
	close(r.shutdown)
	return err
}

// stopAll asks every instance to stop (SIGTERM) and waits for them; when ctx
// is done first, it kills the rest (SIGKILL), waits for them, and returns
// ctx's error.
func (r *Supervisor) stopAll(ctx context.Context, insts []*instance) error {
	for _, in := range insts {
		in.stop()
	}
	var err error
	for _, in := range insts {
		select {
		case <-in.done:
		case <-ctx.Done():
			err = ctx.Err()
			for _, in := range insts {
				in.kill()
			}
			<-in.done
		}
	}
	return err
}

// zoneLog records a zone-side line in the program's log and in the logger.
func (r *Supervisor) zoneLog(b *logbook, instance string, level slog.Level, text string) {
	b.add(LogLine{Time: time.Now(), Instance: instance, Stream: StreamZone, Text: text})
	attrs := []any{"program", b.programID}
	if instance != "" {
		attrs = append(attrs, "instance", instance)
	}
	r.log.Log(context.Background(), level, "supervisor: "+text, attrs...)
}

// States counts this supervisor's instances by program and state (the
// zone's instances metric).
func (r *Supervisor) States() map[[2]string]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[[2]string]int{}
	for id, p := range r.programs {
		for _, in := range p.insts {
			out[[2]string{id, in.state}]++
		}
	}
	return out
}
