package postgres

import (
	"context"
	"database/sql"

	"errors"
	"github.com/jackc/pgx/v5"
	"time"

	"github.com/openzone/openzone"
)

const taskCols = `job_id, kind, corp_id, agent_id, caller_id, program_id, ability_id, request, fail_list, debug, state,
	attempts, last_error, err_code, response_errcode, response, created_at, delivered_at, delivered_to, done_at, expires_at`

// TaskInsert stores t. Tasks have no foreign keys: like events they
// outlive the app and programs they mention, until they expire.
func (e *executor) TaskInsert(ctx context.Context, t *openzone.Task) error {
	_, err := e.w.Exec(ctx, `INSERT INTO task (`+taskCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21)`,
		t.JobID, string(t.Kind), t.CorpID, t.AgentID, t.CallerID, t.ProgramID, t.AbilityID, nonNilBytes(t.Request), string(t.FailList),
		boolInt(t.Debug), string(t.State), t.Attempts, t.LastError, t.ErrCode, t.ResponseErrcode, t.Response,
		t.CreatedAt.UnixMilli(), nullMillis(t.DeliveredAt), t.DeliveredTo, nullMillis(t.DoneAt), t.ExpiresAt.UnixMilli())
	switch {
	case isUnique(err):
		return openzone.Wrap(openzone.ErrConflict, err, "task %q already exists", t.JobID)
	case err != nil:
		return internalErr("task insert", err)
	}
	return nil
}

func nonNilBytes(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

func scanTask(s scanner) (*openzone.Task, error) {
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

func (e *executor) TaskGet(ctx context.Context, jobID string) (*openzone.Task, error) {
	t, err := scanTask(e.r.QueryRow(ctx, `SELECT `+taskCols+` FROM task WHERE job_id = $1`, jobID))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, openzone.Errorf(openzone.ErrNotFound, "task %q not found", jobID)
	}
	if err != nil {
		return nil, internalErr("task get", err)
	}
	return t, nil
}

func (e *executor) TaskList(ctx context.Context, programID string, limit int) ([]*openzone.Task, error) {
	q := `SELECT ` + taskCols + ` FROM task`
	var a args
	if programID != "" {
		q += ` WHERE program_id = ` + a.add(programID)
	}
	q += ` ORDER BY created_at DESC, job_id DESC LIMIT ` + a.add(clampLimit(limit))
	return list(ctx, e.r, "task list", scanTask, q, a...)
}

// TaskListPending orders by created_at, then insertion order (ins); limit
// default 100, max 1000.
func (e *executor) TaskListPending(ctx context.Context, programID string, limit int) ([]*openzone.Task, error) {
	return list(ctx, e.r, "task list pending", scanTask, `SELECT `+taskCols+` FROM task
		WHERE program_id = $1 AND state = $2 ORDER BY created_at, ins LIMIT $3`, programID, openzone.TaskPending, clampLimit(limit))
}

// The state changes below are single conditional statements: whichever of
// the worker's acknowledgement and the program's report lands second sees
// the state the first one left, on any driver.

func (e *executor) TaskDelivered(ctx context.Context, jobID string, attempts int, deliveredTo string, at time.Time) (bool, error) {
	res, err := e.w.Exec(ctx, `UPDATE task SET state = $1, attempts = $2, delivered_at = $3, delivered_to = $4 WHERE job_id = $5 AND state = $6`,
		string(openzone.TaskRunning), attempts, at.UnixMilli(), deliveredTo, jobID, string(openzone.TaskPending))
	if err != nil {
		return false, internalErr("task delivered", err)
	}
	n := res.RowsAffected()
	if n == 0 {
		// A report that came first still records the attempt count.
		if _, err := e.w.Exec(ctx, `UPDATE task SET attempts = GREATEST(attempts, $1), delivered_at = coalesce(delivered_at, $2) WHERE job_id = $3`,
			attempts, at.UnixMilli(), jobID); err != nil {
			return false, internalErr("task delivered", err)
		}
	}
	return n == 1, nil
}

func (e *executor) TaskAttemptFailed(ctx context.Context, jobID string, attempts, errCode int, lastErr string, final bool, at time.Time) error {
	if final {
		_, err := e.w.Exec(ctx, `UPDATE task SET state = $1, attempts = $2, last_error = $3, err_code = $4, done_at = $5
			WHERE job_id = $6 AND state = $7`, string(openzone.TaskFailed), attempts, lastErr, errCode, at.UnixMilli(), jobID, string(openzone.TaskPending))
		if err != nil {
			return internalErr("task attempt failed", err)
		}
		return nil
	}
	if _, err := e.w.Exec(ctx, `UPDATE task SET attempts = $1, last_error = $2 WHERE job_id = $3 AND state = $4`,
		attempts, lastErr, jobID, string(openzone.TaskPending)); err != nil {
		return internalErr("task attempt failed", err)
	}
	return nil
}

func (e *executor) TaskReport(ctx context.Context, jobID string, errcode int, response []byte, at time.Time) error {
	res, err := e.w.Exec(ctx, `UPDATE task SET state = $1, response_errcode = $2, response = $3, done_at = $4
		WHERE job_id = $5 AND state IN ($6, $7)`, string(openzone.TaskDone), errcode, nonNilBytes(response), at.UnixMilli(),
		jobID, string(openzone.TaskPending), string(openzone.TaskRunning))
	if err != nil {
		return internalErr("task report", err)
	}
	if res.RowsAffected() == 1 {
		return nil
	}
	if _, err := e.TaskGet(ctx, jobID); err != nil {
		return err
	}
	return openzone.Errorf(openzone.ErrConflict, "task %q already ended", jobID)
}

func (e *executor) TaskOrphans(ctx context.Context, aliveSince time.Time, limit int) ([]*openzone.Task, error) {
	return list(ctx, e.r, "task orphans", scanTask, `SELECT `+taskCols+` FROM task
		WHERE state = $1 AND delivered_to <> ''
		AND delivered_to NOT IN (SELECT id FROM node WHERE heartbeat_at >= $2)
		ORDER BY created_at LIMIT $3`, string(openzone.TaskRunning), aliveSince.UnixMilli(), clampLimit(limit))
}

func (e *executor) TaskRequeue(ctx context.Context, jobID, deliveredTo string) (bool, error) {
	res, err := e.w.Exec(ctx, `UPDATE task SET state = $1, delivered_to = '' WHERE job_id = $2 AND state = $3 AND delivered_to = $4`,
		string(openzone.TaskPending), jobID, string(openzone.TaskRunning), deliveredTo)
	if err != nil {
		return false, internalErr("task requeue", err)
	}
	n := res.RowsAffected()
	return n == 1, nil
}

func (e *executor) NodeHeartbeat(ctx context.Context, id, name string, at time.Time) error {
	_, err := e.w.Exec(ctx, `INSERT INTO node (id, name, heartbeat_at) VALUES ($1, $2, $3)
		ON CONFLICT (id) DO UPDATE SET heartbeat_at = excluded.heartbeat_at`, id, name, at.UnixMilli())
	if err != nil {
		return internalErr("node heartbeat", err)
	}
	return nil
}

func (e *executor) NodeForget(ctx context.Context, name, exceptID string) error {
	if _, err := e.w.Exec(ctx, `DELETE FROM node WHERE name = $1 AND id <> $2`, name, exceptID); err != nil {
		return internalErr("node forget", err)
	}
	return nil
}

func (e *executor) TaskPrune(ctx context.Context, now time.Time) (int64, error) {
	res, err := e.w.Exec(ctx, `DELETE FROM task WHERE expires_at <= $1`, now.UnixMilli())
	if err != nil {
		return 0, internalErr("task prune", err)
	}
	return res.RowsAffected(), nil
}
