package events

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/openzone/openzone"
	"github.com/openzone/openzone/internal/gateway"
	"github.com/openzone/openzone/internal/jobs"
	"github.com/openzone/openzone/internal/listener"
	"github.com/openzone/openzone/internal/metrics"
	"github.com/openzone/openzone/internal/specapi"
	"github.com/openzone/openzone/internal/store"
	"github.com/openzone/openzone/internal/store/sqlite"
	"github.com/openzone/openzone/internal/store/storetest"
	"github.com/openzone/openzone/internal/traffic"
)

// fakeGateway answers every call with err, or with the error failing
// gives its event, noting the calls.
type fakeGateway struct {
	mu      sync.Mutex
	err     error
	failing map[string]error // event id → the error its deliveries get
	calls   []*gateway.Call
}

func (g *fakeGateway) Do(_ context.Context, c *gateway.Call) (*gateway.Result, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.calls = append(g.calls, c)
	err := g.err
	if e, ok := g.failing[c.EventID]; ok {
		err = e
	}
	return &gateway.Result{Hop: traffic.Hop{Route: openzone.RouteDeployed, Instance: "i1", Program: time.Millisecond}}, err
}

// fail makes the deliveries of event id fail (err nil: succeed again).
func (g *fakeGateway) fail(id string, err error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.failing == nil {
		g.failing = map[string]error{}
	}
	if err == nil {
		delete(g.failing, id)
		return
	}
	g.failing[id] = err
}

// delivered lists the event ids the gateway was called with, in order.
func (g *fakeGateway) delivered() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	var ids []string
	for _, c := range g.calls {
		ids = append(ids, c.EventID)
	}
	return ids
}

var t0 = time.Date(2026, 3, 14, 15, 9, 26, 0, time.UTC)

type fixture struct {
	s   *Service
	st  store.Store
	gw  *fakeGateway
	rec *traffic.Recorder
	now time.Time
}

func setup(t *testing.T) *fixture {
	t.Helper()
	ctx := t.Context()
	st := storetest.MustOpen(t, sqlite.Open, filepath.Join(t.TempDir(), "zone.db"))
	for _, err := range []error{
		st.ProviderUpsert(ctx, &openzone.Provider{ID: "isv"}),
		st.CorpUpsert(ctx, &openzone.Corp{CorpID: "wwcorp"}),
		st.AppUpsert(ctx, &openzone.App{CorpID: "wwcorp", AgentID: 1, Type: openzone.AppSelfBuilt, Secret: "s1", ZonePermission: true}),
		st.AppUpsert(ctx, &openzone.App{CorpID: "wwcorp", AgentID: 2, Type: openzone.AppSelfBuilt, Secret: "s2", ZonePermission: true}),
		st.ProgramUpsert(ctx, &openzone.Program{ID: "prog", ProviderID: "isv", Kind: openzone.KindProgram}),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	runner, err := jobs.New(jobs.Config{DB: st.SQL(), InsertOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	rec := traffic.New(st, slog.New(slog.DiscardHandler))
	t.Cleanup(rec.Close)
	f := &fixture{st: st, gw: &fakeGateway{}, rec: rec, now: t0}
	f.s = New(Config{Store: st, Jobs: runner, Gateway: f.gw, Recorder: rec, Now: func() time.Time { return f.now },
		Logger: slog.New(slog.DiscardHandler)})
	return f
}

func (f *fixture) raise(t *testing.T, id string, at time.Time) *openzone.Event {
	t.Helper()
	return f.raiseIn(t, "wwcorp", id, at)
}

// raiseIn raises an event of prog for corp (events have no foreign keys).
func (f *fixture) raiseIn(t *testing.T, corpID, id string, at time.Time) *openzone.Event {
	t.Helper()
	e := &openzone.Event{ID: id, CorpID: corpID, AgentID: 1, ProgramID: "prog", Type: "hit_keyword",
		Data: json.RawMessage(`{"token":"x"}`), State: openzone.EventPending, CreatedAt: at}
	if err := f.st.InTx(t.Context(), func(tx store.Executor) error { return f.s.Enqueue(t.Context(), tx, e) }); err != nil {
		t.Fatal(err)
	}
	return e
}

func (f *fixture) traffic(t *testing.T) []*openzone.TrafficRecord {
	t.Helper()
	f.rec.Flush(t.Context())
	recs, err := f.st.TrafficList(t.Context(), openzone.TrafficFilter{Kind: openzone.TrafficEvent})
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

// TestDeliver: one delivery attempt of an event, and what it leaves: the
// event's state and a traffic record, except while the program's debug
// listener is away (held: no attempt, no record).
func TestDeliver(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name     string
		err      error
		attempt  int
		state    string
		attempts int
		records  int
	}{
		{"Delivered", nil, 1, openzone.EventDelivered, 1, 1},
		{"Failed", openzone.Errorf(openzone.ErrProgramStatus, "HTTP 500"), 2, openzone.EventPending, 2, 1},
		{"FailedLast", openzone.Errorf(openzone.ErrProgramStatus, "HTTP 500"), 3, openzone.EventFailed, 3, 1},
		{"Held", openzone.Wrap(openzone.ErrProgramConnect, listener.ErrAbsent, "no listener"), 1, openzone.EventPending, 0, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := setup(t)
			f.gw.err = tc.err
			e := f.raise(t, "ev1", t0)
			err := f.s.deliver(t.Context(), e, tc.attempt, 3, false)
			if (err == nil) != (tc.err == nil) || (tc.name == "Held") != errors.Is(err, listener.ErrAbsent) {
				t.Fatalf("deliver: %v", err)
			}
			got, err := f.st.EventGet(t.Context(), "ev1")
			if err != nil || got.State != tc.state || got.Attempts != tc.attempts {
				t.Fatalf("event %+v, %v: want %s after %d attempts", got, err, tc.state, tc.attempts)
			}
			if recs := f.traffic(t); len(recs) != tc.records {
				t.Fatalf("%d traffic records, want %d", len(recs), tc.records)
			}
			if c := f.gw.calls[0]; c.CallType != 2 || c.EventID != "ev1" || c.Data != `{"token":"x"}` {
				t.Fatalf("call %+v", c)
			}
		})
	}
}

// TestHeld: a program's pending events, oldest first, each delivered past
// the listener's gate when it is drained.
func TestHeld(t *testing.T) {
	t.Parallel()
	f := setup(t)
	f.raise(t, "ev2", t0.Add(time.Second))
	f.raise(t, "ev1", t0)
	held, err := f.s.Held(t.Context(), "prog")
	if err != nil || len(held) != 2 || held[0].Key != "event:ev1" || held[1].Key != "event:ev2" {
		t.Fatalf("held %+v, %v", held, err)
	}
	if err := held[0].Deliver(t.Context()); err != nil {
		t.Fatal(err)
	}
	if c := f.gw.calls[0]; !c.Drain || !c.HeldSince.Equal(t0) {
		t.Fatalf("held delivery %+v: want Drain since %s", c, t0)
	}
	if held, _ = f.s.Held(t.Context(), "prog"); len(held) != 1 {
		t.Fatalf("held after one delivery: %d", len(held))
	}
}

// TestNotify: spec_notify_app mints or takes a notify_id for the calling
// app and program; a sync call may then carry it, while it is valid.
func TestNotify(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := t.Context()
	c := &specapi.Context{ProgramID: "prog", CorpID: "wwcorp", AgentID: 1, Instance: "prog-0"}
	notify := func(req string) (string, error) {
		rep, err := f.s.specNotifyApp(ctx, c, json.RawMessage(req))
		if err != nil {
			return "", err
		}
		return rep.(*notifyReply).NotifyID, nil
	}
	for _, tc := range []struct{ name, req string }{
		{"SceneRange", `{"notify_scene":256}`},
		{"SceneType", `{"notify_scene":"x"}`},
	} {
		if _, err := notify(tc.req); openzone.ErrorCode(err) != openzone.ErrInvalidParam {
			t.Errorf("%s: %v, want 40058", tc.name, err)
		}
	}
	if _, err := notify(`{"notify_id":"bad id!"}`); openzone.ErrorCode(err) != openzone.ErrBadNotifyID {
		t.Errorf("bad id: %v, want 710646", err)
	}
	minted, err := notify(`{}`)
	if err != nil || len(minted) != 32 {
		t.Fatalf("minted %q, %v", minted, err)
	}
	if id, err := notify(`{"notify_id":"n-1","notify_scene":3}`); err != nil || id != "n-1" {
		t.Fatalf("chosen id: %q, %v", id, err)
	}
	if _, err := notify(`{"notify_id":"n-1"}`); openzone.ErrorCode(err) != openzone.ErrBadNotifyID {
		t.Fatalf("the id again: %v, want 710646", err)
	}

	check := func(id string, agent int64) error {
		_, err := f.s.CheckNotify(ctx, NotifyCheck{NotifyID: id, CorpID: "wwcorp", AgentID: agent, ProgramID: "prog"})
		return err
	}
	if n, err := f.s.CheckNotify(ctx, NotifyCheck{NotifyID: "n-1", CorpID: "wwcorp", AgentID: 1, ProgramID: "prog"}); err != nil || n.Instance != "prog-0" || n.Scene != 3 {
		t.Fatalf("check: %+v, %v", n, err)
	}
	if err := check("nope", 1); openzone.ErrorCode(err) != openzone.ErrBadNotifyID {
		t.Errorf("unknown: %v", err)
	}
	if err := check("n-1", 2); openzone.ErrorCode(err) != openzone.ErrBadNotifyID {
		t.Errorf("another app's: %v", err)
	}
	f.now = f.now.Add(NotifyTTL)
	if err := check("n-1", 1); openzone.ErrorCode(err) != openzone.ErrBadNotifyID {
		t.Errorf("expired: %v", err)
	}
}

// work runs the delivery job jobID of event id at attempt (of 5), as River
// would, and says whether it snoozed.
func (f *fixture) work(t *testing.T, jobID int64, id string, attempt int) (snoozed time.Duration, err error) {
	t.Helper()
	w := &eventWorker{s: f.s}
	err = w.Work(t.Context(), &river.Job[EventArgs]{JobRow: &rivertype.JobRow{ID: jobID, Attempt: attempt, MaxAttempts: 5},
		Args: EventArgs{EventID: id}})
	var snooze *rivertype.JobSnoozeError
	if errors.As(err, &snooze) {
		return snooze.Duration, nil
	}
	return 0, err
}

func (f *fixture) event(t *testing.T, id string) *openzone.Event {
	t.Helper()
	e, err := f.st.EventGet(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

var errDown = openzone.Errorf(openzone.ErrProgramStatus, "HTTP 503")

// TestOrder: an event waits, without an attempt, while an earlier one of
// its program and corp is pending, and goes once that one is delivered;
// events of another corp do not wait for it.
func TestOrder(t *testing.T) {
	t.Parallel()
	f := setup(t)
	f.raise(t, "ev-a", t0)
	f.raise(t, "ev-b", t0) // the same millisecond: raised after ev-a
	f.raiseIn(t, "wwother", "ev-other", t0.Add(time.Second))
	f.gw.fail("ev-a", errDown)

	if _, err := f.work(t, 1, "ev-a", 1); err == nil {
		t.Fatal("ev-a delivered, want its first attempt to fail")
	}
	if wait, err := f.work(t, 2, "ev-b", 1); err != nil || wait <= 0 {
		t.Fatalf("ev-b behind a failing ev-a: wait %v, %v; want a snooze", wait, err)
	}
	if b := f.event(t, "ev-b"); b.State != openzone.EventPending || b.Attempts != 0 || b.JobID != 2 ||
		b.LastError != "held: waiting for earlier event ev-a" {
		t.Fatalf("waiting ev-b: %+v", b)
	}
	if wait, err := f.work(t, 3, "ev-other", 1); err != nil || wait != 0 {
		t.Fatalf("another corp's event: wait %v, %v; want it delivered", wait, err)
	}

	f.gw.fail("ev-a", nil)
	if _, err := f.work(t, 1, "ev-a", 2); err != nil {
		t.Fatal(err)
	}
	if wait, err := f.work(t, 2, "ev-b", 1); err != nil || wait != 0 {
		t.Fatalf("ev-b after ev-a: wait %v, %v; want it delivered", wait, err)
	}
	if got := f.gw.delivered(); !slices.Equal(got, []string{"ev-a", "ev-other", "ev-a", "ev-b"}) {
		t.Fatalf("deliveries %q", got)
	}
	if b := f.event(t, "ev-b"); b.State != openzone.EventDelivered || b.Attempts != 1 || b.LastError != "" {
		t.Fatalf("ev-b: %+v", b)
	}
	if recs := f.traffic(t); len(recs) != 4 {
		t.Fatalf("%d traffic records, want one per attempt (4)", len(recs))
	}
}

// TestStepAside: an event failing for OrderHold steps aside — once, with a
// note, a log line and a count — and the events behind it go; it keeps
// its own retries. Waiting for it never lasts past the hold.
func TestStepAside(t *testing.T) {
	t.Parallel()
	f := setup(t)
	m := metrics.New()
	f.s.cfg.Metrics, f.s.cfg.OrderHold = m, time.Minute
	var logs strings.Builder
	f.s.cfg.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	f.raise(t, "ev-poison", t0)
	f.raise(t, "ev-b", t0.Add(time.Millisecond))
	f.raise(t, "ev-c", t0.Add(2*time.Millisecond))
	f.gw.fail("ev-poison", errDown)

	if _, err := f.work(t, 1, "ev-poison", 1); err == nil {
		t.Fatal("the poison event was delivered")
	}
	if p := f.event(t, "ev-poison"); !p.FailingSince.Equal(t0) {
		t.Fatalf("failing since %v, want %v", p.FailingSince, t0)
	}
	f.now = t0.Add(40 * time.Second)
	wait, err := f.work(t, 2, "ev-b", 1)
	if err != nil || wait <= 0 || wait > 20*time.Second {
		t.Fatalf("ev-b: wait %v, %v; want a snooze until the hold ends", wait, err)
	}
	if _, err := f.work(t, 1, "ev-poison", 2); err == nil {
		t.Fatal("the poison event was delivered")
	}
	if p := f.event(t, "ev-poison"); !p.FailingSince.Equal(t0) || !p.SteppedAsideAt.IsZero() {
		t.Fatalf("poison event inside the hold: %+v", p)
	}

	f.now = t0.Add(time.Minute)
	if wait, err := f.work(t, 2, "ev-b", 1); err != nil || wait != 0 {
		t.Fatalf("ev-b after the hold: wait %v, %v; want it delivered", wait, err)
	}
	p := f.event(t, "ev-poison")
	if p.State != openzone.EventPending || !p.SteppedAsideAt.Equal(f.now) || !strings.HasPrefix(p.LastError, "stepped aside: failing for 1m0s") {
		t.Fatalf("poison event after the hold: %+v", p)
	}
	if wait, err := f.work(t, 3, "ev-c", 1); err != nil || wait != 0 {
		t.Fatalf("ev-c: wait %v, %v; want it delivered", wait, err)
	}
	// The poison event keeps its retries, and says it stepped aside.
	if _, err := f.work(t, 1, "ev-poison", 3); err == nil {
		t.Fatal("the poison event was delivered")
	}
	if p := f.event(t, "ev-poison"); p.Attempts != 3 || p.State != openzone.EventPending || !strings.HasPrefix(p.LastError, "stepped aside: errcode") {
		t.Fatalf("poison event retried: %+v", p)
	}
	if got := f.gw.delivered(); !slices.Equal(got, []string{"ev-poison", "ev-poison", "ev-b", "ev-c", "ev-poison"}) {
		t.Fatalf("deliveries %q", got)
	}
	if n := strings.Count(logs.String(), "stepped aside"); n != 1 || !strings.Contains(logs.String(), "event_id=ev-poison") {
		t.Fatalf("log lines about the step-aside: %d in\n%s", n, logs.String())
	}
	rec := httptest.NewRecorder()
	m.Exposition().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	for _, want := range []string{`openzone_deliveries_total{kind="event",outcome="stepped_aside"} 1`,
		`openzone_deliveries_total{kind="event",outcome="held"} 1`} {
		if !strings.Contains(rec.Body.String(), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

// TestOrderOff: with a negative OrderHold events keep no order.
func TestOrderOff(t *testing.T) {
	t.Parallel()
	f := setup(t)
	f.s.cfg.OrderHold = -1
	f.raise(t, "ev-a", t0)
	f.raise(t, "ev-b", t0.Add(time.Millisecond))
	f.gw.fail("ev-a", errDown)
	f.work(t, 1, "ev-a", 1)
	if wait, err := f.work(t, 2, "ev-b", 1); err != nil || wait != 0 {
		t.Fatalf("ev-b: wait %v, %v; want it delivered", wait, err)
	}
}

// TestHeldInOrder: a drain (the debug listener is back) delivers a
// program's held events oldest first, and one that fails holds back the
// later ones of its corp (their jobs deliver them in turn).
func TestHeldInOrder(t *testing.T) {
	t.Parallel()
	f := setup(t)
	f.raise(t, "ev-a", t0)
	f.raise(t, "ev-b", t0.Add(time.Millisecond))
	f.raiseIn(t, "wwother", "ev-other", t0.Add(2*time.Millisecond))
	f.gw.fail("ev-a", errDown)
	held, err := f.s.Held(t.Context(), "prog")
	if err != nil || len(held) != 3 {
		t.Fatalf("held %d, %v", len(held), err)
	}
	for i, h := range held {
		err := h.Deliver(t.Context())
		if (err == nil) != (i == 2) {
			t.Fatalf("%s: %v", h.Key, err)
		}
	}
	if got := f.gw.delivered(); !slices.Equal(got, []string{"ev-a", "ev-other"}) {
		t.Fatalf("deliveries %q", got)
	}
}
