package postgres

import (
	"context"

	"errors"
	"github.com/jackc/pgx/v5"
	"strings"
	"time"

	"github.com/openzone/openzone"
)

func (e *executor) TrafficInsert(ctx context.Context, r *openzone.TrafficRecord) error {
	err := e.w.QueryRow(ctx, `INSERT INTO traffic (kind, route, corp_id, agent_id, program_id, ability_id,
			interface, request_id, instance, errcode, errmsg, request, response, started_at,
			total_ms, program_ms, zone_ms)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17) RETURNING id`,
		r.Kind, r.Route, r.CorpID, r.AgentID, r.ProgramID, r.AbilityID,
		r.Interface, r.RequestID, r.Instance, r.Errcode, r.Errmsg, r.Request, r.Response, r.StartedAt.UnixMilli(),
		r.TotalMS, r.ProgramMS, r.ZoneMS).Scan(&r.ID)
	if err != nil {
		return internalErr("traffic insert", err)
	}
	return nil
}

const trafficCols = `id, kind, route, corp_id, agent_id, program_id, ability_id, interface, request_id,
	instance, errcode, errmsg, request, response, started_at, total_ms, program_ms, zone_ms`

func scanTraffic(s scanner) (*openzone.TrafficRecord, error) {
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

func (e *executor) TrafficGet(ctx context.Context, id int64) (*openzone.TrafficRecord, error) {
	r, err := scanTraffic(e.r.QueryRow(ctx, `SELECT `+trafficCols+` FROM traffic WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, openzone.Errorf(openzone.ErrNotFound, "traffic record %d not found", id)
	}
	if err != nil {
		return nil, internalErr("traffic get", err)
	}
	return r, nil
}

func (e *executor) TrafficList(ctx context.Context, f openzone.TrafficFilter) ([]*openzone.TrafficRecord, error) {
	var where []string
	var a args
	if f.ProgramID != "" {
		where = append(where, "program_id = "+a.add(f.ProgramID))
	}
	if f.Kind != "" {
		where = append(where, "kind = "+a.add(f.Kind))
	}
	if f.Route != "" {
		where = append(where, "route = "+a.add(f.Route))
	}
	if f.Failed {
		where = append(where, "errcode <> 0")
	}
	if f.AfterID > 0 {
		// Only narrows the set: the order stays newest first.
		where = append(where, "id > "+a.add(f.AfterID))
	}

	q := `SELECT ` + trafficCols + ` FROM traffic`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	q += ` ORDER BY started_at DESC, id DESC LIMIT ` + a.add(clampLimit(f.Limit))
	return list(ctx, e.r, "traffic list", scanTraffic, q, a...)
}

// trafficPruneBatch bounds one DELETE, so a large prune is many short
// transactions rather than one long one that holds row locks.
const trafficPruneBatch = 5000

// TrafficPrune deletes traffic records that started before before (at
// millisecond precision) and returns how many it deleted.
func (db *DB) TrafficPrune(ctx context.Context, before time.Time) (int64, error) {
	return db.trafficPrune(ctx, before, trafficPruneBatch)
}

func (db *DB) trafficPrune(ctx context.Context, before time.Time, batch int) (int64, error) {
	ms := before.UnixMilli()
	var total int64
	for {
		res, err := db.pool.Exec(ctx, `DELETE FROM traffic WHERE id IN (
			SELECT id FROM traffic WHERE started_at < $1 ORDER BY started_at, id LIMIT $2)`, ms, batch)
		if err != nil {
			return total, internalErr("traffic prune", err)
		}
		n := res.RowsAffected()
		total += n
		if n < int64(batch) {
			return total, nil
		}
	}
}
