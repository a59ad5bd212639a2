package bench

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"time"

	"github.com/riverqueue/river"

	"github.com/openzone/openzone"
	"github.com/openzone/openzone/internal/jobs"
	"github.com/openzone/openzone/internal/store/sqlite"
)

// runAsync measures async tasks end to end on SQLite, on a zone with the
// example program deployed as two instances:
//
//	burst   N tasks created at once by 16 app clients (async_program_task);
//	        tasks/s from the first request until the admin API lists all N
//	        done; latency of each from created_at to done_at (when its
//	        result became readable); every result then read back with
//	        async_program_result and checked
//	serial  one task at a time: async_program_task, then
//	        async_program_result every 2 ms until it answers; latency as
//	        the app sees it
//	river   River's own no-op jobs (InsertMany, batches of 1,000) on a
//	        SQLite file opened with the zone's settings and River
//	        configured as the zone configures it: the baseline; and the
//	        same inserted one job per call by 16 goroutines, as the
//	        burst's tasks are (information)
func runAsync(ctx context.Context, r *runner) (*Section, error) {
	n, serial, noop := pick(r, 1000, 20), pick(r, 30, 3), pick(r, 4000, 100)
	prog, err := r.build(ctx, pkgProgram)
	if err != nil {
		return nil, err
	}
	z, stop, err := r.startZone(ctx, "async", seedFor(EchoSeed, prog, 2))
	if err != nil {
		return nil, err
	}
	defer stop()
	if err := z.waitHealthy(ctx, "prog-echo", 2); err != nil {
		return nil, err
	}
	tok, err := z.token(ctx, "wwbench", "bench-secret")
	if err != nil {
		return nil, err
	}
	sec := &Section{Settings: fmt.Sprintf("burst of %d tasks from 16 clients; %d serial tasks; River: %d no-op jobs by InsertMany, %d one by one from 16 goroutines; SQLite; example program ×2", n, serial, noop, n)}

	burst, err := asyncBurst(ctx, z, tok, n, 16)
	if err != nil {
		return nil, err
	}
	r.progressf("   burst      %8.0f tasks/s  p50 %7.1f ms  p95 %7.1f ms", burst.PerSecond, burst.P50ms, burst.P95ms)
	lat := make([]time.Duration, 0, serial)
	start := time.Now()
	for i := range serial {
		t0 := time.Now()
		id, err := createTask(ctx, z, tok, i)
		if err != nil {
			return nil, err
		}
		if err := readResult(ctx, z, tok, id, i, true); err != nil {
			return nil, err
		}
		lat = append(lat, time.Since(t0))
	}
	ser := Summarize("serial", 1, lat, time.Since(start))
	r.progressf("   serial     %8.1f tasks/s  p50 %7.1f ms  p95 %7.1f ms", ser.PerSecond, ser.P50ms, ser.P95ms)
	stop()

	perSec, err := NoopJobs(ctx, filepath.Join(r.dir, "river-noop.db"), noop, 0)
	if err != nil {
		return nil, err
	}
	r.progressf("   river      %8.0f jobs/s (InsertMany)", perSec)
	single, err := NoopJobs(ctx, filepath.Join(r.dir, "river-noop-single.db"), n, 16)
	if err != nil {
		return nil, err
	}
	r.progressf("   river      %8.0f jobs/s (16 inserters, one job per insert)", single)
	sec.Points = []Point{burst, ser,
		{Variant: "river-noop", Concurrency: 1, Ops: noop, PerSecond: perSec},
		{Variant: "river-noop-1by1", Concurrency: 16, Ops: n, PerSecond: single}}
	sec.Targets = append(sec.Targets, target("async tasks/s / River no-op jobs/s", ratio(burst.PerSecond, perSec), ">=", 0.5, "x"))
	return sec, nil
}

func createTask(ctx context.Context, z *zone, tok string, i int) (string, error) {
	var out struct {
		JobID string `json:"jobid"`
	}
	err := z.app(ctx, "async_program_task", tok, map[string]string{
		"program_id": "prog-echo", "ability_id": "echo", "request_data": fmt.Sprintf(`{"text":"t%d"}`, i),
	}, &out)
	return out.JobID, err
}

// readResult reads a task's result with async_program_result, polling
// every 2 ms while the zone answers 710642 (still running) if wait, and
// checks it is the echo of task i.
func readResult(ctx context.Context, z *zone, tok, jobID string, i int, wait bool) error {
	for {
		var out struct {
			ResponseErrcode int    `json:"response_errcode"`
			ResponseData    string `json:"response_data"`
		}
		err := z.app(ctx, "async_program_result", tok, map[string]string{"jobid": jobID}, &out)
		if wait && err != nil && strings.Contains(err.Error(), fmt.Sprintf("errcode %d:", openzone.ErrWaitingResult)) {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(2 * time.Millisecond):
			}
			continue
		}
		if err != nil {
			return err
		}
		if want := fmt.Sprintf(`{"text":"t%d","served_by":"bench"}`, i); out.ResponseErrcode != 0 || out.ResponseData != want {
			return fmt.Errorf("task %s: response %d %s, want %s", jobID, out.ResponseErrcode, out.ResponseData, want)
		}
		return nil
	}
}

// asyncBurst creates n tasks from clients app clients and waits until
// the admin API lists all of them done (it lists at most 1,000).
func asyncBurst(ctx context.Context, z *zone, tok string, n, clients int) (Point, error) {
	if n > 1000 {
		return Point{}, fmt.Errorf("a burst of %d tasks: the admin API lists at most 1,000", n)
	}
	ids := make([]string, n)
	start := time.Now()
	err := parallel(n, clients, func(i int) error {
		id, err := createTask(ctx, z, tok, i)
		ids[i] = id
		return err
	})
	if err != nil {
		return Point{}, err
	}
	p, err := burstPoint(ctx, z, "prog-echo", n, clients, start)
	if err != nil {
		return Point{}, err
	}
	p.Variant = "burst"

	// Every result is readable and right.
	if err := parallel(n, clients, func(i int) error { return readResult(ctx, z, tok, ids[i], i, false) }); err != nil {
		return Point{}, err
	}
	return p, nil
}

type noopArgs struct{}

func (noopArgs) Kind() string { return "bench_noop" }

type noopWorker struct{ river.WorkerDefaults[noopArgs] }

func (noopWorker) Work(context.Context, *river.Job[noopArgs]) error { return nil }

// NoopJobs is River's own throughput on the zone's kind of database: it
// opens a SQLite file at path with the zone's settings (sqlite.Open),
// builds a jobs.Runner as the zone does, inserts n no-op jobs and waits
// until River has recorded all of them completed. It returns jobs/s end
// to end. With inserters 0 the jobs go in with InsertMany, in batches of
// 1,000 (River at its best); otherwise that many goroutines insert one
// job per call, as app clients create tasks.
func NoopJobs(ctx context.Context, path string, n, inserters int) (float64, error) {
	db, err := sqlite.Open(ctx, path)
	if err != nil {
		return 0, err
	}
	defer db.Close()
	r, err := jobs.New(jobs.Config{DB: db.SQL(), Logger: slog.New(slog.DiscardHandler), Exclusive: true})
	if err != nil {
		return 0, err
	}
	jobs.Register(r, noopWorker{})
	events, cancel := r.Client().SubscribeConfig(&river.SubscribeConfig{
		ChanSize: n + 1, Kinds: []river.EventKind{river.EventKindJobCompleted},
	})
	defer cancel()
	if err := r.Start(ctx); err != nil {
		return 0, err
	}
	defer r.Stop(context.WithoutCancel(ctx))
	start := time.Now()
	if inserters == 0 {
		for i := 0; i < n; i += 1000 {
			batch := make([]river.InsertManyParams, min(1000, n-i))
			for k := range batch {
				batch[k] = river.InsertManyParams{Args: noopArgs{}}
			}
			if _, err := r.Client().InsertMany(ctx, batch); err != nil {
				return 0, err
			}
		}
	} else if err := parallel(n, inserters, func(int) error { return r.Insert(ctx, noopArgs{}, nil) }); err != nil {
		return 0, err
	}
	timeout := time.After(5 * time.Minute)
	for done := 0; done < n; done++ {
		select {
		case <-events:
		case <-timeout:
			return 0, fmt.Errorf("%d of %d no-op jobs completed after 5 minutes", done, n)
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	}
	return float64(n) / time.Since(start).Seconds(), nil
}

// taskRow is a task as the admin API lists it.
type taskRow struct {
	JobID     string    `json:"jobid"`
	State     string    `json:"state"`
	LastError string    `json:"last_error"`
	CreatedAt time.Time `json:"created_at"`
	DoneAt    time.Time `json:"done_at"`
}

// burstPoint waits for a burst of n tasks of programID started at start
// (waitDone) and summarises it: tasks/s from start until the last is
// done, the latency of each from created_at to done_at.
func burstPoint(ctx context.Context, z *zone, programID string, n, clients int, start time.Time) (Point, error) {
	tasks, err := waitDone(ctx, z, programID, n)
	if err != nil {
		return Point{}, err
	}
	elapsed := time.Since(start)
	lat := make([]time.Duration, 0, n)
	for _, t := range tasks {
		lat = append(lat, t.DoneAt.Sub(t.CreatedAt))
	}
	p := Summarize("", clients, lat, elapsed)
	p.Ops = n
	return p, nil
}

// waitDone waits until the admin API lists the newest n tasks of
// programID (a program or model id) done and returns them; a failed one
// is an error, and so are 5 minutes.
func waitDone(ctx context.Context, z *zone, programID string, n int) ([]taskRow, error) {
	deadline := time.Now().Add(5 * time.Minute)
	for {
		var out struct {
			Tasks []taskRow `json:"tasks"`
		}
		// The list is newest first: the burst's n tasks are the first n.
		if err := z.admin(ctx, "GET", fmt.Sprintf("/admin/v1/tasks?program_id=%s&limit=%d", programID, n), nil, &out); err != nil {
			return nil, err
		}
		done := 0
		for _, t := range out.Tasks {
			switch openzone.TaskState(t.State) {
			case openzone.TaskDone:
				done++
			case openzone.TaskFailed:
				return nil, fmt.Errorf("task %s failed: %s", t.JobID, t.LastError)
			}
		}
		if done == n {
			return out.Tasks, nil
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("%d of %d tasks done after 5 minutes", done, n)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}
