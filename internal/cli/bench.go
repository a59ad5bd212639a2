package cli

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/openzone/openzone/internal/bench"
)

func init() {
	register(&command{
		name:  "bench",
		args:  "[--short] [--json FILE] [--only " + strings.Join(bench.Sections(), ",") + "] [--cpuprofile DIR] [--pg URL [--pg-only]]",
		short: "measure the zone's hot paths beside their baselines on loopback (BENCHMARKS.md)",
		run:   runBench,
	})
}

// runBench runs internal/bench from the repository root (it builds the
// example program and the plain echo program with go build) and prints
// its table; a missed target never fails the command, a failed section
// does.
func runBench(e *env, args []string) error {
	fs := newFlags(e, "bench")
	short := fs.Bool("short", false, "tiny counts and durations (CI: checks the bench runs; figures mean nothing)")
	jsonFile := fs.String("json", "", "also write the report as JSON to FILE")
	only := fs.String("only", "", "comma-separated sections to run: "+strings.Join(bench.Sections(), ", "))
	cpuDir := fs.String("cpuprofile", "", "write a CPU profile of each section (this process, which hosts the zone) to DIR/<section>.pprof")
	verbose := fs.Bool("v", false, "log the zones' warnings to stderr")
	pg := fs.String("pg", os.Getenv("OPENZONE_TEST_POSTGRES_URL"), "PostgreSQL database the kb section may create a schema in, to measure it there too (default OPENZONE_TEST_POSTGRES_URL)")
	pgOnly := fs.Bool("pg-only", false, "measure knowledge sets (kb) on PostgreSQL only (with --pg)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("unexpected argument %q", pos[0])
	}
	opts := bench.Options{Short: *short, CPUProfileDir: *cpuDir, Progress: e.stderr, Only: splitList(*only), Postgres: *pg,
		KBPostgresOnly: *pgOnly}
	// The zone child processes (rss, coldstart) are this very binary.
	if self, err := os.Executable(); err == nil {
		opts.ZoneBinary = self
	}
	if *verbose {
		opts.Logger = slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rep, err := bench.Run(ctx, opts)
	if rep != nil && len(rep.Sections) > 0 {
		rep.WriteTable(e.stdout)
		if *jsonFile != "" {
			f, ferr := os.Create(*jsonFile)
			if ferr != nil {
				return ferr
			}
			defer f.Close()
			if ferr := rep.WriteJSON(f); ferr != nil {
				return ferr
			}
			fmt.Fprintf(e.stderr, "report written to %s\n", *jsonFile)
		}
	}
	return err
}
