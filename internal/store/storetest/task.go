package storetest

import (
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/openzone/openzone"
	"github.com/openzone/openzone/internal/store"
)

func storedTask(tk openzone.Task) *openzone.Task {
	tk.CreatedAt, tk.DeliveredAt, tk.DoneAt, tk.ExpiresAt = ms(tk.CreatedAt), ms(tk.DeliveredAt), ms(tk.DoneAt), ms(tk.ExpiresAt)
	tk.FailList = nilIfEmpty(tk.FailList)
	if tk.Request == nil {
		tk.Request = []byte{}
	}
	return &tk
}

func newTask(id string) *openzone.Task {
	return &openzone.Task{JobID: id, Kind: openzone.TaskAppAsync, CorpID: "wwcorp", AgentID: 1000002, ProgramID: "prog-a",
		AbilityID: "echo", Request: []byte("sealed"), State: openzone.TaskPending, CreatedAt: t0, ExpiresAt: t0.Add(7 * 24 * time.Hour)}
}

func testTask(t *testing.T, open func(*testing.T) store.Store) {
	t.Run("RoundTrip", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		ctx := t.Context()
		tests := []openzone.Task{
			*newTask("j-app"),
			{JobID: "j-model", Kind: openzone.TaskModel, CorpID: "wwcorp", AgentID: 7, CallerID: "prog-a", ProgramID: "model-b",
				AbilityID: "summary", Request: []byte{0, 1, 2, 255}, FailList: json.RawMessage(`[{"errcode":710603,"msgid":"m1"}]`),
				Debug: true, State: openzone.TaskDone, Attempts: 3, LastError: "errcode 710674: refused", ErrCode: 0,
				ResponseErrcode: 42, Response: []byte("resp"), CreatedAt: t0, DeliveredAt: t0.Add(time.Second),
				DeliveredTo: "node-1", DoneAt: t0.Add(2 * time.Second), ExpiresAt: t0.Add(time.Hour)},
		}
		for _, tk := range tests {
			mustOK(t, s.TaskInsert(ctx, &tk))
			got, err := s.TaskGet(ctx, tk.JobID)
			mustOK(t, err)
			wantEqual(t, got, storedTask(tk))
		}
		wantCode(t, s.TaskInsert(ctx, newTask("j-app")), openzone.ErrConflict)
		_, err := s.TaskGet(ctx, "nope")
		wantCode(t, err, openzone.ErrNotFound)
	})
	t.Run("Lifecycle", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		ctx := t.Context()
		at := t0.Add(time.Minute)
		// pending → failed attempt → delivered → reported; a second report is refused.
		mustOK(t, s.TaskInsert(ctx, newTask("j1")))
		mustOK(t, s.TaskAttemptFailed(ctx, store.TaskAttemptFailedParams{JobID: "j1", Attempts: 1, ErrCode: 710674, LastError: "errcode 710674: refused", Final: false, At: at}))
		got, _ := s.TaskGet(ctx, "j1")
		wantEqual(t, []any{got.State, got.Attempts, got.LastError}, []any{openzone.TaskPending, 1, "errcode 710674: refused"})
		ok, err := s.TaskDelivered(ctx, store.TaskDeliveredParams{JobID: "j1", Attempts: 2, DeliveredTo: "node-a", At: at})
		mustOK(t, err)
		wantEqual(t, ok, true)
		got, _ = s.TaskGet(ctx, "j1")
		wantEqual(t, []any{got.State, got.Attempts, got.DeliveredTo}, []any{openzone.TaskRunning, 2, "node-a"})
		wantTime(t, "DeliveredAt", got.DeliveredAt, at)
		mustOK(t, s.TaskReport(ctx, store.TaskReportParams{JobID: "j1", Errcode: 0, Response: []byte("r1"), At: at.Add(time.Second)}))
		wantCode(t, s.TaskReport(ctx, store.TaskReportParams{JobID: "j1", Errcode: 5, Response: []byte("r2"), At: at.Add(2 * time.Second)}), openzone.ErrConflict)
		got, _ = s.TaskGet(ctx, "j1")
		wantEqual(t, []any{got.State, got.ResponseErrcode, string(got.Response)}, []any{openzone.TaskDone, 0, "r1"})
		wantTime(t, "DoneAt", got.DoneAt, at.Add(time.Second))
		// A late acknowledgement or failure changes nothing.
		ok, err = s.TaskDelivered(ctx, store.TaskDeliveredParams{JobID: "j1", Attempts: 3, DeliveredTo: "node-b", At: at})
		mustOK(t, err)
		wantEqual(t, ok, false)
		mustOK(t, s.TaskAttemptFailed(ctx, store.TaskAttemptFailedParams{JobID: "j1", Attempts: 4, ErrCode: 710675, LastError: "late", Final: true, At: at}))
		got, _ = s.TaskGet(ctx, "j1")
		wantEqual(t, []any{got.State, got.ErrCode}, []any{openzone.TaskDone, 0})
		wantCode(t, s.TaskReport(ctx, store.TaskReportParams{JobID: "nope", Errcode: 0, Response: nil, At: at}), openzone.ErrNotFound)

		// Report before the acknowledgement is recorded: done stays done.
		mustOK(t, s.TaskInsert(ctx, newTask("j2")))
		mustOK(t, s.TaskReport(ctx, store.TaskReportParams{JobID: "j2", Errcode: 0, Response: []byte("early"), At: at}))
		ok, err = s.TaskDelivered(ctx, store.TaskDeliveredParams{JobID: "j2", Attempts: 1, DeliveredTo: "", At: at})
		mustOK(t, err)
		wantEqual(t, ok, false)
		got, _ = s.TaskGet(ctx, "j2")
		wantEqual(t, []any{got.State, got.Attempts, string(got.Response)}, []any{openzone.TaskDone, 1, "early"})

		// The last attempt fails the task; a report after that is refused.
		mustOK(t, s.TaskInsert(ctx, newTask("j3")))
		mustOK(t, s.TaskAttemptFailed(ctx, store.TaskAttemptFailedParams{JobID: "j3", Attempts: 8, ErrCode: 710674, LastError: "gone", Final: true, At: at}))
		got, _ = s.TaskGet(ctx, "j3")
		wantEqual(t, []any{got.State, got.ErrCode, got.Attempts}, []any{openzone.TaskFailed, 710674, 8})
		wantCode(t, s.TaskReport(ctx, store.TaskReportParams{JobID: "j3", Errcode: 0, Response: nil, At: at}), openzone.ErrConflict)
	})
	t.Run("ConcurrentReports", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		ctx := t.Context()
		mustOK(t, s.TaskInsert(ctx, newTask("j")))
		var wg sync.WaitGroup
		var mu sync.Mutex
		okN := 0
		for i := range 10 {
			wg.Go(func() {
				err := s.TaskReport(ctx, store.TaskReportParams{JobID: "j", Errcode: i, Response: []byte(fmt.Sprint(i)), At: t0})
				mu.Lock()
				defer mu.Unlock()
				if err == nil {
					okN++
				} else if openzone.ErrorCode(err) != openzone.ErrConflict {
					t.Errorf("report %d: %v", i, err)
				}
			})
		}
		wg.Wait()
		wantEqual(t, okN, 1)
	})
	t.Run("Orphans", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		ctx := t.Context()
		mustOK(t, s.NodeHeartbeat(ctx, store.NodeHeartbeatParams{ID: "a1", Name: "host-a", At: t0}))
		mustOK(t, s.NodeHeartbeat(ctx, store.NodeHeartbeatParams{ID: "b1", Name: "host-b", At: t0}))
		for _, c := range []struct{ id, node string }{{"ja", "a1"}, {"jb", "b1"}, {"jx", ""}, {"jgone", "z9"}} {
			mustOK(t, s.TaskInsert(ctx, newTask(c.id)))
			_, err := s.TaskDelivered(ctx, store.TaskDeliveredParams{JobID: c.id, Attempts: 1, DeliveredTo: c.node, At: t0})
			mustOK(t, err)
		}
		orphanIDs := func(since time.Time) []string {
			ts, err := s.TaskOrphans(ctx, since, 0)
			mustOK(t, err)
			return nilIfEmpty(ids(ts, func(t *openzone.Task) string { return t.JobID }))
		}
		// Both nodes alive: only the task of a node with no row is orphaned;
		// one acknowledged outside the zone never is.
		wantEqual(t, orphanIDs(t0), []string{"jgone"})
		mustOK(t, s.NodeHeartbeat(ctx, store.NodeHeartbeatParams{ID: "b1", Name: "host-b", At: t0.Add(time.Minute)}))
		wantEqual(t, orphanIDs(t0.Add(time.Second)), []string{"ja", "jgone"})
		// host-a restarts as a2: a1 is forgotten at once.
		mustOK(t, s.NodeHeartbeat(ctx, store.NodeHeartbeatParams{ID: "a2", Name: "host-a", At: t0}))
		mustOK(t, s.NodeForget(ctx, "host-a", "a2"))
		wantEqual(t, orphanIDs(t0), []string{"ja", "jgone"})
		ok, err := s.TaskRequeue(ctx, "ja", "a1")
		mustOK(t, err)
		wantEqual(t, ok, true)
		ok, err = s.TaskRequeue(ctx, "ja", "a1")
		mustOK(t, err)
		wantEqual(t, ok, false)
		got, _ := s.TaskGet(ctx, "ja")
		wantEqual(t, []any{got.State, got.DeliveredTo}, []any{openzone.TaskPending, ""})
		wantEqual(t, orphanIDs(t0), []string{"jgone"})
		// A reported task is never requeued.
		mustOK(t, s.TaskReport(ctx, store.TaskReportParams{JobID: "jgone", Errcode: 0, Response: nil, At: t0}))
		ok, _ = s.TaskRequeue(ctx, "jgone", "z9")
		wantEqual(t, ok, false)
		wantEqual(t, orphanIDs(t0), []string(nil))
	})
	t.Run("ListAndPrune", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		ctx := t.Context()
		for i := range 5 {
			tk := newTask(fmt.Sprint("j", i))
			tk.CreatedAt = t0.Add(time.Duration(i) * time.Second)
			tk.ExpiresAt = t0.Add(time.Duration(i) * time.Hour)
			if i%2 == 1 {
				tk.ProgramID = "prog-b"
			}
			mustOK(t, s.TaskInsert(ctx, tk))
		}
		all, err := s.TaskList(ctx, "", 0)
		mustOK(t, err)
		wantEqual(t, ids(all, func(t *openzone.Task) string { return t.JobID }), []string{"j4", "j3", "j2", "j1", "j0"})
		b, err := s.TaskList(ctx, "prog-b", 1)
		mustOK(t, err)
		wantEqual(t, ids(b, func(t *openzone.Task) string { return t.JobID }), []string{"j3"})
		n, err := s.TaskPrune(ctx, t0.Add(2*time.Hour))
		mustOK(t, err)
		wantEqual(t, n, int64(3))
		all, _ = s.TaskList(ctx, "", 0)
		wantEqual(t, ids(all, func(t *openzone.Task) string { return t.JobID }), []string{"j4", "j3"})
	})
}
