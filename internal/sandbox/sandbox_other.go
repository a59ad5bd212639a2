//go:build !linux

package sandbox

import (
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strconv"

	"github.com/openzone/openzone"
)

// APIURL is OPENZONE_API inside a sandbox.
var APIURL = "http://127.0.0.1:" + strconv.Itoa(APIPort)

var errUnsupported = errors.New("sandboxes need Linux namespaces; this zone runs on " + runtime.GOOS)

// Manager is the sandbox manager; on this OS it can only say why not.
type Manager struct{ cfg Config }

// New returns a Manager.
func New(cfg Config) *Manager { cfg.fill(); return &Manager{cfg: cfg} }

// Probe reports that this OS has no sandboxes.
func (m *Manager) Probe() Support {
	return Support{Reason: errUnsupported.Error(), Limits: "not enforced: " + errUnsupported.Error(),
		Runtime: "no OCI runtime: " + errUnsupported.Error(),
		Checks:  []Check{{Name: "namespaces", Note: errUnsupported.Error()}}}
}

// Prepare fails: no sandboxes here.
func (m *Manager) Prepare(Request) (*Run, error) {
	return nil, openzone.Wrap(openzone.ErrInvalidParam, errUnsupported, "isolation is on but this host cannot sandbox: %v", errUnsupported)
}

// Image fails: no sandboxes here.
func (m *Manager) Image(string) (string, error) {
	return "", openzone.Wrap(openzone.ErrInvalidParam, errUnsupported, "deploy.image: %v", errUnsupported)
}

// DataDir returns the host folder behind a program's /mnt/data.
func (m *Manager) DataDir(programID string) string { return "" }

// Status is nil: nothing runs sandboxed here.
func (m *Manager) Status(string, string, Spec) *Status { return nil }

// CheckCommand has nothing to check here.
func (m *Manager) CheckCommand([]string) error { return nil }

// Close does nothing.
func (m *Manager) Close() {}

// Run is never made on this OS.
type Run struct{}

func (r *Run) URL() string                            { return "" }
func (r *Run) Env() (port, host, api string)          { return "", "", "" }
func (r *Run) Command(*exec.Cmd)                      {}
func (r *Run) Start(int) error                        { return errUnsupported }
func (r *Run) Dial(context.Context) (net.Conn, error) { return nil, errUnsupported }
func (r *Run) Check() bool                            { return false }
func (r *Run) Exit(ps *os.ProcessState) string        { return ps.String() }
func (r *Run) ExitCode() int                          { return -1 }
func (r *Run) Close()                                 {}
