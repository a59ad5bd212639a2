// Package events delivers what the zone tells programs and apps, durably:
// zone → program events (专区程序接收事件通知, call_type 2) and program →
// app notifications (应用接收专区通知, the program_notify callback). Each
// delivery is a River job enqueued in the same transaction as the row it
// delivers, retried on the schedule of internal/jobs, and idempotent: a
// delivered event is never sent again, and its id is stable across retries.
package events

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"strings"
	"time"

	"github.com/riverqueue/river"

	"github.com/openzone/openzone"
	"github.com/openzone/openzone/internal/gateway"
	"github.com/openzone/openzone/internal/jobs"
	"github.com/openzone/openzone/internal/listener"
	"github.com/openzone/openzone/internal/metrics"
	"github.com/openzone/openzone/internal/outbound"
	"github.com/openzone/openzone/internal/specapi"
	"github.com/openzone/openzone/internal/store"
	"github.com/openzone/openzone/internal/traffic"
	"github.com/openzone/openzone/internal/wecomcrypt"
)

// NotifyTTL is how long a notify_id is valid.
const NotifyTTL = 10 * time.Minute

// Config wires the deliverer.
type Config struct {
	Store    store.Store
	Jobs     *jobs.Runner
	Gateway  Gateway
	Recorder *traffic.Recorder
	Now      func() time.Time
	Logger   *slog.Logger
	// HTTPClient posts notifications to apps' callback URLs; default an
	// outbound client with the default policy and a 10 s timeout.
	HTTPClient *http.Client
	// Metrics counts deliveries; nil counts nothing.
	Metrics *metrics.Metrics
	// OrderHold is how long an event whose delivery keeps failing holds
	// back the later events of its program and corp before it steps aside
	// (they go ahead; it keeps its own retries). 0 means DefaultOrderHold;
	// a negative hold delivers events in no particular order, each as its
	// job runs.
	OrderHold time.Duration
}

// DefaultOrderHold is Config.OrderHold's default: long enough to ride out
// a program's restart or a short outage (the retries in that time come at
// 1, 5, 15 and 60 s), short enough that one poison event does not stop its
// program's events for the 72 h it is retried.
const DefaultOrderHold = 5 * time.Minute

// Gateway delivers a call to a program (gateway.Gateway).
type Gateway interface {
	Do(ctx context.Context, c *gateway.Call) (*gateway.Result, error)
}

// Service delivers events and notifications.
type Service struct{ cfg Config }

// New returns the service and registers its workers with the runner (call
// before the runner starts).
func New(cfg Config) *Service {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = outbound.New(outbound.Config{Timeout: 10 * time.Second})
	}
	if cfg.OrderHold == 0 {
		cfg.OrderHold = DefaultOrderHold
	}
	s := &Service{cfg: cfg}
	jobs.Register(cfg.Jobs, &eventWorker{s: s})
	jobs.Register(cfg.Jobs, &notifyWorker{s: s})
	return s
}

// EventArgs is the job that delivers one event. Its kind never changes.
type EventArgs struct {
	EventID string `json:"event_id"`
}

// Kind implements river.JobArgs.
func (EventArgs) Kind() string { return "event_delivery" }

// NotifyArgs is the job that posts one program_notify to an app.
type NotifyArgs struct {
	NotifyID string `json:"notify_id"`
}

// Kind implements river.JobArgs.
func (NotifyArgs) Kind() string { return "notify_delivery" }

// Enqueue stores an event and its delivery job in tx.
func (s *Service) Enqueue(ctx context.Context, tx store.Executor, e *openzone.Event) error {
	if err := tx.EventInsert(ctx, e); err != nil {
		return err
	}
	return s.cfg.Jobs.InsertTx(ctx, tx, EventArgs{EventID: e.ID}, nil)
}

type eventWorker struct {
	river.WorkerDefaults[EventArgs]
	s *Service
}

// HoldRecheck is how long an event waits (a River snooze, which uses up
// no attempt) while its program's debug listener is away, or while an
// earlier event of its line is pending. Held events do not depend on it:
// the listener's return delivers them at once, in order (DeliverHeld), and
// an event's turn wakes the next in line; the recheck only catches up with
// state changes made elsewhere (a receiver URL set, the credential
// expired) and with a wake-up missed.
const HoldRecheck = 30 * time.Second

// minWait is the shortest wait in line: an event whose turn comes when the
// one ahead steps aside looks again just after that.
const minWait = 50 * time.Millisecond

// Work delivers one event to the program the app chose with
// set_receive_callback: to its deployed instances or, in debug mode, to
// its receiver. A failure is retried; after the last attempt the event is
// marked failed. While an earlier event of its program and corp is pending
// (and has not stepped aside) it waits for its turn, and while the
// program's debug listener is away it is held: both without using up
// attempts. When it is done — delivered or failed for good — the next
// event of its line is woken.
func (w *eventWorker) Work(ctx context.Context, job *river.Job[EventArgs]) error {
	s := w.s
	e, err := s.cfg.Store.EventGet(ctx, job.Args.EventID)
	if openzone.IsNotFound(err) {
		return jobs.Cancel(fmt.Errorf("event %s no longer exists", job.Args.EventID))
	}
	if err != nil {
		return err
	}
	if e.State == openzone.EventDelivered {
		return nil // delivered by an earlier attempt whose completion was lost, or by DeliverHeld
	}
	wait, err := s.waitInLine(ctx, e, job.ID)
	if err != nil {
		return err
	}
	if wait > 0 {
		s.cfg.Metrics.Delivery("event", metrics.Held)
		return jobs.Snooze(wait)
	}
	err = s.deliver(ctx, e, job.Attempt, job.MaxAttempts, false)
	if errors.Is(err, listener.ErrAbsent) {
		return jobs.Snooze(HoldRecheck)
	}
	if e.State != openzone.EventPending && e.SteppedAsideAt.IsZero() {
		s.wakeNext(ctx, e, "") // (one that stepped aside woke the next then)
	}
	return err
}

// ahead returns the event e waits for: the head of its line ahead of it,
// pending and not stepped aside; nil when e's turn has come (or events
// keep no order). An event ahead that has been failing for OrderHold steps
// aside here, reported once whichever node sees it first, and the next
// event of the line is woken.
func (s *Service) ahead(ctx context.Context, e *openzone.Event) (*openzone.Event, error) {
	if s.cfg.OrderHold < 0 {
		return nil, nil
	}
	for round := 0; ; round++ { // each round steps one event aside
		a, err := s.cfg.Store.EventAhead(ctx, e)
		if openzone.IsNotFound(err) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		now := s.cfg.Now()
		if round == maxStepAside || a.FailingSince.IsZero() || now.Sub(a.FailingSince) < s.cfg.OrderHold {
			return a, nil
		}
		note := fmt.Sprintf("stepped aside: failing for %s, later events go ahead; its retries go on: %s",
			s.cfg.OrderHold, a.LastError)
		stepped, err := s.cfg.Store.EventStepAside(ctx, a.ID, now, note)
		if err != nil {
			return nil, err
		}
		if stepped {
			s.cfg.Metrics.Delivery("event", metrics.SteppedAside)
			s.cfg.Logger.Warn("events: event stepped aside: later events of its program and corp go ahead",
				"event_id", a.ID, "program_id", a.ProgramID, "corpid", a.CorpID, "failing_since", a.FailingSince,
				"attempts", a.Attempts, "hold", s.cfg.OrderHold, "last_error", a.LastError)
			a.SteppedAsideAt = now
			s.wakeNext(ctx, a, e.ID)
		}
	}
}

// maxStepAside bounds the events one look at a line steps aside; the
// rest wait for the next look.
const maxStepAside = 16

// waitInLine says how long e's job waits before it looks again; 0 when
// e's turn has come. A waiting event records its job (for wakeNext) and
// why it waits, then looks once more: the event ahead may have finished
// meanwhile and found no job to wake.
func (s *Service) waitInLine(ctx context.Context, e *openzone.Event, jobID int64) (time.Duration, error) {
	a, err := s.ahead(ctx, e)
	if a == nil || err != nil {
		return 0, err
	}
	if note := "held: waiting for earlier event " + a.ID; e.JobID != jobID || e.LastError != note {
		if err := s.cfg.Store.EventWait(ctx, e.ID, jobID, note); err != nil {
			return 0, err
		}
		e.JobID, e.LastError = jobID, note
		if a, err = s.ahead(ctx, e); a == nil || err != nil {
			return 0, err
		}
	}
	wait := HoldRecheck
	if !a.FailingSince.IsZero() {
		// Look again when the event ahead is due to step aside.
		wait = min(wait, max(a.FailingSince.Add(s.cfg.OrderHold).Sub(s.cfg.Now()), minWait))
	}
	return wait, nil
}

// wakeNext wakes the job of the next event in e's line (unless it is
// self's, which is running): e no longer holds it back. Waking is an
// optimisation — a job not woken looks again after HoldRecheck — so a
// failure is only logged.
func (s *Service) wakeNext(ctx context.Context, e *openzone.Event, self string) {
	if s.cfg.OrderHold < 0 {
		return
	}
	next, err := s.cfg.Store.EventBehind(ctx, e)
	if err != nil || next.ID == self || next.JobID == 0 {
		return
	}
	if err := s.cfg.Jobs.Wake(ctx, next.JobID, EventArgs{EventID: next.ID}); err != nil && ctx.Err() == nil {
		s.cfg.Logger.Warn("events: wake the next event", "event_id", next.ID, "err", err)
	}
}

// deliver makes one delivery attempt of e and records it. drain marks the
// delivery of a held event (DeliverHeld).
func (s *Service) deliver(ctx context.Context, e *openzone.Event, attempt, maxAttempts int, drain bool) error {
	prog, err := s.cfg.Store.ProgramGet(ctx, e.ProgramID)
	if err != nil {
		return s.eventFailed(ctx, e, attempt, maxAttempts, err)
	}
	call := &gateway.Call{Program: prog, CorpID: e.CorpID, AgentID: e.AgentID, CallType: 2, Data: string(e.Data),
		EventID: e.ID, Label: e.Type, Drain: drain}
	if drain {
		call.HeldSince = e.CreatedAt
	}
	span := s.cfg.Recorder.Begin(openzone.TrafficRecord{Kind: openzone.TrafficEvent, CorpID: e.CorpID, AgentID: e.AgentID,
		ProgramID: e.ProgramID, AbilityID: e.Type, Request: traffic.Mask(string(e.Data)), StartedAt: s.cfg.Now()})
	res, err := s.cfg.Gateway.Do(ctx, call)
	if errors.Is(err, listener.ErrAbsent) {
		// Held, not failed: no attempt, no traffic record for it.
		s.cfg.Metrics.Delivery("event", metrics.Held)
		if held := "held: " + openzone.ErrorMessage(err); e.LastError != held {
			e.LastError = held
			if uerr := s.cfg.Store.EventUpdate(ctx, e); uerr != nil {
				s.cfg.Logger.Error("events: record held event", "event_id", e.ID, "err", uerr)
			}
		}
		return err
	}
	if res != nil {
		span.Reached(res.Hop)
	}
	span.End(err)
	if err != nil {
		return s.eventFailed(ctx, e, attempt, maxAttempts, err)
	}
	e.Attempts = attempt
	e.State, e.LastError, e.DeliveredAt = openzone.EventDelivered, "", s.cfg.Now()
	s.cfg.Metrics.Delivery("event", metrics.Delivered)
	return s.cfg.Store.EventUpdate(ctx, e)
}

func (s *Service) eventFailed(ctx context.Context, e *openzone.Event, attempt, maxAttempts int, cause error) error {
	e.Attempts = attempt
	e.LastError = fmt.Sprintf("errcode %d: %s", openzone.ErrorCode(cause), openzone.ErrorMessage(cause))
	if e.FailingSince.IsZero() {
		e.FailingSince = s.cfg.Now()
	}
	if attempt >= maxAttempts {
		e.State = openzone.EventFailed
		s.cfg.Metrics.Delivery("event", metrics.Failed)
	} else {
		s.cfg.Metrics.Delivery("event", metrics.Retried)
	}
	if err := s.cfg.Store.EventUpdate(ctx, e); err != nil {
		s.cfg.Logger.Error("events: record failed attempt", "event_id", e.ID, "err", err)
	}
	s.cfg.Logger.Warn("events: delivery failed", "event_id", e.ID, "program_id", e.ProgramID, "attempt", attempt, "errcode", openzone.ErrorCode(cause))
	return errors.New(e.LastError)
}

// Held returns the program's pending events, oldest first, each with the
// delivery DeliverHeld makes when a debug listener connects.
func (s *Service) Held(ctx context.Context, programID string) ([]listener.Held, error) {
	evs, err := s.cfg.Store.EventListPending(ctx, programID, 1000)
	if err != nil {
		return nil, err
	}
	held := make([]listener.Held, len(evs))
	for i, e := range evs {
		held[i] = listener.Held{Key: "event:" + e.ID, At: e.CreatedAt, Deliver: func(ctx context.Context) error {
			// An event the program refuses keeps its own retry schedule,
			// and the later ones of its corp wait for it (their jobs
			// deliver them when their turn comes).
			a, err := s.ahead(ctx, e)
			if err != nil {
				return err
			}
			if a != nil {
				return fmt.Errorf("event %s waits for earlier event %s", e.ID, a.ID)
			}
			return s.deliver(ctx, e, e.Attempts+1, math.MaxInt, true)
		}}
	}
	return held, nil
}

// Register adds spec_notify_app (专区通知应用) to the SDK registry.
func (s *Service) Register(r *specapi.Registry) {
	r.Register("spec_notify_app", s.specNotifyApp)
}

func validNotifyID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for _, c := range id {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

type notifyReply struct {
	openzone.Base
	NotifyID string `json:"notify_id"`
}

// specNotifyApp is spec_notify_app{notify_id?, notify_scene?} → notify_id.
// It remembers which instance asked (so a sync_call_program with the
// notify_id reaches it) and enqueues the program_notify callback to the app.
func (s *Service) specNotifyApp(ctx context.Context, c *specapi.Context, raw json.RawMessage) (openzone.Reply, error) {
	var req struct {
		NotifyID    string `json:"notify_id"`
		NotifyScene *int   `json:"notify_scene"`
	}
	if err := json.Unmarshal(raw, &req); err != nil {
		return nil, openzone.Errorf(openzone.ErrInvalidParam, "notify_id must be a string and notify_scene an integer")
	}
	scene := 0
	if req.NotifyScene != nil {
		if *req.NotifyScene < 0 || *req.NotifyScene > 255 {
			return nil, openzone.Errorf(openzone.ErrInvalidParam, "notify_scene must be from 0 to 255, got %d", *req.NotifyScene)
		}
		scene = *req.NotifyScene
	}
	id := req.NotifyID
	if id == "" {
		var b [16]byte
		rand.Read(b[:])
		id = hex.EncodeToString(b[:])
	} else if !validNotifyID(id) {
		return nil, openzone.Errorf(openzone.ErrBadNotifyID, "notify_id must be 1 to 64 characters of [0-9A-Za-z_-]")
	}
	now := s.cfg.Now()
	n := &openzone.Notify{NotifyID: id, CorpID: c.CorpID, AgentID: c.AgentID, ProgramID: c.ProgramID, Instance: c.Instance,
		Scene: scene, CreatedAt: now, ExpiresAt: now.Add(NotifyTTL)}
	err := s.cfg.Store.InTx(ctx, func(tx store.Executor) error {
		if err := tx.NotifyInsert(ctx, n); err != nil {
			if openzone.ErrorKind(err) == openzone.Conflict {
				return openzone.Errorf(openzone.ErrBadNotifyID, "notify_id %q was already used", id)
			}
			return err
		}
		return s.cfg.Jobs.InsertTx(ctx, tx, NotifyArgs{NotifyID: id}, nil)
	})
	if err != nil {
		return nil, err
	}
	return &notifyReply{Base: openzone.OK, NotifyID: id}, nil
}

// NotifyCheck is a notify_id a sync_call_program of an app to a program
// carries.
type NotifyCheck struct {
	NotifyID  string
	CorpID    string
	AgentID   int64
	ProgramID string
}

// CheckNotify returns the notify a sync_call_program carries: it must be
// unexpired and belong to the calling app and program (710646 otherwise).
func (s *Service) CheckNotify(ctx context.Context, c NotifyCheck) (*openzone.Notify, error) {
	notifyID, corpID, agentID, programID := c.NotifyID, c.CorpID, c.AgentID, c.ProgramID
	n, err := s.cfg.Store.NotifyGet(ctx, notifyID)
	if err != nil {
		if openzone.IsNotFound(err) {
			return nil, openzone.Errorf(openzone.ErrBadNotifyID, "notify_id %q is unknown", notifyID)
		}
		return nil, err
	}
	if n.CorpID != corpID || n.AgentID != agentID || n.ProgramID != programID {
		return nil, openzone.Errorf(openzone.ErrBadNotifyID, "notify_id %q was not issued to this app and program", notifyID)
	}
	if !s.cfg.Now().Before(n.ExpiresAt) {
		return nil, openzone.Errorf(openzone.ErrBadNotifyID, "notify_id %q expired (valid 10 minutes)", notifyID)
	}
	return n, nil
}

type notifyWorker struct {
	river.WorkerDefaults[NotifyArgs]
	s *Service
}

// Work posts program_notify to the app's callback URL in WeCom's encrypted
// XML format. An app without a callback URL cannot be told: the job is
// cancelled (and logged) rather than retried for days.
func (w *notifyWorker) Work(ctx context.Context, job *river.Job[NotifyArgs]) error {
	s := w.s
	n, err := s.cfg.Store.NotifyGet(ctx, job.Args.NotifyID)
	if openzone.IsNotFound(err) {
		return jobs.Cancel(fmt.Errorf("notify %s no longer exists", job.Args.NotifyID))
	}
	if err != nil {
		return err
	}
	app, err := s.cfg.Store.AppGet(ctx, n.CorpID, n.AgentID)
	if err != nil {
		return jobs.Cancel(fmt.Errorf("notify %s: app: %w", n.NotifyID, err))
	}
	cb := app.Callback
	if cb.URL == "" {
		s.cfg.Logger.Warn("events: app has no callback URL; program_notify dropped", "corpid", app.CorpID, "agentid", app.AgentID, "notify_id", n.NotifyID)
		return jobs.Cancel(fmt.Errorf("app %d of corp %s has no callback URL", app.AgentID, app.CorpID))
	}
	c, err := wecomcrypt.New(cb.Token, cb.EncodingAESKey, app.CorpID)
	if err != nil {
		return jobs.Cancel(fmt.Errorf("app %d callback settings: %w", app.AgentID, err))
	}
	msg := wecomcrypt.EncodeProgramNotify(app.CorpID, s.cfg.Now().Unix(), n.NotifyID, n.Scene)
	q, body, err := c.SealCallback(msg, time.Now().Unix(), "")
	if err != nil {
		return err
	}
	u := cb.URL
	if strings.Contains(u, "?") {
		u += "&" + q.Encode()
	} else {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, strings.NewReader(string(body)))
	if err != nil {
		return jobs.Cancel(err)
	}
	req.Header.Set("Content-Type", "text/xml; charset=utf-8")
	span := s.cfg.Recorder.Begin(openzone.TrafficRecord{Kind: openzone.TrafficNotify, CorpID: n.CorpID, AgentID: n.AgentID,
		ProgramID: n.ProgramID, Interface: "program_notify", RequestID: n.NotifyID, StartedAt: s.cfg.Now(),
		Request: traffic.Mask(fmt.Sprintf(`{"notify_id":%q,"notify_scene":%d,"attempt":%d}`, n.NotifyID, n.Scene, job.Attempt))})
	start := time.Now()
	err = s.postNotify(req, cb.URL)
	// The whole crossing is the app's: its callback took the time.
	span.Reached(traffic.Hop{Program: time.Since(start)})
	if err != nil {
		// The app's callback is not a zone API: a failure is recorded as
		// errcode -1 with what went wrong.
		span.End(openzone.Wrap(openzone.ErrSystem, err, "%s", err.Error()))
		s.cfg.Metrics.Delivery("notify", map[bool]string{true: metrics.Failed, false: metrics.Retried}[job.Attempt >= job.MaxAttempts])
		return err
	}
	span.End(nil)
	s.cfg.Metrics.Delivery("notify", metrics.Delivered)
	return nil
}

func (s *Service) postNotify(req *http.Request, url string) error {
	resp, err := s.cfg.HTTPClient.Do(req)
	if err != nil {
		// Name the callback URL without the signed query string.
		return fmt.Errorf("post program_notify to %s: %s", url, outbound.Reason(err))
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("post program_notify to %s: HTTP %d", url, resp.StatusCode)
	}
	return nil
}
