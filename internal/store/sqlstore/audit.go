package sqlstore

import (
	"context"

	"github.com/openzone/openzone"
	"github.com/openzone/openzone/internal/store"
)

func (e *Executor) AuditAppend(ctx context.Context, a *openzone.AuditEntry) error {
	err := e.w.QueryRow(ctx, `INSERT INTO audit (at, actor, source, action, target, errcode)
		VALUES (?, ?, ?, ?, ?, ?) RETURNING id`,
		a.At.UnixMilli(), a.Actor, a.Source, a.Action, a.Target, a.Errcode).Scan(&a.ID)
	if err != nil {
		return e.internal("audit append", err)
	}
	return nil
}

func scanAudit(s Row) (*openzone.AuditEntry, error) {
	var a openzone.AuditEntry
	var at int64
	if err := s.Scan(&a.ID, &at, &a.Actor, &a.Source, &a.Action, &a.Target, &a.Errcode); err != nil {
		return nil, err
	}
	a.At = fromMillis(at)
	return &a, nil
}

func (e *Executor) AuditList(ctx context.Context, p store.AuditListParams) ([]*openzone.AuditEntry, error) {
	q := `SELECT id, at, actor, source, action, target, errcode FROM audit`
	var args []any
	if p.BeforeID > 0 {
		q += ` WHERE id < ?`
		args = append(args, p.BeforeID)
	}
	q += ` ORDER BY id DESC LIMIT ?`
	args = append(args, clampLimit(p.Limit))
	return list(ctx, e, e.r, "audit list", scanAudit, q, args...)
}
