package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"strings"

	"github.com/openzone/openzone"
)

func (e *executor) TrafficInsert(ctx context.Context, r *openzone.TrafficRecord) error {
	err := e.w.QueryRowContext(ctx, `INSERT INTO traffic (kind, route, corp_id, agent_id, program_id, ability_id,
			interface, request_id, instance, errcode, errmsg, request, response, started_at,
			total_ms, program_ms, zone_ms)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
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
	r, err := scanTraffic(e.r.QueryRowContext(ctx, `SELECT `+trafficCols+` FROM traffic WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, openzone.Errorf(openzone.ErrNotFound, "traffic record %d not found", id)
	}
	if err != nil {
		return nil, internalErr("traffic get", err)
	}
	return r, nil
}

// Traffic list limits: the default when unset, and the cap.
const (
	trafficLimitDefault = 100
	trafficLimitMax     = 1000
)

func (e *executor) TrafficList(ctx context.Context, f openzone.TrafficFilter) ([]*openzone.TrafficRecord, error) {
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
	limit := f.Limit
	if limit <= 0 {
		limit = trafficLimitDefault
	}
	limit = min(limit, trafficLimitMax)

	q := `SELECT ` + trafficCols + ` FROM traffic`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	q += ` ORDER BY started_at DESC, id DESC LIMIT ?`
	args = append(args, limit)
	return list(ctx, e.r, "traffic list", scanTraffic, q, args...)
}
