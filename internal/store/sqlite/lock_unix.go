//go:build unix

package sqlite

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// lockFile takes an exclusive lock on path+".lock" for the life of the
// process's DB: one zone process per SQLite file, so the zone may treat
// what an earlier process left running as dead (jobs.Config.Exclusive).
func lockFile(path string) (*os.File, error) {
	f, err := os.OpenFile(path+".lock", os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("sqlite: lock: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("sqlite: %s is in use by another openzone process (one process per SQLite database; use PostgreSQL for several nodes)", path)
		}
		return nil, fmt.Errorf("sqlite: lock: %w", err)
	}
	return f, nil
}
