// Package osthread tells the calling OS thread's id: the tid of a log line
// in WeCom's format.
package osthread

import "syscall"

// ID returns the calling OS thread's id.
func ID() int64 { return int64(syscall.Gettid()) }
