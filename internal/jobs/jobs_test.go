package jobs_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/openzone/openzone"
	"github.com/openzone/openzone/internal/bench"
	"github.com/openzone/openzone/internal/jobs"
	"github.com/openzone/openzone/internal/store"
	"github.com/openzone/openzone/internal/store/sqlite"
)

// wait is how long a test waits for something that should take ~100 ms.
const wait = 5 * time.Second

// fastRetry retries after 10 ms whatever the attempt.
var fastRetry = &jobs.RetryPolicy{Backoff: func(int) time.Duration { return 10 * time.Millisecond }}

func testLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

func openStore(t testing.TB, path string) *sqlite.DB {
	t.Helper()
	db, err := sqlite.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// newRunner builds a runner on db with the fast retry policy; register is
// called before Start. The runner is stopped when the test ends.
func newRunner(t testing.TB, db *sqlite.DB, register func(*jobs.Runner)) *jobs.Runner {
	t.Helper()
	r, err := jobs.New(jobs.Config{DB: db.SQL(), Logger: testLogger(), RetryPolicy: fastRetry})
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

// run is one call of a worker.
type run struct {
	ID      int64
	Attempt int
	Note    string
}

// TestArgs is the test job; Kind is fixed, as every real kind must be.
type TestArgs struct {
	Note string `json:"note"`
}

func (TestArgs) Kind() string { return "jobs_test" }

// funcWorker runs fn and reports every call on runs.
type funcWorker struct {
	river.WorkerDefaults[TestArgs]
	runs chan run
	fn   func(ctx context.Context, j *river.Job[TestArgs]) error
}

func newFuncWorker(fn func(ctx context.Context, j *river.Job[TestArgs]) error) *funcWorker {
	return &funcWorker{runs: make(chan run, 100), fn: fn}
}

func (w *funcWorker) Work(ctx context.Context, j *river.Job[TestArgs]) error {
	w.runs <- run{ID: j.ID, Attempt: j.Attempt, Note: j.Args.Note}
	if w.fn == nil {
		return nil
	}
	return w.fn(ctx, j)
}

func (w *funcWorker) next(t testing.TB) run {
	t.Helper()
	return w.nextWithin(t, wait)
}

func (w *funcWorker) nextWithin(t testing.TB, d time.Duration) run {
	t.Helper()
	select {
	case r := <-w.runs:
		return r
	case <-time.After(d):
		t.Fatal("no job ran")
		return run{}
	}
}

func (w *funcWorker) none(t testing.TB, d time.Duration) {
	t.Helper()
	select {
	case r := <-w.runs:
		t.Fatalf("unexpected run %+v", r)
	case <-time.After(d):
	}
}

// waitState polls until the job is in state and returns its row.
func waitState(t testing.TB, r *jobs.Runner, id int64, state rivertype.JobState) *rivertype.JobRow {
	t.Helper()
	deadline := time.Now().Add(wait)
	for {
		j, err := r.Client().JobGet(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if j.State == state {
			return j
		}
		if time.Now().After(deadline) {
			t.Fatalf("job %d is %s, want %s", id, j.State, state)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func listJobs(t testing.TB, r *jobs.Runner) []*rivertype.JobRow {
	t.Helper()
	res, err := r.Client().JobList(context.Background(), river.NewJobListParams().Kinds(TestArgs{}.Kind()).First(1000))
	if err != nil {
		t.Fatal(err)
	}
	return res.Jobs
}

// TestInsertTxCommit: a job inserted with the business row runs once, after
// commit, on an idle zone within ~100 ms.
func TestInsertTxCommit(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	db := openStore(t, filepath.Join(t.TempDir(), "zone.db"))
	var committed atomic.Bool
	w := newFuncWorker(func(ctx context.Context, j *river.Job[TestArgs]) error {
		if !committed.Load() {
			return jobs.Cancel(errors.New("ran before commit"))
		}
		return nil
	})
	r := newRunner(t, db, func(r *jobs.Runner) { jobs.Register(r, w) })
	time.Sleep(200 * time.Millisecond) // let the runner go idle

	var start time.Time
	err := db.InTx(ctx, func(tx store.Executor) error {
		if err := tx.CorpUpsert(ctx, &openzone.Corp{CorpID: "wwcorp", Name: "Corp"}); err != nil {
			return err
		}
		if err := r.InsertTx(ctx, tx, TestArgs{Note: "hello"}, nil); err != nil {
			return err
		}
		// Hold the transaction open a while: nothing may run meanwhile.
		time.Sleep(150 * time.Millisecond)
		committed.Store(true)
		start = time.Now()
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	got := w.next(t)
	t.Logf("job started %v after commit", time.Since(start))
	if got.Note != "hello" || got.Attempt != 1 {
		t.Errorf("run = %+v", got)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("job started %v after commit, want ~100 ms", d)
	}
	j := waitState(t, r, got.ID, rivertype.JobStateCompleted)
	if j.Attempt != 1 || len(j.Errors) != 0 {
		t.Errorf("job attempt %d errors %v", j.Attempt, j.Errors)
	}
	w.none(t, 300*time.Millisecond)
	if _, err := db.CorpGet(ctx, "wwcorp"); err != nil {
		t.Errorf("business row: %v", err)
	}
}

// TestInsertTxRollback: a rolled-back transaction leaves neither job nor row.
func TestInsertTxRollback(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	db := openStore(t, filepath.Join(t.TempDir(), "zone.db"))
	w := newFuncWorker(nil)
	r := newRunner(t, db, func(r *jobs.Runner) { jobs.Register(r, w) })

	errAbort := errors.New("abort")
	err := db.InTx(ctx, func(tx store.Executor) error {
		if err := tx.CorpUpsert(ctx, &openzone.Corp{CorpID: "wwcorp", Name: "Corp"}); err != nil {
			return err
		}
		if err := r.InsertTx(ctx, tx, TestArgs{Note: "never"}, nil); err != nil {
			return err
		}
		return errAbort
	})
	if !errors.Is(err, errAbort) {
		t.Fatalf("InTx = %v", err)
	}
	w.none(t, 400*time.Millisecond)
	if n := len(listJobs(t, r)); n != 0 {
		t.Errorf("%d jobs after rollback", n)
	}
	if _, err := db.CorpGet(ctx, "wwcorp"); !openzone.IsNotFound(err) {
		t.Errorf("CorpGet after rollback = %v, want not found", err)
	}
}

// TestInsertTxNotTransactional: InsertTx refuses an executor that is not a
// transaction, with a message that says what to do.
func TestInsertTxNotTransactional(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	db := openStore(t, filepath.Join(t.TempDir(), "zone.db"))
	r, err := jobs.New(jobs.Config{DB: db.SQL(), Logger: testLogger()})
	if err != nil {
		t.Fatal(err)
	}
	jobs.Register(r, newFuncWorker(nil))
	for _, tc := range []struct {
		name string
		tx   store.Executor
		want string
	}{
		{"store itself", db, "not inside a transaction"},
		{"nil", nil, "no SQL transaction"},
	} {
		err := r.InsertTx(ctx, tc.tx, TestArgs{}, nil)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: InsertTx = %v, want error containing %q", tc.name, err, tc.want)
		}
	}
	if n := len(listJobs(t, r)); n != 0 {
		t.Errorf("%d jobs inserted", n)
	}
}

// TestRetry: a worker failing twice then succeeding runs as attempts 1, 2, 3.
func TestRetry(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	db := openStore(t, filepath.Join(t.TempDir(), "zone.db"))
	w := newFuncWorker(func(ctx context.Context, j *river.Job[TestArgs]) error {
		if j.Attempt < 3 {
			return fmt.Errorf("fail %d", j.Attempt)
		}
		return nil
	})
	r := newRunner(t, db, func(r *jobs.Runner) { jobs.Register(r, w) })
	if err := r.Insert(ctx, TestArgs{Note: "retry"}, nil); err != nil {
		t.Fatal(err)
	}
	var attempts []int
	var id int64
	for range 3 {
		got := w.next(t)
		id = got.ID
		attempts = append(attempts, got.Attempt)
	}
	if fmt.Sprint(attempts) != "[1 2 3]" {
		t.Errorf("attempts = %v, want [1 2 3]", attempts)
	}
	j := waitState(t, r, id, rivertype.JobStateCompleted)
	if j.Attempt != 3 || j.MaxAttempts != jobs.MaxAttempts || len(j.Errors) != 2 || j.Errors[1].Error != "fail 2" {
		t.Errorf("job attempt %d max %d errors %+v", j.Attempt, j.MaxAttempts, j.Errors)
	}
	w.none(t, 100*time.Millisecond)
}

// TestCancel: jobs.Cancel ends a job at once, without retries.
func TestCancel(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	db := openStore(t, filepath.Join(t.TempDir(), "zone.db"))
	w := newFuncWorker(func(ctx context.Context, j *river.Job[TestArgs]) error {
		return jobs.Cancel(errors.New("gone for good"))
	})
	r := newRunner(t, db, func(r *jobs.Runner) { jobs.Register(r, w) })
	if err := r.Insert(ctx, TestArgs{}, nil); err != nil {
		t.Fatal(err)
	}
	got := w.next(t)
	j := waitState(t, r, got.ID, rivertype.JobStateCancelled)
	if j.Attempt != 1 || len(j.Errors) != 1 || !strings.Contains(j.Errors[0].Error, "gone for good") {
		t.Errorf("job attempt %d errors %+v", j.Attempt, j.Errors)
	}
	w.none(t, 100*time.Millisecond)
}

// TestWake: a snoozed job runs again at once when woken by its id and
// args, without using up an attempt; an id whose job has other args, or no
// job, is left alone.
func TestWake(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	db := openStore(t, filepath.Join(t.TempDir(), "zone.db"))
	var snoozed sync.Map // note → true once its job snoozed
	w := newFuncWorker(func(ctx context.Context, j *river.Job[TestArgs]) error {
		if _, again := snoozed.LoadOrStore(j.Args.Note, true); again && j.Args.Note == "snooze" {
			return nil
		}
		return jobs.Snooze(time.Hour)
	})
	r := newRunner(t, db, func(r *jobs.Runner) {
		jobs.Register(r, w)
	})
	for _, note := range []string{"snooze", "other"} {
		if err := r.Insert(ctx, TestArgs{Note: note}, nil); err != nil {
			t.Fatal(err)
		}
	}
	ids := map[string]int64{}
	for range 2 {
		got := w.next(t)
		ids[got.Note] = got.ID
	}
	waitState(t, r, ids["snooze"], rivertype.JobStateScheduled)
	waitState(t, r, ids["other"], rivertype.JobStateScheduled)

	// The id of "other" with the args of "snooze": not that job.
	if err := r.Wake(ctx, ids["other"], TestArgs{Note: "snooze"}); err != nil {
		t.Fatal(err)
	}
	if err := r.Wake(ctx, 1<<40, TestArgs{Note: "snooze"}); err != nil {
		t.Fatalf("wake a job that does not exist: %v", err)
	}
	if err := r.Wake(ctx, ids["snooze"], TestArgs{Note: "snooze"}); err != nil {
		t.Fatal(err)
	}
	got := w.next(t)
	if got.ID != ids["snooze"] || got.Attempt != 1 {
		t.Fatalf("woken run %+v, want job %d again at attempt 1", got, ids["snooze"])
	}
	waitState(t, r, ids["snooze"], rivertype.JobStateCompleted)
	if j := waitState(t, r, ids["other"], rivertype.JobStateScheduled); j.Attempt != 0 && j.Attempt != 1 {
		t.Fatalf("other job: attempt %d", j.Attempt)
	}
	w.none(t, 100*time.Millisecond)
}

// startRunner starts a runner that the test stops itself.
func startRunner(t testing.TB, db *sqlite.DB, cfg jobs.Config, w river.Worker[TestArgs]) *jobs.Runner {
	t.Helper()
	cfg.DB, cfg.Logger = db.SQL(), testLogger()
	r, err := jobs.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	jobs.Register(r, w)
	if err := r.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	return r
}

// TestRestartRetryPending: a job that failed and waits for its retry when
// the zone stops is retried by a new runner on the reopened file (a
// restart), when due and not before.
func TestRestartRetryPending(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "zone.db")
	const backoff = 400 * time.Millisecond
	cfg := jobs.Config{RetryPolicy: &jobs.RetryPolicy{Backoff: func(int) time.Duration { return backoff }}}

	db1, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	fail := newFuncWorker(func(context.Context, *river.Job[TestArgs]) error { return errors.New("receiver down") })
	r1 := startRunner(t, db1, cfg, fail)
	if err := r1.Insert(ctx, TestArgs{Note: "survive"}, nil); err != nil {
		t.Fatal(err)
	}
	first := fail.next(t)
	failedAt := time.Now()
	j := waitState(t, r1, first.ID, rivertype.JobStateAvailable) // retry due within 5 s: "available" at a future time
	if j.Attempt != 1 || len(j.Errors) != 1 || !j.ScheduledAt.After(time.Now()) {
		t.Fatalf("before stop: job %s attempt %d errors %d scheduled %v, want a pending retry", j.State, j.Attempt, len(j.Errors), j.ScheduledAt)
	}
	if err := r1.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if err := db1.Close(); err != nil {
		t.Fatal(err)
	}

	db2 := openStore(t, path)
	done := newFuncWorker(nil)
	r2 := startRunner(t, db2, cfg, done)
	defer r2.Stop(ctx)
	got := done.next(t)
	if got.ID != first.ID || got.Attempt != 2 || got.Note != "survive" {
		t.Errorf("after restart ran %+v, want job %d attempt 2", got, first.ID)
	}
	if d := time.Since(failedAt); d < backoff-20*time.Millisecond {
		t.Errorf("retried %v after the failure, before its %v backoff", d, backoff)
	}
	j = waitState(t, r2, first.ID, rivertype.JobStateCompleted)
	if j.Attempt != 2 || len(j.Errors) != 1 {
		t.Errorf("job attempt %d errors %d", j.Attempt, len(j.Errors))
	}
}

// TestRestartInterrupted: a job still running when Stop's deadline passes
// is cancelled; River puts it back as available without using an attempt,
// and the next runner (after a restart) runs it as attempt 1.
func TestRestartInterrupted(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "zone.db")

	db1, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	block := newFuncWorker(func(ctx context.Context, j *river.Job[TestArgs]) error {
		<-ctx.Done()
		return ctx.Err()
	})
	r1 := startRunner(t, db1, jobs.Config{}, block)
	if err := r1.Insert(ctx, TestArgs{Note: "survive"}, nil); err != nil {
		t.Fatal(err)
	}
	first := block.next(t)

	stopCtx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	if err := r1.Stop(stopCtx); err != nil {
		t.Fatalf("Stop = %v", err)
	}
	if err := r1.Stop(ctx); err != nil { // a second Stop is harmless
		t.Fatalf("second Stop = %v", err)
	}
	j, err := r1.Client().JobGet(ctx, first.ID)
	if err != nil {
		t.Fatal(err)
	}
	if j.State != rivertype.JobStateAvailable || j.Attempt != 0 || len(j.Errors) != 0 {
		t.Fatalf("after stop: job %s attempt %d errors %+v, want available, attempt 0", j.State, j.Attempt, j.Errors)
	}
	if err := db1.Close(); err != nil {
		t.Fatal(err)
	}

	db2 := openStore(t, path)
	done := newFuncWorker(nil)
	r2 := startRunner(t, db2, jobs.Config{}, done)
	defer r2.Stop(ctx)
	got := done.next(t)
	if got.ID != first.ID || got.Attempt != 1 || got.Note != "survive" {
		t.Errorf("after restart ran %+v, want job %d attempt 1", got, first.ID)
	}
	waitState(t, r2, first.ID, rivertype.JobStateCompleted)
}

// TestRescueAfterKill: a job left "running" by a killed process (kill -9:
// nothing recorded its end) is rescued by the next runner once it has run
// longer than RescueStuckJobsAfter (default 1 min), and retried as its next
// attempt. The kill is simulated by marking the job running 2 min ago.
func TestRescueAfterKill(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	db := openStore(t, filepath.Join(t.TempDir(), "zone.db"))
	r1, err := jobs.New(jobs.Config{DB: db.SQL(), Logger: testLogger()})
	if err != nil {
		t.Fatal(err)
	}
	jobs.Register(r1, newFuncWorker(nil))
	if err := r1.Insert(ctx, TestArgs{Note: "killed"}, nil); err != nil {
		t.Fatal(err)
	}
	startedAt := time.Now().Add(-2 * time.Minute).UTC().Format("2006-01-02 15:04:05.000")
	if _, err := db.SQL().ExecContext(ctx, `UPDATE river_job SET state = 'running', attempt = 1,
		attempted_at = ?, attempted_by = json_array('dead-client') WHERE kind = 'jobs_test'`, startedAt); err != nil {
		t.Fatal(err)
	}

	w := newFuncWorker(nil)
	start := time.Now()
	newRunner(t, db, func(r *jobs.Runner) { jobs.Register(r, w) })
	// Rescuer and scheduler each first run within 1 s of start; the
	// scheduler then every 5 s. So at most ~6 s.
	got := w.nextWithin(t, 15*time.Second)
	t.Logf("stuck job rescued and rerun %v after start", time.Since(start))
	if got.Attempt != 2 || got.Note != "killed" {
		t.Errorf("rescued run %+v, want attempt 2", got)
	}
}

// TestQueuedSurvivesRestart: a job queued while no runner works is run by
// the next one.
func TestQueuedSurvivesRestart(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "zone.db")
	db1, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	r1, err := jobs.New(jobs.Config{DB: db1.SQL(), Logger: testLogger()})
	if err != nil {
		t.Fatal(err)
	}
	jobs.Register(r1, newFuncWorker(nil))
	if err := db1.InTx(ctx, func(tx store.Executor) error {
		return r1.InsertTx(ctx, tx, TestArgs{Note: "queued"}, nil)
	}); err != nil {
		t.Fatal(err)
	}
	if err := r1.Stop(ctx); err != nil { // never started: a no-op
		t.Fatal(err)
	}
	db1.Close()

	db2 := openStore(t, path)
	w := newFuncWorker(nil)
	newRunner(t, db2, func(r *jobs.Runner) { jobs.Register(r, w) })
	if got := w.next(t); got.Note != "queued" || got.Attempt != 1 {
		t.Errorf("ran %+v", got)
	}
}

// TestKinds: the kind is stored verbatim in the job row (so it is on-disk
// format and must never change), and Register rejects kinds River would.
func TestKinds(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	db := openStore(t, filepath.Join(t.TempDir(), "zone.db"))
	r, err := jobs.New(jobs.Config{DB: db.SQL(), Logger: testLogger()})
	if err != nil {
		t.Fatal(err)
	}
	jobs.Register(r, newFuncWorker(nil))
	if err := r.Insert(ctx, TestArgs{}, nil); err != nil {
		t.Fatal(err)
	}
	var kind string
	if err := db.SQL().QueryRowContext(ctx, `SELECT kind FROM river_job`).Scan(&kind); err != nil {
		t.Fatal(err)
	}
	if kind != "jobs_test" {
		t.Errorf("stored kind %q, want %q", kind, "jobs_test")
	}

	mustPanic := func(name, want string, f func()) {
		t.Helper()
		defer func() {
			p := recover()
			if p == nil || !strings.Contains(fmt.Sprint(p), want) {
				t.Errorf("%s: panic %v, want one containing %q", name, p, want)
			}
		}()
		f()
	}
	mustPanic("one-letter kind", "does not match", func() { jobs.Register(r, &kindWorker[shortKind]{}) })
	mustPanic("kind with a space", "does not match", func() { jobs.Register(r, &kindWorker[spaceKind]{}) })
	mustPanic("bad alias", "does not match", func() { jobs.Register(r, &kindWorker[badAlias]{}) })
	mustPanic("duplicate", "jobs_test", func() { jobs.Register(r, newFuncWorker(nil)) })

	if err := r.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Stop(context.Background()) })
	mustPanic("after Start", "after Start", func() { jobs.Register(r, &kindWorker[okKind]{}) })
}

type shortKind struct{}

func (shortKind) Kind() string { return "a" }

type spaceKind struct{}

func (spaceKind) Kind() string { return "has space" }

type badAlias struct{}

func (badAlias) Kind() string          { return "good_kind" }
func (badAlias) KindAliases() []string { return []string{"x"} }

type okKind struct{}

func (okKind) Kind() string { return "ok_kind" }

type kindWorker[T river.JobArgs] struct{ river.WorkerDefaults[T] }

func (*kindWorker[T]) Work(context.Context, *river.Job[T]) error { return nil }

// TestBackoff pins the retry table and shows MaxAttempts is the least
// number of attempts whose retries span 72 h.
func TestBackoff(t *testing.T) {
	t.Parallel()
	want := map[int]time.Duration{
		-1: time.Second, 0: time.Second,
		1: time.Second, 2: 5 * time.Second, 3: 15 * time.Second, 4: time.Minute,
		5: 5 * time.Minute, 6: 15 * time.Minute, 7: time.Hour, 8: time.Hour, 50: time.Hour, 78: time.Hour,
	}
	for attempt, d := range want {
		if got := jobs.Backoff(attempt); got != d {
			t.Errorf("Backoff(%d) = %v, want %v", attempt, got, d)
		}
	}
	// span(n) is the time from the first failure to the start of attempt n.
	span := func(n int) (s time.Duration) {
		for a := 1; a < n; a++ {
			s += jobs.Backoff(a)
		}
		return s
	}
	const debugLifetime = 72 * time.Hour
	if s := span(jobs.MaxAttempts); s < debugLifetime || s != 72*time.Hour+21*time.Minute+21*time.Second {
		t.Errorf("retries of %d attempts span %v", jobs.MaxAttempts, s)
	}
	if s := span(jobs.MaxAttempts - 1); s >= debugLifetime {
		t.Errorf("MaxAttempts %d is not the least: %d attempts span %v", jobs.MaxAttempts, jobs.MaxAttempts-1, s)
	}

	// The default policy only adds jitter, at most 10 %.
	p := jobs.DefaultRetryPolicy()
	for attempt := 1; attempt <= 9; attempt++ {
		for range 20 {
			before := time.Now()
			d := p.NextRetry(&rivertype.JobRow{Attempt: attempt}).Sub(before)
			base := jobs.Backoff(attempt)
			if d < base-time.Millisecond || d > base+base/10+time.Second {
				t.Fatalf("attempt %d: retry in %v, want %v..+10 %%", attempt, d, base)
			}
		}
	}
}

// TestNewRejectsPool: River's SQLite driver needs a single-connection pool.
func TestNewRejectsPool(t *testing.T) {
	t.Parallel()
	if _, err := jobs.New(jobs.Config{}); err == nil {
		t.Error("New without DB succeeded")
	}
	pool, err := sql.Open("sqlite", filepath.Join(t.TempDir(), "x.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	pool.SetMaxOpenConns(4)
	if _, err := jobs.New(jobs.Config{DB: pool}); err == nil || !strings.Contains(err.Error(), "single-connection") {
		t.Errorf("New on a 4-connection pool = %v", err)
	}
}

// TestMigrateIdempotent: New on an already migrated file works.
func TestMigrateIdempotent(t *testing.T) {
	t.Parallel()
	db := openStore(t, filepath.Join(t.TempDir(), "zone.db"))
	for range 2 {
		if _, err := jobs.New(jobs.Config{DB: db.SQL(), Logger: testLogger()}); err != nil {
			t.Fatal(err)
		}
	}
}

// BenchmarkNoopJobs is bench.NoopJobs, the baseline of `openzone bench`'s
// async section: b.N no-op jobs inserted with InsertMany (batches of 1000)
// on a SQLite file opened like the zone's, waited for until River has
// recorded all of them completed; it reports jobs/s end to end, with the
// zone's Config (MaxWorkers 10, FetchCooldown 5 ms).
func BenchmarkNoopJobs(b *testing.B) {
	perSec, err := bench.NoopJobs(context.Background(), filepath.Join(b.TempDir(), "zone.db"), b.N, 0)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(perSec, "jobs/s")
}
