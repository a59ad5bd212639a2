package sqlstore

import (
	"context"
	"database/sql"
	"errors"

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
	_, err := e.w.Exec(ctx, `INSERT INTO event (`+eventCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		ev.ID, ev.CorpID, ev.AgentID, ev.ProgramID, ev.Type, string(ev.Data), ev.State, ev.Attempts, ev.LastError,
		ev.CreatedAt.UnixMilli(), nullMillis(ev.DeliveredAt))
	switch {
	case e.eng.IsUnique(err):
		return openzone.Conflict.Wrap(err, "event %q already exists", ev.ID)
	case err != nil:
		return e.internal("event insert", err)
	}
	return nil
}

const eventCols = `id, corp_id, agent_id, program_id, type, data, state, attempts, last_error, created_at, delivered_at`

func scanEvent(s Row) (*openzone.Event, error) {
	var ev openzone.Event
	var data string
	var created int64
	var delivered sql.NullInt64
	if err := s.Scan(&ev.ID, &ev.CorpID, &ev.AgentID, &ev.ProgramID, &ev.Type, &data, &ev.State, &ev.Attempts,
		&ev.LastError, &created, &delivered); err != nil {
		return nil, err
	}
	ev.Data = rawJSON(data)
	ev.CreatedAt = fromMillis(created)
	ev.DeliveredAt = fromNullMillis(delivered)
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

// EventUpdate leaves every other field as stored.
func (e *Executor) EventUpdate(ctx context.Context, ev *openzone.Event) error {
	n, err := e.w.Exec(ctx, `UPDATE event SET state = ?, attempts = ?, last_error = ?, delivered_at = ?
		WHERE id = ?`, ev.State, ev.Attempts, ev.LastError, nullMillis(ev.DeliveredAt), ev.ID)
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
