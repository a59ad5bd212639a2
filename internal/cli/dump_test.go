package cli_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/openzone/openzone/internal/cli"
	"github.com/openzone/openzone/internal/store/postgres/pgtest"
	"github.com/openzone/openzone/internal/testenv"
)

// TestMigrateExportImport drives migrate, export and import as an operator
// does: a zone's data directory exported to a file, imported into a new
// database (PostgreSQL when configured, else another SQLite file), the
// errors named.
func TestMigrateExportImport(t *testing.T) {
	z := testenv.Start(t, testenv.Options{Seed: seed})
	z.Token("wwdemo", "s")
	if err := z.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	out := filepath.Join(dir, "zone.jsonl")
	target := "sqlite:" + filepath.Join(dir, "moved.db")
	if pgtest.Enabled() {
		target = pgtest.URL(t)
	}
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string // in stdout or stderr
	}{
		{"Migrate", []string{"migrate", "--data", z.DataDir()}, 0, "sqlite database is at this version's schema"},
		{"Export", []string{"export", "--data", z.DataDir(), "--out", out}, 0, "access_token"},
		{"ExportExists", []string{"export", "--data", z.DataDir(), "--out", out}, cli.ExitFailure, "exists"},
		{"Import", []string{"import", "--db", target, out}, 0, "imported"},
		{"ImportAgain", []string{"import", "--db", target, out}, cli.ExitFailure, "not empty"},
		{"ImportNoFile", []string{"import", "--db", target}, cli.ExitUsage, "one FILE"},
		{"BadDB", []string{"migrate", "--db", "mysql://x"}, cli.ExitFailure, "not supported"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := run(nil, tc.args...)
			if code != tc.code || !strings.Contains(stdout+stderr, tc.want) {
				t.Fatalf("exit %d, want %d; output %q %q, want %q in it", code, tc.code, stdout, stderr, tc.want)
			}
		})
	}
	b, err := os.ReadFile(out)
	if err != nil || !strings.Contains(string(b), `"table":"corp"`) {
		t.Fatalf("export file: %v %.200s", err, b)
	}
}
