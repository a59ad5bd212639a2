package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/openzone/openzone"
	"github.com/openzone/openzone/internal/store"
)

const taskCols = `job_id, kind, corp_id, agent_id, caller_id, program_id, ability_id, request, fail_list, debug, state,
	attempts, last_error, err_code, response_errcode, response, created_at, delivered_at, delivered_to, done_at, expires_at`

// TaskInsert stores t. Tasks have no foreign keys: like events they
// outlive the app and programs they mention, until they expire.
func (e *Executor) TaskInsert(ctx context.Context, t *openzone.Task) error {
	_, err := e.w.Exec(ctx, `INSERT INTO task (`+taskCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		t.JobID, string(t.Kind), t.CorpID, t.AgentID, t.CallerID, t.ProgramID, t.AbilityID, nonNilBytes(t.Request), string(t.FailList),
		boolInt(t.Debug), string(t.State), t.Attempts, t.LastError, t.ErrCode, t.ResponseErrcode, t.Response,
		t.CreatedAt.UnixMilli(), nullMillis(t.DeliveredAt), t.DeliveredTo, nullMillis(t.DoneAt), t.ExpiresAt.UnixMilli())
	switch {
	case e.eng.IsUnique(err):
		return openzone.Conflict.Wrap(err, "task %q already exists", t.JobID)
	case err != nil:
		return e.internal("task insert", err)
	}
	return nil
}

func nonNilBytes(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

func scanTask(s Row) (*openzone.Task, error) {
	var t openzone.Task
	var kind, state, failList string
	var debug int
	var created, expires int64
	var delivered, done sql.NullInt64
	if err := s.Scan(&t.JobID, &kind, &t.CorpID, &t.AgentID, &t.CallerID, &t.ProgramID, &t.AbilityID, &t.Request, &failList,
		&debug, &state, &t.Attempts, &t.LastError, &t.ErrCode, &t.ResponseErrcode, &t.Response,
		&created, &delivered, &t.DeliveredTo, &done, &expires); err != nil {
		return nil, err
	}
	t.Kind, t.State, t.Debug = openzone.TaskKind(kind), openzone.TaskState(state), debug != 0
	t.FailList = rawJSON(failList)
	t.CreatedAt, t.ExpiresAt = fromMillis(created), fromMillis(expires)
	t.DeliveredAt, t.DoneAt = fromNullMillis(delivered), fromNullMillis(done)
	return &t, nil
}

func (e *Executor) TaskGet(ctx context.Context, jobID string) (*openzone.Task, error) {
	t, err := scanTask(e.r.QueryRow(ctx, `SELECT `+taskCols+` FROM task WHERE job_id = ?`, jobID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, openzone.NotFound.Errorf("task %q not found", jobID)
	}
	if err != nil {
		return nil, e.internal("task get", err)
	}
	return t, nil
}

func (e *Executor) TaskList(ctx context.Context, programID string, limit int) ([]*openzone.Task, error) {
	q := `SELECT ` + taskCols + ` FROM task`
	var args []any
	if programID != "" {
		q += ` WHERE program_id = ?`
		args = append(args, programID)
	}
	q += ` ORDER BY created_at DESC, job_id DESC LIMIT ?`
	args = append(args, clampLimit(limit))
	return list(ctx, e, e.r, "task list", scanTask, q, args...)
}

// TaskListPending orders by created_at, then insertion order; limit
// default 100, max 1000.
func (e *Executor) TaskListPending(ctx context.Context, programID string, limit int) ([]*openzone.Task, error) {
	return list(ctx, e, e.r, "task list pending", scanTask, `SELECT `+taskCols+` FROM task
		WHERE program_id = ? AND state = ? ORDER BY created_at, `+e.eng.InsertOrder()+` LIMIT ?`, programID, openzone.TaskPending, clampLimit(limit))
}

// The state changes below are single conditional statements: whichever of
// the worker's acknowledgement and the program's report lands second sees
// the state the first one left, on any driver.

func (e *Executor) TaskDelivered(ctx context.Context, p store.TaskDeliveredParams) (bool, error) {
	n, err := e.w.Exec(ctx, `UPDATE task SET state = ?, attempts = ?, delivered_at = ?, delivered_to = ? WHERE job_id = ? AND state = ?`,
		string(openzone.TaskRunning), p.Attempts, p.At.UnixMilli(), p.DeliveredTo, p.JobID, string(openzone.TaskPending))
	if err != nil {
		return false, e.internal("task delivered", err)
	}
	if n == 0 {
		// A report that came first still records the attempt count.
		if _, err := e.w.Exec(ctx, `UPDATE task SET attempts = CASE WHEN attempts > ? THEN attempts ELSE ? END,
			delivered_at = coalesce(delivered_at, ?) WHERE job_id = ?`,
			p.Attempts, p.Attempts, p.At.UnixMilli(), p.JobID); err != nil {
			return false, e.internal("task delivered", err)
		}
	}
	return n == 1, nil
}

func (e *Executor) TaskAttemptFailed(ctx context.Context, p store.TaskAttemptFailedParams) error {
	if p.Final {
		_, err := e.w.Exec(ctx, `UPDATE task SET state = ?, attempts = ?, last_error = ?, err_code = ?, done_at = ?
			WHERE job_id = ? AND state = ?`, string(openzone.TaskFailed), p.Attempts, p.LastError, p.ErrCode, p.At.UnixMilli(), p.JobID, string(openzone.TaskPending))
		if err != nil {
			return e.internal("task attempt failed", err)
		}
		return nil
	}
	if _, err := e.w.Exec(ctx, `UPDATE task SET attempts = ?, last_error = ? WHERE job_id = ? AND state = ?`,
		p.Attempts, p.LastError, p.JobID, string(openzone.TaskPending)); err != nil {
		return e.internal("task attempt failed", err)
	}
	return nil
}

func (e *Executor) TaskReport(ctx context.Context, p store.TaskReportParams) error {
	n, err := e.w.Exec(ctx, `UPDATE task SET state = ?, response_errcode = ?, response = ?, done_at = ?
		WHERE job_id = ? AND state IN (?, ?)`, string(openzone.TaskDone), p.Errcode, nonNilBytes(p.Response), p.At.UnixMilli(),
		p.JobID, string(openzone.TaskPending), string(openzone.TaskRunning))
	if err != nil {
		return e.internal("task report", err)
	}
	if n == 1 {
		return nil
	}
	if _, err := e.TaskGet(ctx, p.JobID); err != nil {
		return err
	}
	return openzone.Conflict.Errorf("task %q already ended", p.JobID)
}

func (e *Executor) TaskOrphans(ctx context.Context, aliveSince time.Time, limit int) ([]*openzone.Task, error) {
	return list(ctx, e, e.r, "task orphans", scanTask, `SELECT `+taskCols+` FROM task
		WHERE state = ? AND delivered_to <> ''
		AND delivered_to NOT IN (SELECT id FROM node WHERE heartbeat_at >= ?)
		ORDER BY created_at LIMIT ?`, string(openzone.TaskRunning), aliveSince.UnixMilli(), clampLimit(limit))
}

func (e *Executor) TaskRequeue(ctx context.Context, jobID, deliveredTo string) (bool, error) {
	n, err := e.w.Exec(ctx, `UPDATE task SET state = ?, delivered_to = '' WHERE job_id = ? AND state = ? AND delivered_to = ?`,
		string(openzone.TaskPending), jobID, string(openzone.TaskRunning), deliveredTo)
	if err != nil {
		return false, e.internal("task requeue", err)
	}
	return n == 1, nil
}

func (e *Executor) NodeHeartbeat(ctx context.Context, p store.NodeHeartbeatParams) error {
	_, err := e.w.Exec(ctx, `INSERT INTO node (id, name, heartbeat_at) VALUES (?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET heartbeat_at = excluded.heartbeat_at`, p.ID, p.Name, p.At.UnixMilli())
	if err != nil {
		return e.internal("node heartbeat", err)
	}
	return nil
}

func (e *Executor) NodeForget(ctx context.Context, name, exceptID string) error {
	if _, err := e.w.Exec(ctx, `DELETE FROM node WHERE name = ? AND id <> ?`, name, exceptID); err != nil {
		return e.internal("node forget", err)
	}
	return nil
}

func (e *Executor) TaskPrune(ctx context.Context, now time.Time) (int64, error) {
	n, err := e.w.Exec(ctx, `DELETE FROM task WHERE expires_at <= ?`, now.UnixMilli())
	if err != nil {
		return 0, e.internal("task prune", err)
	}
	return n, nil
}
