package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"github.com/openzone/openzone"
)

func (e *Executor) TrafficInsert(ctx context.Context, r *openzone.TrafficRecord) error {
	err := e.w.QueryRow(ctx, `INSERT INTO traffic (kind, route, corp_id, agent_id, program_id, ability_id,
			interface, request_id, instance, errcode, errmsg, request, response, started_at,
			total_ms, program_ms, zone_ms)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		r.Kind, r.Route, r.CorpID, r.AgentID, r.ProgramID, r.AbilityID,
		r.Interface, r.RequestID, r.Instance, r.Errcode, r.Errmsg, r.Request, r.Response, r.StartedAt.UnixMilli(),
		r.TotalMS, r.ProgramMS, r.ZoneMS).Scan(&r.ID)
	if err != nil {
		return e.internal("traffic insert", err)
	}
	return nil
}

const trafficCols = `id, kind, route, corp_id, agent_id, program_id, ability_id, interface, request_id,
	instance, errcode, errmsg, request, response, started_at, total_ms, program_ms, zone_ms`

func scanTraffic(s Row) (*openzone.TrafficRecord, error) {
	var r openzone.TrafficRecord
	var started int64
	if err := s.Scan(&r.ID, &r.Kind, &r.Route, &r.CorpID, &r.AgentID, &r.ProgramID, &r.AbilityID, &r.Interface,
		&r.RequestID, &r.Instance, &r.Errcode, &r.Errmsg, &r.Request, &r.Response, &started,
		&r.TotalMS, &r.ProgramMS, &r.ZoneMS); err != nil {
		return nil, err
	}
	r.StartedAt = fromMillis(started)
	return &r, nil
}

func (e *Executor) TrafficGet(ctx context.Context, id int64) (*openzone.TrafficRecord, error) {
	r, err := scanTraffic(e.r.QueryRow(ctx, `SELECT `+trafficCols+` FROM traffic WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, openzone.NotFound.Errorf("traffic record %d not found", id)
	}
	if err != nil {
		return nil, e.internal("traffic get", err)
	}
	return r, nil
}

func (e *Executor) TrafficList(ctx context.Context, f openzone.TrafficFilter) ([]*openzone.TrafficRecord, error) {
	var where []string
	var args []any
	if f.ProgramID != "" {
		where = append(where, "program_id = ?")
		args = append(args, f.ProgramID)
	}
	if f.Kind != "" {
		where = append(where, "kind = ?")
		args = append(args, f.Kind)
	}
	if f.Route != "" {
		where = append(where, "route = ?")
		args = append(args, f.Route)
	}
	if f.RequestID != "" {
		where = append(where, "request_id = ?")
		args = append(args, f.RequestID)
	}
	if f.Failed {
		where = append(where, "errcode <> 0")
	}
	if f.AfterID > 0 {
		// Only narrows the set: the order stays newest first.
		where = append(where, "id > ?")
		args = append(args, f.AfterID)
	}

	q := `SELECT ` + trafficCols + ` FROM traffic`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	q += ` ORDER BY started_at DESC, id DESC LIMIT ?`
	args = append(args, clampLimit(f.Limit))
	return list(ctx, e, e.r, "traffic list", scanTraffic, q, args...)
}

// trafficPruneBatch bounds one DELETE, so a large prune is many short
// statements: other writes interleave between batches (on SQLite's single
// writer connection) and no transaction holds row locks for long.
const trafficPruneBatch = 5000

// TrafficPrune deletes traffic records that started before before (at
// millisecond precision) and returns how many it deleted.
func (e *Executor) TrafficPrune(ctx context.Context, before time.Time) (int64, error) {
	return e.TrafficPruneBatch(ctx, before, trafficPruneBatch)
}

// TrafficPruneBatch is TrafficPrune deleting batch records a statement
// (tests cross batch boundaries with few records).
func (e *Executor) TrafficPruneBatch(ctx context.Context, before time.Time, batch int) (int64, error) {
	ms := before.UnixMilli()
	var total int64
	for {
		n, err := e.w.Exec(ctx, `DELETE FROM traffic WHERE id IN (
			SELECT id FROM traffic WHERE started_at < ? ORDER BY started_at, id LIMIT ?)`, ms, batch)
		if err != nil {
			return total, e.internal("traffic prune", err)
		}
		total += n
		if n < int64(batch) {
			return total, nil
		}
	}
}
