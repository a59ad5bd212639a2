package wwspec

import "syscall"

// threadID returns the calling OS thread's id, the tid of a log line.
func threadID() int { return syscall.Gettid() }
