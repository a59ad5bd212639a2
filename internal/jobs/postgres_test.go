package jobs_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/openzone/openzone"
	"github.com/openzone/openzone/internal/jobs"
	"github.com/openzone/openzone/internal/store"
	"github.com/openzone/openzone/internal/store/postgres"
	"github.com/openzone/openzone/internal/store/postgres/pgtest"
)

func openPG(t testing.TB, url string) *postgres.DB {
	t.Helper()
	db, err := postgres.Open(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// newPGRunner is newRunner on PostgreSQL: riverpgxv5 on the store's pool,
// River's tables in the store's schema.
func newPGRunner(t testing.TB, db *postgres.DB, register func(*jobs.Runner)) *jobs.Runner {
	t.Helper()
	r, err := jobs.New(jobs.Config{Pool: db.Pool(), Schema: db.Schema(), Logger: testLogger(), RetryPolicy: fastRetry})
	if err != nil {
		t.Fatal(err)
	}
	register(r)
	if err := r.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()
		if err := r.Stop(ctx); err != nil {
			t.Error(err)
		}
	})
	return r
}

// TestPostgres_InsertTx: on PostgreSQL a job commits and rolls back with
// the store's transaction, and a failed attempt is retried.
func TestPostgres_InsertTx(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	db := openPG(t, pgtest.URL(t))
	w := newFuncWorker(func(ctx context.Context, j *river.Job[TestArgs]) error {
		if j.Attempt == 1 {
			return errors.New("first attempt fails")
		}
		return nil
	})
	r := newPGRunner(t, db, func(r *jobs.Runner) { jobs.Register(r, w) })

	for _, tc := range []struct {
		note string
		ret  error
	}{{"rolled back", errors.New("abort")}, {"committed", nil}} {
		err := db.InTx(ctx, func(tx store.Executor) error {
			if err := tx.CorpUpsert(ctx, &openzone.Corp{CorpID: tc.note}); err != nil {
				return err
			}
			if err := r.InsertTx(ctx, tx, TestArgs{Note: tc.note}, nil); err != nil {
				return err
			}
			return tc.ret
		})
		if !errors.Is(err, tc.ret) {
			t.Fatalf("InTx = %v, want %v", err, tc.ret)
		}
	}
	first, second := w.next(t), w.next(t)
	if first.Note != "committed" || first.Attempt != 1 || second.ID != first.ID || second.Attempt != 2 {
		t.Fatalf("runs %+v then %+v, want the committed job twice (attempts 1, 2)", first, second)
	}
	waitState(t, r, first.ID, rivertype.JobStateCompleted)
	w.none(t, 300*time.Millisecond)
	if n := len(listJobs(t, r)); n != 1 {
		t.Errorf("%d jobs, want 1 (the rolled-back one never existed)", n)
	}
	if err := r.InsertTx(ctx, db, TestArgs{}, nil); err == nil {
		t.Error("InsertTx outside a transaction succeeded")
	}
}

// TestPostgres_TwoRunners: two runners on one database (two zone nodes)
// share the queue: every job runs exactly once, whichever node inserted it.
func TestPostgres_TwoRunners(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	url := pgtest.URL(t)
	var mu sync.Mutex
	ran := map[string][]string{} // note → nodes that ran it
	worker := func(node string) *noteWorker {
		return &noteWorker{fn: func(note string) {
			mu.Lock()
			ran[note] = append(ran[note], node)
			mu.Unlock()
		}}
	}
	a, b := openPG(t, url), openPG(t, url)
	wa, wb := worker("a"), worker("b")
	ra := newPGRunner(t, a, func(r *jobs.Runner) { jobs.Register(r, wa) })
	rb := newPGRunner(t, b, func(r *jobs.Runner) { jobs.Register(r, wb) })

	const n = 200
	for i := range n {
		r, db := ra, a
		if i%2 == 1 {
			r, db = rb, b
		}
		err := db.InTx(ctx, func(tx store.Executor) error {
			return r.InsertTx(ctx, tx, TestArgs{Note: fmt.Sprint(i)}, nil)
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(wait)
	for {
		mu.Lock()
		done := len(ran)
		mu.Unlock()
		if done == n {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d jobs ran", done, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond)
	mu.Lock()
	defer mu.Unlock()
	nodes := map[string]int{}
	for note, by := range ran {
		if len(by) != 1 {
			t.Errorf("job %s ran %d times (%v), want once", note, len(by), by)
		}
		nodes[by[0]]++
	}
	t.Logf("jobs run per node: %v", nodes)
}

// noteWorker hands each job's note to fn.
type noteWorker struct {
	river.WorkerDefaults[TestArgs]
	fn func(note string)
}

func (w *noteWorker) Work(ctx context.Context, j *river.Job[TestArgs]) error {
	w.fn(j.Args.Note)
	return nil
}

// TestPostgres_RestartResumesOwnJobs: jobs a node's previous run left
// "running" (it was killed) run again as soon as the node restarts, not
// after the rescue delay; another node's running jobs are left alone.
func TestPostgres_RestartResumesOwnJobs(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	db := openPG(t, pgtest.URL(t))
	inserter, err := jobs.New(jobs.Config{Pool: db.Pool(), Schema: db.Schema(), Logger: testLogger(), InsertOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	// Two jobs as if running when their nodes died: one of node-a's
	// previous run, one of node-b, which may still be alive.
	for _, tc := range []struct{ note, node string }{{"mine", "node-a"}, {"theirs", "node-b"}} {
		res, err := inserter.Client().Insert(ctx, TestArgs{Note: tc.note}, nil)
		if err != nil {
			t.Fatal(err)
		}
		prev := jobs.ClientPrefix(tc.node) + "previousrun"
		if _, err := db.Pool().Exec(ctx, `UPDATE river_job SET state = 'running', attempt = 1, attempted_at = now(),
			attempted_by = ARRAY[$1] WHERE id = $2`, prev, res.Job.ID); err != nil {
			t.Fatal(err)
		}
	}
	w := newFuncWorker(nil)
	r, err := jobs.New(jobs.Config{Pool: db.Pool(), Schema: db.Schema(), Logger: testLogger(), NodeName: "node-a"})
	if err != nil {
		t.Fatal(err)
	}
	jobs.Register(r, w)
	if err := r.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Stop(context.Background()) })
	if got := w.next(t); got.Note != "mine" {
		t.Fatalf("ran %+v, want node-a's own job", got)
	}
	w.none(t, 500*time.Millisecond)
}
