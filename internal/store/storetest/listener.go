package storetest

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/openzone/openzone"
	"github.com/openzone/openzone/internal/store"
)

func testDebugListener(t *testing.T, open func(*testing.T) store.Store) {
	connected := func(id string) *openzone.DebugListener {
		return &openzone.DebugListener{State: openzone.ListenerConnected, ID: id, Node: "node-1", ConnectedAt: t0}
	}
	t.Run("SetAndLose", func(t *testing.T) {
		t.Parallel()
		s, _ := setup(t, open)
		ctx := t.Context()
		mustOK(t, s.DebugListenerSet(ctx, "prog-a", connected("l1"))) // creates the row
		got, err := s.DebugProgramGet(ctx, "prog-a")
		mustOK(t, err)
		wantEqual(t, got.Listener, openzone.DebugListener{State: openzone.ListenerConnected, ID: "l1", Node: "node-1", ConnectedAt: ms(t0)})

		tests := []struct {
			name    string
			id      string
			changed bool
		}{
			{"OtherConnection", "l0", false},
			{"ThisConnection", "l1", true},
			{"AlreadyLost", "l1", false},
		}
		for _, tc := range tests {
			ok, err := s.DebugListenerLose(ctx, store.DebugListenerLoseParams{ProgramID: "prog-a", ListenerID: tc.id, At: t0.Add(time.Minute), Reason: "gone"})
			mustOK(t, err)
			if ok != tc.changed {
				t.Fatalf("%s: DebugListenerLose = %v, want %v", tc.name, ok, tc.changed)
			}
		}
		got, err = s.DebugProgramGet(ctx, "prog-a")
		mustOK(t, err)
		wantEqual(t, got.Listener, openzone.DebugListener{State: openzone.ListenerLost, ID: "l1", Node: "node-1",
			ConnectedAt: ms(t0), LostAt: ms(t0.Add(time.Minute)), Reason: "gone"})
	})
	t.Run("PutKeepsListenerAndProbe", func(t *testing.T) {
		t.Parallel()
		s, _ := setup(t, open)
		ctx := t.Context()
		mustOK(t, s.DebugListenerSet(ctx, "prog-a", connected("l1")))
		probe := &openzone.DebugProbe{OK: true, At: ms(t0), Via: "listener", CorpID: "wwcorp", AgentID: 1, MS: 1.5}
		mustOK(t, s.DebugProbeSet(ctx, "prog-a", probe))
		mustOK(t, s.DebugProgramPut(ctx, &openzone.DebugProgram{ProgramID: "prog-a", ReceiverURL: "http://r"}))
		got, err := s.DebugProgramGet(ctx, "prog-a")
		mustOK(t, err)
		if got.ReceiverURL != "http://r" || got.Listener.ID != "l1" || got.Probe == nil {
			t.Fatalf("got %+v", got)
		}
		a, _ := json.Marshal(got.Probe)
		b, _ := json.Marshal(probe)
		if string(a) != string(b) {
			t.Fatalf("probe = %s, want %s", a, b)
		}
	})
	t.Run("ProbeCleared", func(t *testing.T) {
		t.Parallel()
		s, _ := setup(t, open)
		ctx := t.Context()
		mustOK(t, s.DebugProbeSet(ctx, "prog-a", &openzone.DebugProbe{OK: true, At: ms(t0), Via: "receiver"}))
		mustOK(t, s.DebugProbeSet(ctx, "prog-a", nil))
		got, err := s.DebugProgramGet(ctx, "prog-a")
		mustOK(t, err)
		if got.Probe != nil {
			t.Fatalf("probe after clearing = %+v, want none", got.Probe)
		}
	})
	t.Run("LoseAll", func(t *testing.T) {
		t.Parallel()
		s, _ := setup(t, open)
		ctx := t.Context()
		mustOK(t, s.DebugListenerSet(ctx, "prog-a", connected("l1")))
		n, err := s.DebugListenerLoseAll(ctx, store.DebugListenerLoseAllParams{Node: "node-2", At: t0, Reason: "restart"})
		mustOK(t, err)
		if n != 0 {
			t.Fatalf("another node's restart changed %d", n)
		}
		n, err = s.DebugListenerLoseAll(ctx, store.DebugListenerLoseAllParams{Node: "", At: t0, Reason: "restart"})
		mustOK(t, err)
		if n != 1 {
			t.Fatalf("changed %d, want 1", n)
		}
		got, err := s.DebugProgramGet(ctx, "prog-a")
		mustOK(t, err)
		if got.Listener.State != openzone.ListenerLost || got.Listener.Reason != "restart" {
			t.Fatalf("listener = %+v", got.Listener)
		}
	})
	t.Run("ErrNotFound", func(t *testing.T) {
		t.Parallel()
		s, _ := setup(t, open)
		ctx := t.Context()
		wantCode(t, s.DebugListenerSet(ctx, "nope", connected("l1")), openzone.ErrNotFound)
		wantCode(t, s.DebugProbeSet(ctx, "nope", &openzone.DebugProbe{}), openzone.ErrNotFound)
	})
	t.Run("EventListPendingInOrder", func(t *testing.T) {
		t.Parallel()
		s, _ := setup(t, open)
		ctx := t.Context()
		// Same millisecond: insertion order decides.
		for _, id := range []string{"ev-c", "ev-a", "ev-b", "ev-done"} {
			ev := &openzone.Event{ID: id, ProgramID: "prog-a", State: openzone.EventPending, CreatedAt: t0}
			if id == "ev-done" {
				ev.State = openzone.EventDelivered
			}
			mustOK(t, s.EventInsert(ctx, ev))
		}
		mustOK(t, s.EventInsert(ctx, &openzone.Event{ID: "ev-other", ProgramID: "prog-b", State: openzone.EventPending, CreatedAt: t0}))
		evs, err := s.EventListPending(ctx, "prog-a", 0)
		mustOK(t, err)
		var ids []string
		for _, e := range evs {
			ids = append(ids, e.ID)
		}
		wantEqual(t, ids, []string{"ev-c", "ev-a", "ev-b"})
	})
	t.Run("TaskListPendingInOrder", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		ctx := t.Context()
		for _, id := range []string{"j-c", "j-a", "j-b", "j-running"} {
			tk := newTask(id) // same millisecond: insertion order decides
			mustOK(t, s.TaskInsert(ctx, tk))
		}
		ok, err := s.TaskDelivered(ctx, store.TaskDeliveredParams{JobID: "j-running", Attempts: 1, DeliveredTo: "", At: t0})
		mustOK(t, err)
		wantEqual(t, ok, true)
		other := newTask("j-other")
		other.ProgramID = "prog-b"
		mustOK(t, s.TaskInsert(ctx, other))
		tks, err := s.TaskListPending(ctx, "prog-a", 0)
		mustOK(t, err)
		var ids []string
		for _, tk := range tks {
			ids = append(ids, tk.JobID)
		}
		wantEqual(t, ids, []string{"j-c", "j-a", "j-b"})
	})
}
