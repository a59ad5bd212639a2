//go:build unix

package supervisor

import (
	"os"
	"os/exec"
	goruntime "runtime"
	"syscall"
)

const (
	sigTerm = syscall.SIGTERM
	sigKill = syscall.SIGKILL
)

// sysProcAttr puts the child in a process group of its own, so that
// signalGroup reaches everything it starts.
func sysProcAttr() *syscall.SysProcAttr {
	a := &syscall.SysProcAttr{Setpgid: true}
	setParentDeathSignal(a)
	return a
}

// startCmd starts cmd on a locked OS thread: the parent-death signal (Linux)
// is tied to the thread that forked the child, and a locked-then-unlocked
// thread is never retired while the process lives.
func startCmd(cmd *exec.Cmd) error {
	goruntime.LockOSThread()
	defer goruntime.UnlockOSThread()
	return cmd.Start()
}

// signalGroup sends sig to the process group led by p. Errors (the group is
// already gone) are ignored.
func signalGroup(p *os.Process, sig syscall.Signal) {
	if p != nil && p.Pid > 0 {
		syscall.Kill(-p.Pid, sig)
	}
}
