//go:build !linux

package wwspec

// threadID returns 0 where the OS thread id is not at hand.
func threadID() int { return 0 }
