package server

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/riverqueue/river"

	"github.com/openzone/openzone/internal/jobs"
	"github.com/openzone/openzone/internal/store"
)

// Migrate brings the database db names (dataDir holds the SQLite file when
// db is "") to this binary's schema, the zone's and River's, and returns
// which database it is. Start does the same; running it first lets an
// operator upgrade before starting the new version on every node.
func Migrate(ctx context.Context, db, dataDir string) (string, error) {
	st, jcfg, err := openStore(ctx, db, dataDir)
	if err != nil {
		return "", err
	}
	defer st.Close()
	if _, err := jobs.New(jcfg); err != nil {
		return "", err
	}
	if _, ok := st.(store.Cluster); ok {
		return "postgres", nil
	}
	return "sqlite", nil
}

// ExportStats counts what an export or import moved.
type ExportStats struct {
	Rows map[string]int // per table, jobs under store.DumpJobs
}

// Export writes every row of the zone in db to w, one JSON object a line
// (store.DumpRow). Stop the zone first: an export is one snapshot, but
// what a running zone writes after it is not in it.
func Export(ctx context.Context, db, dataDir string, w io.Writer) (*ExportStats, error) {
	st, _, err := openStore(ctx, db, dataDir)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	d, ok := st.(store.Dumper)
	if !ok {
		return nil, errors.New("export: this database cannot be exported")
	}
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	stats := &ExportStats{Rows: map[string]int{}}
	if err := d.Dump(ctx, func(r store.DumpRow) error {
		stats.Rows[r.Table]++
		return enc.Encode(r)
	}); err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	return stats, bw.Flush()
}

// jobParams turns a dumped job back into an insert.
func jobParams(row store.DumpRow) (river.InsertManyParams, error) {
	kind, _ := row.Get("kind").(string)
	args, _ := row.Get("args").(string)
	queue, _ := row.Get("queue").(string)
	prio, _ := row.Get("priority").(int64)
	maxAttempts, _ := row.Get("max_attempts").(int64)
	if kind == "" || !json.Valid([]byte(args)) {
		return river.InsertManyParams{}, errors.New("a job row has no kind or bad args")
	}
	return river.InsertManyParams{Args: rawJob{kind, json.RawMessage(args)},
		InsertOpts: &river.InsertOpts{Queue: queue, Priority: int(prio), MaxAttempts: int(maxAttempts)}}, nil
}

// rawJob re-enqueues a dumped job: its kind and its args as they were.
type rawJob struct {
	kind string
	args json.RawMessage
}

func (j rawJob) Kind() string                 { return j.kind }
func (j rawJob) MarshalJSON() ([]byte, error) { return j.args, nil }

// Import loads an export into db, which must hold no zone data yet, and
// queues again the jobs that had not finished (each from its first
// attempt). The zone's archive key is not in an export: give the imported
// zone the old one (OPENZONE_ARCHIVE_KEY or archive.key), or the archive's
// content cannot be read.
func Import(ctx context.Context, db, dataDir string, r io.Reader) (*ExportStats, error) {
	st, jcfg, err := openStore(ctx, db, dataDir)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	d, ok := st.(store.Dumper)
	if !ok {
		return nil, errors.New("import: this database cannot be imported into")
	}
	stats := &ExportStats{Rows: map[string]int{}}
	var params []river.InsertManyParams
	dec := json.NewDecoder(bufio.NewReader(r))
	// The rows stream into Load; the jobs among them are kept to queue
	// once the rows are in.
	rows := func(yield func(store.DumpRow, error) bool) {
		for line := 1; ; line++ {
			var row store.DumpRow
			err := dec.Decode(&row)
			if err == io.EOF {
				return
			}
			if err != nil {
				yield(store.DumpRow{}, fmt.Errorf("row %d: %w", line, err))
				return
			}
			stats.Rows[row.Table]++
			if row.Table == store.DumpJobs {
				p, err := jobParams(row)
				if err != nil {
					yield(store.DumpRow{}, fmt.Errorf("row %d: %w", line, err))
					return
				}
				params = append(params, p)
			}
			if !yield(row, nil) {
				return
			}
		}
	}
	if err := d.Load(ctx, rows); err != nil {
		return nil, fmt.Errorf("import: %w", err)
	}
	if len(params) == 0 {
		return stats, nil
	}
	jcfg.InsertOnly = true
	runner, err := jobs.New(jcfg)
	if err != nil {
		return nil, fmt.Errorf("import: %w", err)
	}
	if _, err := runner.Client().InsertMany(ctx, params); err != nil {
		return nil, fmt.Errorf("import: queue %d unfinished jobs: %w", len(params), err)
	}
	return stats, nil
}
