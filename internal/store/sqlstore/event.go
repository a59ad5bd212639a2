package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/openzone/openzone"
)

// EventTokenInsert stores t; its app must exist. Messages never echo the
// token. Prune deletes expired event tokens.
func (e *Executor) EventTokenInsert(ctx context.Context, t *openzone.EventToken) error {
	_, err := e.w.Exec(ctx, `INSERT INTO event_token (token, corp_id, agent_id, kind, from_seq, expires_at)
		VALUES (?, ?, ?, ?, ?, ?)`, e.seal(fieldEventToken, t.Token), t.CorpID, t.AgentID, t.Kind, t.FromSeq, t.ExpiresAt.UnixMilli())
	switch {
	case e.eng.IsUnique(err):
		return openzone.Conflict.Wrap(err, "event token already exists")
	case e.eng.IsForeignKey(err):
		return e.missingRef(ctx, "event token insert", err, appRef(t.CorpID, t.AgentID))
	case err != nil:
		return e.internal("event token insert", err)
	}
	return nil
}

// EventTokenGet returns the token even when expired (until Prune), so
// callers can tell expired from unknown.
func (e *Executor) EventTokenGet(ctx context.Context, token string) (*openzone.EventToken, error) {
	t := openzone.EventToken{Token: token}
	var exp int64
	err := e.r.QueryRow(ctx, `SELECT corp_id, agent_id, kind, from_seq, expires_at FROM event_token WHERE token = ?`,
		e.seal(fieldEventToken, token)).Scan(&t.CorpID, &t.AgentID, &t.Kind, &t.FromSeq, &exp)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, openzone.NotFound.Errorf("event token not found")
	}
	if err != nil {
		return nil, e.internal("event token get", err)
	}
	t.ExpiresAt = fromMillis(exp)
	return &t, nil
}

// EventInsert stores e. Events have no foreign keys: like traffic they
// outlive the corp, app and program they mention. Data is kept byte for
// byte (empty reads back nil); a zero DeliveredAt is NULL and reads back
// zero. An id already stored is ErrConflict.
func (e *Executor) EventInsert(ctx context.Context, ev *openzone.Event) error {
	_, err := e.w.Exec(ctx, `INSERT INTO event (`+eventCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		ev.ID, ev.CorpID, ev.AgentID, ev.ProgramID, ev.Type, string(ev.Data), ev.State, ev.Attempts, ev.LastError,
		ev.CreatedAt.UnixMilli(), nullMillis(ev.DeliveredAt), nullMillis(ev.FailingSince), nullMillis(ev.SteppedAsideAt), ev.JobID)
	switch {
	case e.eng.IsUnique(err):
		return openzone.Conflict.Wrap(err, "event %q already exists", ev.ID)
	case err != nil:
		return e.internal("event insert", err)
	}
	return nil
}

const eventCols = `id, corp_id, agent_id, program_id, type, data, state, attempts, last_error, created_at, delivered_at,
	failing_since, stepped_aside_at, job_id`

func scanEvent(s Row) (*openzone.Event, error) {
	var ev openzone.Event
	var data string
	var created int64
	var delivered, failing, aside sql.NullInt64
	if err := s.Scan(&ev.ID, &ev.CorpID, &ev.AgentID, &ev.ProgramID, &ev.Type, &data, &ev.State, &ev.Attempts,
		&ev.LastError, &created, &delivered, &failing, &aside, &ev.JobID); err != nil {
		return nil, err
	}
	ev.Data = rawJSON(data)
	ev.CreatedAt = fromMillis(created)
	ev.DeliveredAt = fromNullMillis(delivered)
	ev.FailingSince, ev.SteppedAsideAt = fromNullMillis(failing), fromNullMillis(aside)
	return &ev, nil
}

func (e *Executor) EventGet(ctx context.Context, id string) (*openzone.Event, error) {
	ev, err := scanEvent(e.r.QueryRow(ctx, `SELECT `+eventCols+` FROM event WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, openzone.NotFound.Errorf("event %q not found", id)
	}
	if err != nil {
		return nil, e.internal("event get", err)
	}
	return ev, nil
}

// EventUpdate leaves every other field as stored. The last error of an
// event that stepped aside says so, even when the step-aside came after
// the caller read the event.
func (e *Executor) EventUpdate(ctx context.Context, ev *openzone.Event) error {
	n, err := e.w.Exec(ctx, `UPDATE event SET state = ?, attempts = ?, delivered_at = ?, failing_since = ?,
		last_error = CASE WHEN stepped_aside_at IS NULL OR ? = '' THEN ? ELSE ? END
		WHERE id = ?`, ev.State, ev.Attempts, nullMillis(ev.DeliveredAt), nullMillis(ev.FailingSince),
		ev.LastError, ev.LastError, steppedAsidePrefix+ev.LastError, ev.ID)
	if err != nil {
		return e.internal("event update", err)
	}
	return ifNoRows(n, func() error {
		return openzone.NotFound.Errorf("event %q not found", ev.ID)
	})
}

// EventList orders by created_at then id, both descending; limit default
// 100, max 1000.
func (e *Executor) EventList(ctx context.Context, programID string, limit int) ([]*openzone.Event, error) {
	q := `SELECT ` + eventCols + ` FROM event`
	var args []any
	if programID != "" {
		q += ` WHERE program_id = ?`
		args = append(args, programID)
	}
	q += ` ORDER BY created_at DESC, id DESC LIMIT ?`
	args = append(args, clampLimit(limit))
	return list(ctx, e, e.r, "event list", scanEvent, q, args...)
}

// EventListPending returns a program's pending events in the order they
// were raised (created_at, then insertion order); limit default 100, max
// 1000.
func (e *Executor) EventListPending(ctx context.Context, programID string, limit int) ([]*openzone.Event, error) {
	return list(ctx, e, e.r, "event list pending", scanEvent, `SELECT `+eventCols+` FROM event
		WHERE program_id = ? AND state = ? ORDER BY created_at, `+e.eng.InsertOrder()+` LIMIT ?`, programID, openzone.EventPending, clampLimit(limit))
}

// EventAhead and EventBehind find, in one indexed look-up (index
// event_line), the first event of ev's line — its program and corp — that
// is pending and has not stepped aside, raised before ev (the head of the
// line ahead of it) or after it (the next in line behind it). The line is
// ordered by created_at, then insertion order, as EventListPending.
func (e *Executor) EventAhead(ctx context.Context, ev *openzone.Event) (*openzone.Event, error) {
	return e.eventInLine(ctx, "event ahead", ev, "<")
}

func (e *Executor) EventBehind(ctx context.Context, ev *openzone.Event) (*openzone.Event, error) {
	return e.eventInLine(ctx, "event behind", ev, ">")
}

// eventInLine is EventAhead (cmp "<") and EventBehind (cmp ">"). ev's
// insertion order is read by a sub-select on its id; created_at bounds the
// range of the index scanned.
func (e *Executor) eventInLine(ctx context.Context, op string, ev *openzone.Event, cmp string) (*openzone.Event, error) {
	ord := e.eng.InsertOrder()
	at := ev.CreatedAt.UnixMilli()
	got, err := scanEvent(e.r.QueryRow(ctx, `SELECT `+eventCols+` FROM event
		WHERE program_id = ? AND corp_id = ? AND state = ? AND created_at `+cmp+`= ? AND stepped_aside_at IS NULL
			AND (created_at `+cmp+` ? OR `+ord+` `+cmp+` (SELECT `+ord+` FROM event WHERE id = ?))
		ORDER BY created_at, `+ord+` LIMIT 1`, ev.ProgramID, ev.CorpID, openzone.EventPending, at, at, ev.ID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, openzone.NotFound.Errorf("no event in line with %q", ev.ID)
	}
	if err != nil {
		return nil, e.internal(op, err)
	}
	return got, nil
}

// steppedAsidePrefix starts the last error of an event that stepped aside.
const steppedAsidePrefix = "stepped aside: "

// EventStepAside marks a pending event stepped aside at at, with lastError;
// it reports false (and changes nothing) when the event is no longer
// pending or already stepped aside, so one caller among nodes does it.
func (e *Executor) EventStepAside(ctx context.Context, id string, at time.Time, lastError string) (bool, error) {
	n, err := e.w.Exec(ctx, `UPDATE event SET stepped_aside_at = ?, last_error = ?
		WHERE id = ? AND state = ? AND stepped_aside_at IS NULL`, at.UnixMilli(), lastError, id, openzone.EventPending)
	if err != nil {
		return false, e.internal("event step aside", err)
	}
	return n == 1, nil
}

// EventWait records that a pending event waits for its turn: the job to
// wake and why (LastError). An event no longer pending is left as it is.
func (e *Executor) EventWait(ctx context.Context, id string, jobID int64, lastError string) error {
	_, err := e.w.Exec(ctx, `UPDATE event SET job_id = ?, last_error = ? WHERE id = ? AND state = ?`,
		jobID, lastError, id, openzone.EventPending)
	if err != nil {
		return e.internal("event wait", err)
	}
	return nil
}

// NotifyInsert stores n; its app must exist. A notify_id already stored is
// ErrConflict. Prune deletes expired ones.
func (e *Executor) NotifyInsert(ctx context.Context, n *openzone.Notify) error {
	_, err := e.w.Exec(ctx, `INSERT INTO notify (`+notifyCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		n.NotifyID, n.CorpID, n.AgentID, n.ProgramID, n.Instance, n.Scene, n.CreatedAt.UnixMilli(), n.ExpiresAt.UnixMilli())
	switch {
	case e.eng.IsUnique(err):
		return openzone.Conflict.Wrap(err, "notify_id %q already exists", n.NotifyID)
	case e.eng.IsForeignKey(err):
		return e.missingRef(ctx, "notify insert", err, appRef(n.CorpID, n.AgentID))
	case err != nil:
		return e.internal("notify insert", err)
	}
	return nil
}

const notifyCols = `notify_id, corp_id, agent_id, program_id, instance, scene, created_at, expires_at`

// NotifyGet returns the notify_id even when expired (until Prune).
func (e *Executor) NotifyGet(ctx context.Context, notifyID string) (*openzone.Notify, error) {
	var n openzone.Notify
	var created, exp int64
	err := e.r.QueryRow(ctx, `SELECT `+notifyCols+` FROM notify WHERE notify_id = ?`, notifyID).
		Scan(&n.NotifyID, &n.CorpID, &n.AgentID, &n.ProgramID, &n.Instance, &n.Scene, &created, &exp)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, openzone.NotFound.Errorf("notify_id %q not found", notifyID)
	}
	if err != nil {
		return nil, e.internal("notify get", err)
	}
	n.CreatedAt, n.ExpiresAt = fromMillis(created), fromMillis(exp)
	return &n, nil
}
