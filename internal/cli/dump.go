package cli

import (
	"context"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"

	"github.com/openzone/openzone/server"
)

func init() {
	register(&command{
		name:  "migrate",
		args:  "[--data ./openzone-data] [--db URL]",
		short: "bring a zone's database to this version's schema (serve does it too; run it first to upgrade before starting nodes)",
		run:   runMigrate,
	})
	register(&command{
		name:  "export",
		args:  "[--data ./openzone-data] [--db URL] [--out FILE]",
		short: "write every row of a stopped zone's database as JSON lines (to stdout without --out)",
		run:   runExport,
	})
	register(&command{
		name:  "import",
		args:  "[--data ./openzone-data] [--db URL] FILE",
		short: "load an export into an empty database (SQLite or PostgreSQL), queueing unfinished jobs again",
		run:   runImport,
	})
}

// dbFlags are the flags that name a database, as serve's do.
type dbFlags struct{ data, db string }

func (f *dbFlags) add(e *env, name string) *flag.FlagSet {
	fs := newFlags(e, name)
	fs.StringVar(&f.data, "data", envOr("OPENZONE_DATA", "openzone-data"), "data directory (OPENZONE_DATA), where the SQLite file is")
	fs.StringVar(&f.db, "db", os.Getenv("OPENZONE_DB"), "database (OPENZONE_DB): a postgres:// URL or sqlite:PATH; empty: SQLite in the data directory")
	return fs
}

func runMigrate(e *env, args []string) error {
	var f dbFlags
	fs := f.add(e, "migrate")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("unexpected argument %q", pos[0])
	}
	kind, err := server.Migrate(context.Background(), f.db, f.data)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "%s database is at this version's schema (%s)\n", kind, server.Version)
	return nil
}

func runExport(e *env, args []string) error {
	var f dbFlags
	var out string
	fs := f.add(e, "export")
	fs.StringVar(&out, "out", "", "file to write (must not exist); default stdout")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("unexpected argument %q", pos[0])
	}
	var w io.Writer = e.stdout
	if out != "" {
		file, err := os.OpenFile(out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return err
		}
		defer file.Close()
		w = file
	}
	stats, err := server.Export(context.Background(), f.db, f.data, w)
	if err != nil {
		return err
	}
	report(e, "exported", stats)
	return nil
}

func runImport(e *env, args []string) error {
	var f dbFlags
	fs := f.add(e, "import")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("import needs one FILE (an openzone export)")
	}
	file, err := os.Open(pos[0])
	if err != nil {
		return err
	}
	defer file.Close()
	stats, err := server.Import(context.Background(), f.db, f.data, file)
	if err != nil {
		return err
	}
	report(e, "imported", stats)
	return nil
}

// report prints the row counts to stderr, so an export to stdout stays
// clean.
func report(e *env, verb string, s *server.ExportStats) {
	total := 0
	for _, t := range slices.Sorted(maps.Keys(s.Rows)) {
		fmt.Fprintf(e.stderr, "  %-18s %d\n", t, s.Rows[t])
		total += s.Rows[t]
	}
	fmt.Fprintf(e.stderr, "%s %d rows\n", verb, total)
}
