package supervisor

import "syscall"

// setParentDeathSignal makes the kernel kill the child if the zone process
// dies without a Shutdown (kill -9, crash).
func setParentDeathSignal(a *syscall.SysProcAttr) { a.Pdeathsig = syscall.SIGKILL }
