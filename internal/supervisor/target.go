package supervisor

import (
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"slices"
	"strconv"

	"github.com/openzone/openzone/internal/sandbox"
)

// target is where one run of an instance listens, and how the zone starts,
// reaches, checks and describes it: a plain process on a free port of the
// host, or a sandbox with its own port 8080.
type target interface {
	url() string
	port() int // the host port the program binds; 0 when it has its own network
	env(base []string, zoneURL, instance string) []string
	prepare(cmd *exec.Cmd)
	started(pid int) error
	check() bool
	// exitText describes how the run ended, and the exit status when it
	// exited normally (else -1).
	exitText(ps *os.ProcessState) (string, int)
	where() string
	close()
}

func (r *Supervisor) newTarget(in *instance, l launch) (target, error) {
	if l.sandbox == nil {
		port, err := freePort(r.cfg.Host)
		if err != nil {
			return nil, err
		}
		return &plainTarget{host: r.cfg.Host, p: port}, nil
	}
	run, err := r.cfg.Sandbox.Prepare(sandbox.Request{
		ProgramID: l.programID, Instance: in.name, Spec: *l.sandbox,
		Path: l.path, Args: l.args, Env: l.env, Dir: l.dir,
		LogFunc: func(level slog.Level, text string) { r.zoneLog(l.book, in.name, level, text) },
	})
	if err != nil {
		return nil, err
	}
	return &sandboxTarget{run: run}, nil
}

// plainTarget is a local process on a port of the host.
type plainTarget struct {
	host string
	p    int
}

func (t *plainTarget) url() string { return "http://" + net.JoinHostPort(t.host, strconv.Itoa(t.p)) }
func (t *plainTarget) port() int   { return t.p }
func (t *plainTarget) env(base []string, zoneURL, instance string) []string {
	return append(slices.Clip(base), "OPENZONE_API="+zoneURL, "PORT="+strconv.Itoa(t.p), "HOST="+t.host, "OPENZONE_INSTANCE="+instance)
}
func (t *plainTarget) prepare(*exec.Cmd) {}
func (t *plainTarget) started(int) error { return nil }
func (t *plainTarget) check() bool       { return checkHealth(t.host, t.p) }
func (t *plainTarget) where() string     { return fmt.Sprintf("on port %d", t.p) }
func (t *plainTarget) close()            {}
func (t *plainTarget) exitText(ps *os.ProcessState) (string, int) {
	return ps.String(), ps.ExitCode()
}

// sandboxTarget is a sandbox (internal/sandbox): the process started is
// its init, the program listens on 8080 inside, and OPENZONE_API is the
// sandbox's bridge to the program API.
type sandboxTarget struct{ run *sandbox.Run }

func (t *sandboxTarget) url() string { return t.run.URL() }
func (t *sandboxTarget) port() int   { return 0 }
func (t *sandboxTarget) env(base []string, _, instance string) []string {
	port, host, api := t.run.Env()
	return append(slices.Clip(base), "OPENZONE_API="+api, "PORT="+port, "HOST="+host, "OPENZONE_INSTANCE="+instance)
}
func (t *sandboxTarget) prepare(cmd *exec.Cmd) { t.run.Command(cmd) }
func (t *sandboxTarget) started(pid int) error { return t.run.Start(pid) }
func (t *sandboxTarget) check() bool           { return t.run.Check() }
func (t *sandboxTarget) close()                { t.run.Close() }
func (t *sandboxTarget) where() string {
	return fmt.Sprintf("in a sandbox (port %d inside, reached at %s)", sandbox.AppPort, t.run.URL())
}
func (t *sandboxTarget) exitText(ps *os.ProcessState) (string, int) {
	return t.run.Exit(ps), t.run.ExitCode()
}
