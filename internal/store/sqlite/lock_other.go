//go:build !unix

package sqlite

import "os"

// lockFile is a no-op where flock is unavailable.
func lockFile(path string) (*os.File, error) { return nil, nil }
