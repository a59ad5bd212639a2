//go:build !unix

package supervisor

import (
	"os"
	"os/exec"
	"syscall"
)

// Without process groups, signals reach the child only, and both stop
// signals kill it.
const (
	sigTerm = syscall.Signal(15)
	sigKill = syscall.Signal(9)
)

func sysProcAttr() *syscall.SysProcAttr { return nil }

func startCmd(cmd *exec.Cmd) error { return cmd.Start() }

func signalGroup(p *os.Process, _ syscall.Signal) {
	if p != nil {
		p.Kill()
	}
}
