// Package tasks runs the zone's asynchronous calls (异步任务): an app's
// async_program_task and a program's create_program_task and
// create_model_task. Each task is a row and a River job enqueued in the
// same transaction; the job delivers the task to the callee (is_async true,
// with a job_info only the zone can mint) and the callee reports its
// result later with program_async_job_call_back. Delivery is retried on
// the schedule below; a second report is refused without touching the
// first. The rules are in docs/decisions.md ("Async tasks").
package tasks

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/riverqueue/river"

	"github.com/openzone/openzone"
	"github.com/openzone/openzone/internal/archive"
	"github.com/openzone/openzone/internal/debugmode"
	"github.com/openzone/openzone/internal/gateway"
	"github.com/openzone/openzone/internal/jobs"
	"github.com/openzone/openzone/internal/listener"
	"github.com/openzone/openzone/internal/metrics"
	"github.com/openzone/openzone/internal/quota"
	"github.com/openzone/openzone/internal/store"
	"github.com/openzone/openzone/internal/supervisor"
	"github.com/openzone/openzone/internal/traffic"
	"github.com/openzone/openzone/internal/wwmodels"
)

const (
	// Retention is how long a task and its result are kept after it is
	// created; afterwards its jobid is unknown (40058).
	Retention = 7 * 24 * time.Hour
	// ReportDeadline is how long a callee has, from the task's creation,
	// to report its result; after it the task answers 710675 and a late
	// report is refused (790010).
	ReportDeadline = 24 * time.Hour
	// ModelAckTimeout is how long a model has to acknowledge a task (spec
	// §3.4 create_model_task: 5 s).
	ModelAckTimeout = 5 * time.Second
	// DeliveryAttempts is how many times a task is delivered before it
	// fails: with the backoff of internal/jobs (1 s, 5 s, 15 s, 1 min,
	// 5 min, 15 min, 1 h) the last attempt runs about 81 minutes after the
	// first.
	DeliveryAttempts = 8
	// MaxExpandedRunes bounds a task's input after placeholder expansion
	// (WeCom: about 30,000 UTF-8 characters; over it 790040).
	MaxExpandedRunes = 30000
	// MaxMsgList bounds msg_list (710623 over it).
	MaxMsgList = 1000
)

// Config wires the service.
type Config struct {
	Store      store.Store
	Jobs       *jobs.Runner
	Gateway    Gateway
	Supervisor *supervisor.Supervisor
	Archive    *archive.Service
	Recorder   *traffic.Recorder
	// Debug says whether (corp, app, program) is in debug mode
	// (debugmode.Routes).
	Debug Debug
	// Knowledge gives model tasks their {knowledge} (knowledge.Service);
	// nil: a kb_id is 800000.
	Knowledge Knowledge
	// Key is the zone's 32-byte secret; keys for job_info and for sealing
	// task payloads at rest are derived from it.
	Key []byte
	// NodeID names this process start and NodeName the node it runs as
	// (stable across restarts): a task acknowledged by an instance this
	// process supervised is delivered again once the process is gone.
	NodeID, NodeName string
	Now              func() time.Time
	Logger           *slog.Logger
	// Metrics counts deliveries; nil counts nothing.
	Metrics *metrics.Metrics

	// Quota keeps the daily quotas of model tasks (WeCom's own models and
	// create_model_task); nil keeps none.
	Quota *quota.Service
	// ModelCallsPerDay and ModelMessagesPerDay are those quotas per corp
	// per day (China time): 0 the defaults, DefaultModelCallsPerDay and
	// DefaultModelMessagesPerDay; negative no limit.
	ModelCallsPerDay, ModelMessagesPerDay int64
	// ModelBackend is the backend of WeCom's models whose model id has
	// none set (store.WWModelGet): "builtin" (the default), "openai".
	ModelBackend string
	// OpenAI configures the openai backend; nil: a model set to it fails
	// its tasks with 710638 saying the endpoint is not configured.
	OpenAI *wwmodels.OpenAIConfig
}

// Gateway delivers a call to a program (gateway.Gateway).
type Gateway interface {
	Do(ctx context.Context, c *gateway.Call) (*gateway.Result, error)
}

// Debug is debug mode as tasks see it.
type Debug interface {
	Route(ctx context.Context, corpID string, agentID int64, programID string) (*debugmode.Route, error)
}

// Knowledge is the fragments of a model task's knowledge set, best first.
type Knowledge interface {
	ForTask(ctx context.Context, app *openzone.App, kbID, serviceKBID, query string) ([]string, error)
}

// Service runs tasks.
type Service struct {
	cfg     Config
	macKey  []byte
	sealKey []byte
}

// New returns the service and registers its worker (call before the
// runner starts).
func New(cfg Config) *Service {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	s := &Service{cfg: cfg, macKey: derive(cfg.Key, "job_info"), sealKey: derive(cfg.Key, "task payload")}
	jobs.Register(cfg.Jobs, &deliveryWorker{s: s})
	jobs.Register(cfg.Jobs, &answerWorker{s: s})
	return s
}

func derive(key []byte, purpose string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("openzone tasks v1\x00" + purpose))
	return m.Sum(nil)
}

// DeliveryArgs is the job that delivers one task. Its kind never changes.
type DeliveryArgs struct {
	JobID string `json:"jobid"`
}

// Kind implements river.JobArgs.
func (DeliveryArgs) Kind() string { return "task_delivery" }

// InsertOpts gives task deliveries their own attempt budget.
func (DeliveryArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{MaxAttempts: DeliveryAttempts, Queue: jobs.QueueTasks}
}

func newJobID() string {
	var b [16]byte
	rand.Read(b[:])
	return "job_" + hex.EncodeToString(b[:])
}

// create stores t with its request sealed and enqueues its job (job, a
// DeliveryArgs or an AnswerArgs, gets the new jobid), in one transaction:
// the task exists if and only if it will be delivered or answered.
func (s *Service) create(ctx context.Context, t *openzone.Task, request []byte, job river.JobArgs) error {
	now := s.cfg.Now()
	t.JobID = newJobID()
	t.State = openzone.TaskPending
	t.CreatedAt, t.ExpiresAt = now, now.Add(Retention)
	t.Request = s.seal(t.JobID, "request", request)
	switch job.(type) {
	case AnswerArgs:
		job = AnswerArgs{JobID: t.JobID}
	default:
		job = DeliveryArgs{JobID: t.JobID}
	}
	return s.cfg.Store.InTx(ctx, func(tx store.Executor) error {
		if err := tx.TaskInsert(ctx, t); err != nil {
			return err
		}
		return s.cfg.Jobs.InsertTx(ctx, tx, job, nil)
	})
}

// JobInfo is the job_info the callee gets with the task and hands back
// with program_async_job_call_back: the jobid and a MAC binding it to the
// callee, so it can be neither forged nor used by another program.
func (s *Service) JobInfo(t *openzone.Task) string {
	return "ozj1." + t.JobID + "." + base64.RawURLEncoding.EncodeToString(s.jobMAC(t.JobID, t.ProgramID))
}

func (s *Service) jobMAC(jobID, programID string) []byte {
	m := hmac.New(sha256.New, s.macKey)
	m.Write([]byte(jobID + "\x00" + programID))
	return m.Sum(nil)[:16]
}

// parseJobInfo returns the jobid of a job_info minted for programID.
func (s *Service) parseJobInfo(jobInfo, programID string) (string, bool) {
	rest, ok := strings.CutPrefix(jobInfo, "ozj1.")
	if !ok {
		return "", false
	}
	jobID, mac, ok := strings.Cut(rest, ".")
	if !ok {
		return "", false
	}
	got, err := base64.RawURLEncoding.DecodeString(mac)
	if err != nil || !hmac.Equal(got, s.jobMAC(jobID, programID)) {
		return "", false
	}
	return jobID, true
}

// status is a task as its reader sees it at now: a task past its report
// deadline has failed with 710675 even if no row says so yet.
func (s *Service) status(t *openzone.Task) (state openzone.TaskState, errCode int, errMsg string) {
	switch t.State {
	case openzone.TaskDone:
		return t.State, 0, ""
	case openzone.TaskFailed:
		return t.State, t.ErrCode, fmt.Sprintf("the zone could not deliver the task to %q after %d attempts (%s)", t.ProgramID, t.Attempts, t.LastError)
	}
	if !s.cfg.Now().Before(t.CreatedAt.Add(ReportDeadline)) {
		return openzone.TaskFailed, openzone.ErrProgramTimeout, fmt.Sprintf("%q did not report the task's result within %s", t.ProgramID, ReportDeadline)
	}
	return t.State, 0, ""
}

type deliveryWorker struct {
	river.WorkerDefaults[DeliveryArgs]
	s *Service
}

// permanent are delivery failures that retrying cannot heal.
var permanent = map[int]bool{
	openzone.ErrBadProgramID:     true,
	openzone.ErrAbilityNotFound:  true,
	openzone.ErrBadResultJSON:    true, // the ack was too large
	openzone.ErrUnknownInterface: true,
}

// Work delivers a task to its callee: to a deployed instance or, in debug
// mode, to the receiver. The callee's immediate reply is only an
// acknowledgement; its result comes with program_async_job_call_back.
func (w *deliveryWorker) Work(ctx context.Context, job *river.Job[DeliveryArgs]) error {
	s := w.s
	t, err := s.pending(ctx, job.Args.JobID)
	if t == nil {
		return err // acknowledged or reported already: at-least-once delivery ends here
	}
	if st, _, _ := s.status(t); st == openzone.TaskFailed {
		return jobs.Cancel(fmt.Errorf("task %s is past its report deadline", t.JobID))
	}
	supervised, deliverErr := s.deliver(ctx, t, false)
	if errors.Is(deliverErr, listener.ErrAbsent) {
		// The callee's debug listener is away: wait for it (no attempt
		// used; it delivers held work in order when it returns).
		s.cfg.Metrics.Delivery("task", metrics.Held)
		return jobs.Snooze(HoldRecheck)
	}
	return s.delivered(ctx, t, supervised, deliverErr, job.Attempt >= job.MaxAttempts)
}

// pending returns the task a job works on while it is pending; nil (and
// no error) once it is acknowledged, reported or answered; a task that
// no longer exists cancels the job.
func (s *Service) pending(ctx context.Context, jobID string) (*openzone.Task, error) {
	t, err := s.cfg.Store.TaskGet(ctx, jobID)
	if openzone.IsNotFound(err) {
		return nil, jobs.Cancel(fmt.Errorf("task %s no longer exists", jobID))
	}
	if err != nil || t.State != openzone.TaskPending {
		return nil, err
	}
	return t, nil
}

// HoldRecheck is how long a task waits (a River snooze, no attempt used)
// while its callee's debug listener is away; the listener's return
// delivers it at once, in order, without waiting for the recheck.
const HoldRecheck = 30 * time.Second

// delivered records the outcome of one delivery attempt of t; lastAttempt
// fails the task on error.
func (s *Service) delivered(ctx context.Context, t *openzone.Task, supervised bool, deliverErr error, lastAttempt bool) error {
	now := s.cfg.Now()
	attempt := t.Attempts + 1
	if deliverErr == nil {
		to := ""
		if supervised {
			to = s.cfg.NodeID
		}
		_, err := s.cfg.Store.TaskDelivered(ctx, store.TaskDeliveredParams{JobID: t.JobID, Attempts: attempt, DeliveredTo: to, At: now})
		s.cfg.Metrics.Delivery("task", metrics.Delivered)
		return err
	}
	code := openzone.ErrorCode(deliverErr)
	final := lastAttempt || permanent[code]
	s.cfg.Metrics.Delivery("task", map[bool]string{true: metrics.Failed, false: metrics.Retried}[final])
	msg := fmt.Sprintf("errcode %d: %s", code, openzone.ErrorMessage(deliverErr))
	if err := s.cfg.Store.TaskAttemptFailed(ctx, store.TaskAttemptFailedParams{JobID: t.JobID, Attempts: attempt, ErrCode: code, LastError: msg, Final: final, At: now}); err != nil {
		s.cfg.Logger.Error("tasks: record failed attempt", "jobid", t.JobID, "err", err)
	}
	s.cfg.Logger.Warn("tasks: delivery failed", "jobid", t.JobID, "program_id", t.ProgramID, "attempt", attempt, "final", final, "errcode", code)
	if permanent[code] {
		return jobs.Cancel(errors.New(msg))
	}
	return errors.New(msg)
}

// Held returns the callee's tasks not yet delivered, oldest first, each
// with the delivery made when its debug listener connects.
func (s *Service) Held(ctx context.Context, programID string) ([]listener.Held, error) {
	tks, err := s.cfg.Store.TaskListPending(ctx, programID, 1000)
	if err != nil {
		return nil, err
	}
	var held []listener.Held
	for _, t := range tks {
		if st, _, _ := s.status(t); st == openzone.TaskFailed {
			continue // past its report deadline: its job cancels it
		}
		held = append(held, listener.Held{Key: "task:" + t.JobID, At: t.CreatedAt, Deliver: func(ctx context.Context) error {
			supervised, err := s.deliver(ctx, t, true)
			if errors.Is(err, listener.ErrAbsent) {
				return err
			}
			if rerr := s.delivered(ctx, t, supervised, err, false); rerr != nil && err == nil {
				return rerr
			}
			return err
		}})
	}
	return held, nil
}

// deliver sends t to its callee. supervised reports that an instance this
// process runs acknowledged it: such a task dies with the process and is
// delivered again (see Run). drain marks the delivery of a held task.
func (s *Service) deliver(ctx context.Context, t *openzone.Task, drain bool) (supervised bool, err error) {
	prog, err := s.cfg.Store.ProgramGet(ctx, t.ProgramID)
	if openzone.IsNotFound(err) {
		return false, openzone.Errorf(openzone.ErrBadProgramID, "program %q no longer exists", t.ProgramID)
	}
	if err != nil {
		return false, err
	}
	if prog.Ability(t.AbilityID) == nil {
		return false, openzone.Errorf(openzone.ErrAbilityNotFound, "program %q no longer has ability %q", t.ProgramID, t.AbilityID)
	}
	req, err := s.open(t.JobID, "request", t.Request)
	if err != nil {
		return false, err
	}
	call := &gateway.Call{Program: prog, CorpID: t.CorpID, AgentID: t.AgentID, CallType: 1, Data: string(req),
		IsAsync: true, JobInfo: s.JobInfo(t), AbilityID: t.AbilityID, Drain: drain}
	if drain {
		call.HeldSince = t.CreatedAt
	}
	if t.Kind == openzone.TaskModel {
		call.Timeout = ModelAckTimeout
	}
	span := s.cfg.Recorder.Begin(openzone.TrafficRecord{Kind: openzone.TrafficCall, CorpID: t.CorpID, AgentID: t.AgentID,
		ProgramID: t.ProgramID, AbilityID: t.AbilityID, Interface: interfaceOf(t.Kind), Request: traffic.Mask(string(req)),
		StartedAt: s.cfg.Now()})
	res, err := s.cfg.Gateway.Do(ctx, call)
	if errors.Is(err, listener.ErrAbsent) {
		return false, err // held, not attempted: nothing to record
	}
	if res != nil {
		span.Reached(res.Hop)
		span.Rec.Response = traffic.Mask(res.Data)
	}
	span.End(err)
	supervised = res != nil && res.Route == openzone.RouteDeployed && len(prog.Deploy.Command) > 0
	return supervised, err
}

// Node liveness: each process heartbeats every HeartbeatEvery; a node
// silent for NodeTimeout is dead, and the tasks its instances had
// acknowledged (but not reported) are delivered again by any live node.
const (
	HeartbeatEvery = 10 * time.Second
	NodeTimeout    = 30 * time.Second
)

// Run heartbeats this node and requeues orphaned tasks until ctx ends.
// At start it forgets this node's earlier process starts: their
// instances died with them, so their tasks are requeued at once.
func (s *Service) Run(ctx context.Context) {
	if err := s.cfg.Store.NodeHeartbeat(ctx, store.NodeHeartbeatParams{ID: s.cfg.NodeID, Name: s.cfg.NodeName, At: s.cfg.Now()}); err != nil {
		s.cfg.Logger.Warn("tasks: heartbeat", "err", err)
	}
	if err := s.cfg.Store.NodeForget(ctx, s.cfg.NodeName, s.cfg.NodeID); err != nil {
		s.cfg.Logger.Warn("tasks: forget earlier starts", "err", err)
	}
	tick := time.NewTicker(HeartbeatEvery)
	defer tick.Stop()
	for {
		if n, err := s.Sweep(ctx); err != nil && ctx.Err() == nil {
			s.cfg.Logger.Warn("tasks: requeue orphans", "err", err)
		} else if n > 0 {
			s.cfg.Logger.Info("tasks: requeued tasks whose instance died with its node", "tasks", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if err := s.cfg.Store.NodeHeartbeat(ctx, store.NodeHeartbeatParams{ID: s.cfg.NodeID, Name: s.cfg.NodeName, At: s.cfg.Now()}); err != nil && ctx.Err() == nil {
			s.cfg.Logger.Warn("tasks: heartbeat", "err", err)
		}
	}
}

// Sweep requeues the tasks of dead nodes and returns how many.
func (s *Service) Sweep(ctx context.Context) (int, error) {
	n := 0
	for {
		orphans, err := s.cfg.Store.TaskOrphans(ctx, s.cfg.Now().Add(-NodeTimeout), 500)
		if err != nil || len(orphans) == 0 {
			return n, err
		}
		for _, t := range orphans {
			// Counted after the commit: a store may run fn again (PostgreSQL
			// retries a transaction a concurrent one aborted).
			var requeued bool
			err := s.cfg.Store.InTx(ctx, func(tx store.Executor) error {
				requeued = false
				ok, err := tx.TaskRequeue(ctx, t.JobID, t.DeliveredTo)
				if err != nil || !ok {
					return err
				}
				requeued = true
				return s.cfg.Jobs.InsertTx(ctx, tx, DeliveryArgs{JobID: t.JobID}, nil)
			})
			if err != nil {
				return n, err
			}
			if requeued {
				n++
			}
		}
	}
}

// interfaceOf names a delivery in the inspector: what started the task,
// then ":deliver" (its creation has a record of its own).
func interfaceOf(k openzone.TaskKind) string {
	switch k {
	case openzone.TaskProgram:
		return "create_program_task:deliver"
	case openzone.TaskModel:
		return "create_model_task:deliver"
	}
	return "async_program_task:deliver"
}
