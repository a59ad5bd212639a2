package sqlite_test

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/openzone/openzone/internal/store/sqlite"
)

// The database and its -wal and -shm files are its owner's alone, wherever
// the file is and whatever the umask; an older, wider file is narrowed.
func TestFilesPrivate(t *testing.T) {
	old := syscall.Umask(0o022)
	defer syscall.Umask(old)
	dir := t.TempDir()
	os.Chmod(dir, 0o755)
	for _, c := range []struct {
		name string
		pre  os.FileMode // 0: no file before
	}{{"new", 0}, {"wide", 0o644}} {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(dir, c.name+".db")
			if c.pre != 0 {
				if err := os.WriteFile(path, nil, c.pre); err != nil {
					t.Fatal(err)
				}
				os.Chmod(path, c.pre)
			}
			db, err := sqlite.Open(t.Context(), path)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			// A write makes sure the WAL and shared-memory files exist.
			if _, err := db.SQL().ExecContext(t.Context(), `CREATE TABLE IF NOT EXISTS t (x)`); err != nil {
				t.Fatal(err)
			}
			for _, p := range []string{path, path + "-wal", path + "-shm"} {
				fi, err := os.Stat(p)
				if err != nil {
					t.Fatal(err)
				}
				if fi.Mode().Perm() != 0o600 {
					t.Errorf("%s has mode %o, want 600", filepath.Base(p), fi.Mode().Perm())
				}
			}
		})
	}
}
