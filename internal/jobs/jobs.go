// Package jobs runs the zone's durable work (event deliveries to programs,
// notification deliveries to apps, async tasks) on River
// (github.com/riverqueue/river), in the store's own database: the SQLite
// file through riversqlite, or PostgreSQL through riverpgxv5, where any
// number of zone nodes share the queue (River elects one leader for the
// maintenance work, and LISTEN/NOTIFY wakes every node on an insert).
//
// # Transactional enqueue
//
// A job is enqueued in the same transaction as the row that causes it:
//
//	err := st.InTx(ctx, func(tx store.Executor) error {
//		if err := tx.EventInsert(ctx, e); err != nil {
//			return err
//		}
//		return runner.InsertTx(ctx, tx, EventArgs{EventID: e.ID}, nil)
//	})
//
// The job exists if and only if the transaction commits, and no worker sees
// it before then. On SQLite the Runner works on the store's single-connection
// writer pool ((*sqlite.DB).SQL()), as River's SQLite driver requires, so Insert
// (the non-transactional form) must never be called inside an InTx fn: it
// would wait for the connection that fn holds.
//
// # Retries
//
// A job whose Work returns an error is retried; attempt n+1 runs
// Backoff(n) after attempt n failed:
//
//	failed attempt   wait before the next
//	1                1 s
//	2                5 s
//	3                15 s
//	4                1 min
//	5                5 min
//	6                15 min
//	7 and later      1 h
//
// Each wait is stretched by a random 0..+10 % (never shortened). Jobs get
// MaxAttempts = 79 attempts by default (the first plus 78 retries): the 78
// waits add up to 72 h 21 min 21 s (1+5+15+60+300+900+3600 s, then 71 × 1 h),
// so retries continue for at least 72 h, a debug credential's lifetime. After
// the last attempt fails the job is "discarded". Return Cancel(err) from Work
// for a permanent failure: the job is "cancelled" at once, without retries.
// Return Snooze(d) to wait without failing (a delivery whose program's debug
// listener is away, or an earlier event of its line is pending): the job
// runs again after d and no attempt is used up; Runner.Wake runs a snoozed
// job at once (its turn came).
// River stores each attempt's error on the job row; job.Attempt (1-based) and
// job.MaxAttempts tell a worker whether this is its last try.
//
// Execution is at least once: a job can run again if the process dies after
// Work returns but before River records the result, so workers must be
// idempotent (deliver with a stable event id).
//
// # Timing (River settings chosen here)
//
//   - FetchPollInterval 100 ms, FetchCooldown 5 ms. On PostgreSQL an insert
//     wakes every node through LISTEN/NOTIFY. River's SQLite driver has
//     no LISTEN/NOTIFY: an insert writes a row to river_notification, which
//     the client polls every 50 ms (fixed by riversqlite), and each queue also
//     polls for available jobs every FetchPollInterval. A job inserted on an
//     idle zone therefore starts within ~50–100 ms. The cooldown caps fetches
//     under load at one per 5 ms per queue (MaxWorkers jobs each). On an idle
//     zone the polling costs ~30 tiny queries a second.
//   - Retries due within 5 s (River's scheduler interval: the 1 s step; the
//     5 s step only when its jitter is nil) go straight back to "available"
//     and are picked up by the 100 ms poll. Longer ones wait as "retryable" until the leader's scheduler,
//     which runs every 5 s, makes them available, so they may start up to 5 s
//     late.
//   - JobTimeout 30 s: a job's context is cancelled after 30 s unless its
//     worker sets its own Timeout. Deliveries are single HTTP calls; longer
//     tasks must override Timeout.
//   - RescueStuckJobsAfter 1 min. A job that was running when the process was
//     killed (kill -9, power loss) stays "running" in the file. After a
//     restart River's rescuer, which runs at start-up and then every 30 s
//     (fixed by River), finds it once it has been running longer than
//     max(RescueStuckJobsAfter, the worker's Timeout) and schedules it for
//     retry (that counts as an attempt). So such a job runs again 1–1.5 min
//     after it started, plus its Backoff, plus up to 5 s for the scheduler
//     (and, if the zone restarts at once, up to ~15 s for the dead process's
//     leadership to expire). A job that was waiting for a retry (or simply
//     queued) when the process stopped runs as soon as it is due.
//   - Stop is a soft stop: running jobs finish. If Stop's ctx ends first,
//     running jobs' contexts are cancelled (StopAndCancel). A job that then
//     returns its ctx's error is "interrupted": River puts it back as
//     available at once, without using up an attempt or recording an error,
//     and the next start runs it. A job that returns another error is
//     retried after its Backoff as usual.
//   - Completed and cancelled jobs are deleted after 24 h, discarded ones
//     after 7 days (River defaults): the durable history of deliveries lives
//     in the zone's own tables, not here.
//
// # Kinds
//
// A job's Kind() is stored in every job row, so it is part of the on-disk
// format: never rename one (jobs already queued would no longer find their
// worker and River would discard them). To rename, keep the old name in
// river.JobArgsWithKindAliases. Kinds must match River's pattern
// `\A[\w][\w\-\[\]<>\/.·:+]+\z`, so at least 2 characters; Register panics
// otherwise.
package jobs

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"regexp"
	"strconv"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
	"github.com/riverqueue/river/rivertype"

	"github.com/openzone/openzone/internal/store"
)

// Defaults of Config's zero fields.
const (
	DefaultMaxWorkers           = 10
	DefaultFetchCooldown        = 5 * time.Millisecond
	DefaultFetchPollInterval    = 100 * time.Millisecond
	DefaultJobTimeout           = 30 * time.Second
	DefaultRescueStuckJobsAfter = time.Minute
)

// QueueTasks is the queue of async task deliveries: each holds its worker
// for an HTTP round trip to a program, so it gets more workers than the
// default queue (events and notifications) without competing with it.
const QueueTasks = "tasks"

// DefaultTaskWorkers is QueueTasks' default MaxWorkers.
const DefaultTaskWorkers = 50

// hardStopWait bounds how long Stop waits for cancelled jobs to return once
// its own ctx has ended.
const hardStopWait = 10 * time.Second

// migrateTimeout bounds River's schema migration in New.
const migrateTimeout = time.Minute

// Config configures a Runner. Exactly one of DB and Pool is required.
type Config struct {
	// DB is the store's single-connection writer pool (SQLite),
	// (*sqlite.DB).SQL(). River's tables live in the same file.
	DB *sql.DB
	// Pool is the PostgreSQL store's pool, (*postgres.DB).Pool(), and
	// Schema the schema of its tables, (*postgres.DB).Schema(), where
	// River's tables go too.
	Pool   *pgxpool.Pool
	Schema string
	Logger *slog.Logger // nil: slog.Default()

	// Queues to work; default river.QueueDefault and QueueTasks.
	Queues []string
	// MaxWorkers is the number of jobs run at once per queue; default 10.
	MaxWorkers int
	// QueueWorkers overrides MaxWorkers for some queues; default
	// QueueTasks: DefaultTaskWorkers.
	QueueWorkers map[string]int

	// FetchPollInterval is how often each queue looks for due jobs even
	// without an insert notification; default 100 ms. It also bounds how late
	// a short retry starts.
	FetchPollInterval time.Duration
	// FetchCooldown is the least time between two fetches of a queue;
	// default 5 ms.
	FetchCooldown time.Duration

	// JobTimeout is how long a job may run before its context is cancelled,
	// unless its worker sets Timeout; default 30 s.
	JobTimeout time.Duration
	// RescueStuckJobsAfter is how long a job may stay "running" before River
	// assumes its process died and retries it; default 1 min, and never less
	// than JobTimeout.
	RescueStuckJobsAfter time.Duration

	// RetryPolicy decides when a failed job runs again; default
	// DefaultRetryPolicy() (Backoff with up to +10 % jitter). Tests inject a
	// fast one.
	RetryPolicy river.ClientRetryPolicy
	// MaxAttempts is the default number of attempts per job; default
	// MaxAttempts (79).
	MaxAttempts int
	// InsertOnly builds a Runner that only inserts jobs of any kind, with
	// no worker registered (an import re-queueing a zone's jobs). It must
	// not be started.
	InsertOnly bool

	// Exclusive says this process is the only one working the database
	// (a SQLite file the zone holds locked): jobs an earlier process left
	// "running" when it died are made available again at once, instead of
	// waiting RescueStuckJobsAfter for River's rescuer. That attempt still
	// counts. SQLite only: on PostgreSQL other nodes may be working.
	Exclusive bool
	// NodeName (PostgreSQL) names this zone node, stable across its
	// restarts and distinct among the nodes. The River client's id is
	// derived from it, so a restarted node makes the jobs its previous run
	// left "running" available again at once, as Exclusive does on SQLite,
	// and leaves other nodes' running jobs alone.
	NodeName string
}

// Runner owns the River client. Register workers, then Start; Stop on the way
// out. Inserting works before Start (the job waits) and after Stop.
type Runner struct {
	client  Client
	sqlite  *river.Client[*sql.Tx] // one of these two is set
	pg      *river.Client[pgx.Tx]
	workers *river.Workers
	logger  *slog.Logger
	// depths counts the jobs waiting or running, by queue and state.
	depths func(ctx context.Context) (map[[2]string]int64, error)

	mu      sync.Mutex
	started bool // Start was called once: Register is closed
	running bool
}

// Client is what River's client offers whatever the driver: inspection
// (listing jobs, subscribing to events, cancelling) and inserts outside a
// transaction.
type Client interface {
	Insert(ctx context.Context, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error)
	InsertMany(ctx context.Context, params []river.InsertManyParams) ([]*rivertype.JobInsertResult, error)
	JobGet(ctx context.Context, id int64) (*rivertype.JobRow, error)
	JobList(ctx context.Context, params *river.JobListParams) (*river.JobListResult, error)
	JobCancel(ctx context.Context, jobID int64) (*rivertype.JobRow, error)
	JobRetry(ctx context.Context, id int64) (*rivertype.JobRow, error)
	Subscribe(kinds ...river.EventKind) (<-chan *river.Event, func())
	SubscribeConfig(config *river.SubscribeConfig) (<-chan *river.Event, func())
	Start(ctx context.Context) error
	Stop(ctx context.Context) error
	StopAndCancel(ctx context.Context) error
}

// New applies River's migrations to the database (idempotent; on
// PostgreSQL concurrent ones from several nodes are serialized by River)
// and builds the client. No worker is registered yet.
func New(cfg Config) (*Runner, error) {
	switch {
	case cfg.DB == nil && cfg.Pool == nil:
		return nil, errors.New("jobs: Config.DB and Config.Pool are both nil")
	case cfg.DB != nil && cfg.Pool != nil:
		return nil, errors.New("jobs: set Config.DB (SQLite) or Config.Pool (PostgreSQL), not both")
	case cfg.DB != nil:
		if n := cfg.DB.Stats().MaxOpenConnections; n != 1 {
			return nil, fmt.Errorf("jobs: Config.DB must be a single-connection pool (SetMaxOpenConns(1)) as River's SQLite driver needs; it allows %d", n)
		}
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.Default()
	}
	queues := cfg.Queues
	if len(queues) == 0 {
		queues = []string{river.QueueDefault, QueueTasks}
	}
	queueWorkers := cfg.QueueWorkers
	if queueWorkers == nil {
		queueWorkers = map[string]int{QueueTasks: DefaultTaskWorkers}
	}
	maxWorkers := cmpOr(cfg.MaxWorkers, DefaultMaxWorkers)
	jobTimeout := cmpOr(cfg.JobTimeout, DefaultJobTimeout)
	rescueAfter := max(cmpOr(cfg.RescueStuckJobsAfter, DefaultRescueStuckJobsAfter), jobTimeout)
	var retry river.ClientRetryPolicy = DefaultRetryPolicy()
	if cfg.RetryPolicy != nil {
		retry = cfg.RetryPolicy
	}
	qs := make(map[string]river.QueueConfig, len(queues))
	for _, q := range queues {
		qs[q] = river.QueueConfig{MaxWorkers: cmpOr(queueWorkers[q], maxWorkers)}
	}
	workers := river.NewWorkers()
	rcfg := &river.Config{
		Logger:               logger,
		Queues:               qs,
		Workers:              workers,
		FetchCooldown:        cmpOr(cfg.FetchCooldown, DefaultFetchCooldown),
		FetchPollInterval:    cmpOr(cfg.FetchPollInterval, DefaultFetchPollInterval),
		JobTimeout:           jobTimeout,
		RescueStuckJobsAfter: rescueAfter,
		RetryPolicy:          retry,
		MaxAttempts:          cmpOr(cfg.MaxAttempts, MaxAttempts),
		SkipUnknownJobCheck:  cfg.InsertOnly,
	}
	r := &Runner{workers: workers, logger: logger}
	if cfg.DB != nil {
		driver := riversqlite.New(cfg.DB)
		if err := migrateRiver(driver, logger, ""); err != nil {
			return nil, err
		}
		if cfg.Exclusive {
			res, err := cfg.DB.ExecContext(context.Background(), `UPDATE river_job SET state = 'available' WHERE state = 'running'`)
			if err != nil {
				return nil, fmt.Errorf("jobs: recover jobs left running: %w", err)
			}
			if n, _ := res.RowsAffected(); n > 0 {
				logger.Info("jobs: resumed jobs an earlier process left running", "jobs", n)
			}
		}
		client, err := river.NewClient(driver, rcfg)
		if err != nil {
			return nil, fmt.Errorf("jobs: river client: %w", err)
		}
		r.client, r.sqlite = client, client
		r.depths = func(ctx context.Context) (map[[2]string]int64, error) {
			rows, err := cfg.DB.QueryContext(ctx, depthsQuery("river_job"))
			if err != nil {
				return nil, err
			}
			return scanDepths(queues, rows.Next, rows.Scan, rows.Close, rows.Err)
		}
		return r, nil
	}
	// River's tables and its NOTIFY topics are named by schema, so zones
	// in different schemas of one database never see each other's jobs.
	rcfg.Schema = cfg.Schema
	driver := riverpgxv5.New(cfg.Pool)
	if err := migrateRiverPG(driver, cfg.Pool, logger, cfg.Schema); err != nil {
		return nil, err
	}
	if cfg.NodeName != "" {
		prefix := ClientPrefix(cfg.NodeName)
		rcfg.ID = prefix + strconv.FormatInt(time.Now().UnixNano(), 36)
		if !cfg.InsertOnly {
			ctx, cancel := context.WithTimeout(context.Background(), migrateTimeout)
			defer cancel()
			table := "river_job"
			if cfg.Schema != "" {
				table = pgx.Identifier{cfg.Schema, "river_job"}.Sanitize()
			}
			tag, err := cfg.Pool.Exec(ctx, `UPDATE `+table+` SET state = 'available'
				WHERE state = 'running' AND attempted_by[array_upper(attempted_by, 1)] LIKE $1 || '%'`, prefix)
			if err != nil {
				return nil, fmt.Errorf("jobs: recover jobs left running: %w", err)
			}
			if n := tag.RowsAffected(); n > 0 {
				logger.Info("jobs: resumed jobs this node's previous run left running", "jobs", n)
			}
		}
	}
	client, err := river.NewClient(driver, rcfg)
	if err != nil {
		return nil, fmt.Errorf("jobs: river client: %w", err)
	}
	r.client, r.pg = client, client
	table := "river_job"
	if cfg.Schema != "" {
		table = pgx.Identifier{cfg.Schema, "river_job"}.Sanitize()
	}
	r.depths = func(ctx context.Context) (map[[2]string]int64, error) {
		rows, err := cfg.Pool.Query(ctx, depthsQuery(table))
		if err != nil {
			return nil, err
		}
		return scanDepths(queues, rows.Next, func(dst ...any) error { return rows.Scan(dst...) },
			func() error { rows.Close(); return nil }, rows.Err)
	}
	return r, nil
}

// depthsQuery counts the jobs not yet finished by queue and state (River
// indexes river_job by state, so this reads the unfinished ones only).
func depthsQuery(table string) string {
	return `SELECT queue, state, count(*) FROM ` + table +
		` WHERE state IN ('available', 'scheduled', 'retryable', 'running', 'pending') GROUP BY queue, state`
}

// scanDepths reads depthsQuery's rows; every queue worked has an
// available count, zero when empty, so its series exists from the start.
func scanDepths(queues []string, next func() bool, scan func(...any) error, closeRows func() error, errf func() error) (map[[2]string]int64, error) {
	defer closeRows()
	out := map[[2]string]int64{}
	for _, q := range queues {
		out[[2]string{q, "available"}] = 0
	}
	for next() {
		var q, st string
		var n int64
		if err := scan(&q, &st, &n); err != nil {
			return nil, err
		}
		out[[2]string{q, st}] = n
	}
	return out, errf()
}

// Depths returns the number of jobs waiting or running by queue and state
// (the zone's queue-depth metric).
func (r *Runner) Depths(ctx context.Context) (map[[2]string]int64, error) {
	return r.depths(ctx)
}

// migrateRiverPG holds an advisory lock while it migrates: rivermigrate
// takes none, and nodes starting together on a fresh database would race to
// create the same tables. (One transaction cannot hold all of River's
// migrations: one adds an enum value that a later one uses.)
func migrateRiverPG(driver *riverpgxv5.Driver, pool *pgxpool.Pool, logger *slog.Logger, schema string) error {
	ctx, cancel := context.WithTimeout(context.Background(), migrateTimeout)
	defer cancel()
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("jobs: migrate: %w", err)
	}
	defer conn.Release()
	const key = `hashtext('openzone_river_migrate:' || $1)`
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock(`+key+`)`, schema); err != nil {
		return fmt.Errorf("jobs: migrate: %w", err)
	}
	defer conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock(`+key+`)`, schema) //nolint:errcheck // the session ends the lock anyway
	return migrateRiver(driver, logger, schema)
}

// ClientPrefix starts the River client ids of a node: a digest of its
// name (River limits ids to 100 characters; names may be longer).
func ClientPrefix(node string) string {
	sum := sha256.Sum256([]byte(node))
	return "oz_" + hex.EncodeToString(sum[:8]) + "_"
}

func migrateRiver[TTx any](driver riverdriver.Driver[TTx], logger *slog.Logger, schema string) error {
	mig, err := rivermigrate.New(driver, &rivermigrate.Config{Logger: logger, Schema: schema})
	if err != nil {
		return fmt.Errorf("jobs: migrate: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), migrateTimeout)
	defer cancel()
	if _, err := mig.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return fmt.Errorf("jobs: migrate: %w", err)
	}
	return nil
}

func cmpOr[T int | time.Duration](v, def T) T {
	if v > 0 {
		return v
	}
	return def
}

// kindRE is River's rule for kinds (rivercommon.UserSpecifiedIDOrKindRE).
// River checks it only for workers known when the client is built, and the
// Runner builds its client before anything is registered, so Register
// checks it again.
var kindRE = regexp.MustCompile(`\A[\w][\w\-\[\]<>\/.·:+]+\z`)

// Register adds w as the worker of T's kind. Call it before Start: it panics
// after Start, on a second worker for the same kind, and on a kind River
// rejects (these are start-up bugs).
func Register[T river.JobArgs](r *Runner, w river.Worker[T]) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var args T
	if r.started {
		panic(fmt.Sprintf("jobs: Register(%q) after Start", args.Kind()))
	}
	kinds := []string{args.Kind()}
	if a, ok := any(args).(river.JobArgsWithKindAliases); ok {
		kinds = append(kinds, a.KindAliases()...)
	}
	for _, k := range kinds {
		if !kindRE.MatchString(k) {
			panic(fmt.Sprintf("jobs: job kind %q does not match %s", k, kindRE))
		}
	}
	if err := river.AddWorkerSafely(r.workers, w); err != nil {
		panic(fmt.Sprintf("jobs: Register(%q): %v", args.Kind(), err))
	}
}

// Start starts working jobs, including those left from an earlier run. ctx
// only scopes start-up: the Runner works until Stop. Starting a running
// Runner does nothing.
func (r *Runner) Start(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.running {
		return nil
	}
	r.started = true
	if err := r.client.Start(context.WithoutCancel(ctx)); err != nil {
		return fmt.Errorf("jobs: start: %w", err)
	}
	r.running = true
	return nil
}

// Stop stops fetching jobs and waits for running ones to finish. If ctx
// ends first, it cancels the running jobs' contexts and waits up to 10 s
// more for them to return (they are retried later). It is safe to call
// twice and without Start.
func (r *Runner) Stop(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.running {
		return nil
	}
	err := r.client.Stop(ctx)
	if err != nil && ctx.Err() != nil {
		r.logger.Warn("jobs: soft stop timed out; cancelling running jobs", "error", err)
		hctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), hardStopWait)
		defer cancel()
		if err = r.client.StopAndCancel(hctx); err != nil {
			err = fmt.Errorf("jobs: stop: running jobs did not return after cancellation: %w", err)
		}
	} else if err != nil {
		err = fmt.Errorf("jobs: stop: %w", err)
	}
	if err == nil {
		r.running = false
	}
	return err
}

// sqlTxer is what the SQLite store's Executor offers inside InTx, and
// pgxTxer the PostgreSQL store's.
type (
	sqlTxer interface{ SQLTx() *sql.Tx }
	pgxTxer interface{ PgxTx() pgx.Tx }
)

// InsertTx enqueues a job in tx, which must be the Executor Store.InTx gave
// its fn: the job commits or rolls back with the rest of tx. opts may be nil.
func (r *Runner) InsertTx(ctx context.Context, tx store.Executor, args river.JobArgs, opts *river.InsertOpts) error {
	var err error
	switch x := tx.(type) {
	case sqlTxer:
		if r.sqlite == nil || x.SQLTx() == nil {
			return r.notInTx(args, tx)
		}
		_, err = r.sqlite.InsertTx(ctx, x.SQLTx(), args, opts)
	case pgxTxer:
		if r.pg == nil || x.PgxTx() == nil {
			return r.notInTx(args, tx)
		}
		_, err = r.pg.InsertTx(ctx, x.PgxTx(), args, opts)
	default:
		return fmt.Errorf("jobs: insert %s: executor %T has no SQL transaction; pass the Executor Store.InTx gives its fn", args.Kind(), tx)
	}
	if err != nil {
		return fmt.Errorf("jobs: insert %s: %w", args.Kind(), err)
	}
	return nil
}

func (r *Runner) notInTx(args river.JobArgs, tx store.Executor) error {
	return fmt.Errorf("jobs: insert %s: executor %T is not inside a transaction of this Runner's database; call InsertTx inside Store.InTx (or use Insert)", args.Kind(), tx)
}

// Insert enqueues a job on its own. Never call it inside Store.InTx (it
// would wait for the connection the transaction holds); use InsertTx there.
func (r *Runner) Insert(ctx context.Context, args river.JobArgs, opts *river.InsertOpts) error {
	if _, err := r.client.Insert(ctx, args, opts); err != nil {
		return fmt.Errorf("jobs: insert %s: %w", args.Kind(), err)
	}
	return nil
}

// wakeTries and wakePause bound how long Wake waits for a running job to
// finish its snooze (River records a snooze after Work returns).
const (
	wakeTries = 40
	wakePause = 25 * time.Millisecond
)

// Wake runs now a job that snoozed (state "scheduled"), if job id is still
// the job of args: a job waiting for its turn whose turn came. A job that
// is running is given about a second to record its snooze; one in any
// other state (available, retrying after a failure, finished) is left
// alone, as is an id that now names another job or none (ids are not kept
// across an export and import). No attempt is used up.
func (r *Runner) Wake(ctx context.Context, id int64, args river.JobArgs) error {
	want, err := json.Marshal(args)
	if err != nil {
		return err
	}
	for try := 0; ; try++ {
		row, err := r.client.JobGet(ctx, id)
		if errors.Is(err, river.ErrNotFound) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("jobs: wake %d: %w", id, err)
		}
		if row.Kind != args.Kind() || !sameJSON(row.EncodedArgs, want) {
			return nil
		}
		switch row.State {
		case rivertype.JobStateScheduled:
			if _, err := r.client.JobRetry(ctx, id); err != nil {
				return fmt.Errorf("jobs: wake %d: %w", id, err)
			}
			return nil
		case rivertype.JobStateRunning:
			if try == wakeTries {
				return nil
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(wakePause):
			}
		default:
			return nil
		}
	}
}

// sameJSON says whether a and b encode the same value (PostgreSQL's jsonb
// does not keep the bytes).
func sameJSON(a, b []byte) bool {
	var x, y any
	return json.Unmarshal(a, &x) == nil && json.Unmarshal(b, &y) == nil && reflect.DeepEqual(x, y)
}

// Client returns the River client, for inspection (listing jobs,
// subscribing to events, cancelling).
func (r *Runner) Client() Client { return r.client }
