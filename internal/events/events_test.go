package events

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/openzone/openzone"
	"github.com/openzone/openzone/internal/gateway"
	"github.com/openzone/openzone/internal/jobs"
	"github.com/openzone/openzone/internal/listener"
	"github.com/openzone/openzone/internal/specapi"
	"github.com/openzone/openzone/internal/store"
	"github.com/openzone/openzone/internal/store/sqlite"
	"github.com/openzone/openzone/internal/store/storetest"
	"github.com/openzone/openzone/internal/traffic"
)

// fakeGateway answers every call with err, noting the calls.
type fakeGateway struct {
	mu    sync.Mutex
	err   error
	calls []*gateway.Call
}

func (g *fakeGateway) Do(_ context.Context, c *gateway.Call) (*gateway.Result, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.calls = append(g.calls, c)
	return &gateway.Result{Hop: traffic.Hop{Route: openzone.RouteDeployed, Instance: "i1", Program: time.Millisecond}}, g.err
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
	e := &openzone.Event{ID: id, CorpID: "wwcorp", AgentID: 1, ProgramID: "prog", Type: "hit_keyword",
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
