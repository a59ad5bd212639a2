package sqlstore

import (
	"context"

	"github.com/openzone/openzone"
)

func (e *Executor) NotificationInsert(ctx context.Context, n *openzone.Notification) error {
	err := e.w.QueryRow(ctx, `INSERT INTO notification (provider_id, program_id, kind, title, body, created_at)
		VALUES (?, ?, ?, ?, ?, ?) RETURNING id`,
		n.ProviderID, n.ProgramID, n.Kind, n.Title, n.Body, n.CreatedAt.UnixMilli()).Scan(&n.ID)
	if err != nil {
		return e.internal("notification insert", err)
	}
	return nil
}

const notificationCols = `id, provider_id, program_id, kind, title, body, created_at`

func scanNotification(s Row) (*openzone.Notification, error) {
	var n openzone.Notification
	var created int64
	if err := s.Scan(&n.ID, &n.ProviderID, &n.ProgramID, &n.Kind, &n.Title, &n.Body, &created); err != nil {
		return nil, err
	}
	n.CreatedAt = fromMillis(created)
	return &n, nil
}

func (e *Executor) NotificationList(ctx context.Context, providerID string, limit int) ([]*openzone.Notification, error) {
	q := `SELECT ` + notificationCols + ` FROM notification`
	var args []any
	if providerID != "" {
		q += ` WHERE provider_id = ?`
		args = append(args, providerID)
	}
	q += ` ORDER BY created_at DESC, id DESC LIMIT ?`
	args = append(args, clampLimit(limit))
	return list(ctx, e, e.r, "notification list", scanNotification, q, args...)
}
