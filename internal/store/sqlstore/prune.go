package sqlstore

import (
	"context"
	"fmt"
	"time"
)

// Prune deletes what expired at or before now: access tokens, replay ids,
// event tokens, notify_ids and uploaded media; and admin actions older
// than AuditRetention.
func (e *Executor) Prune(ctx context.Context, now time.Time) error {
	ms := now.UnixMilli()
	for _, p := range []struct{ what, query string }{
		{"tokens", `DELETE FROM access_token WHERE expires_at <= ?`},
		{"replay", `DELETE FROM replay WHERE expires_at <= ?`},
		{"event tokens", `DELETE FROM event_token WHERE expires_at <= ?`},
		{"notify ids", `DELETE FROM notify WHERE expires_at <= ?`},
		{"quota windows", `DELETE FROM quota WHERE expires_at <= ?`},
		{"media", `DELETE FROM media WHERE expires_at <= ?`},
	} {
		if _, err := e.w.Exec(ctx, p.query, ms); err != nil {
			return e.internal(fmt.Sprintf("prune %s", p.what), err)
		}
	}
	if _, err := e.w.Exec(ctx, `DELETE FROM audit WHERE at <= ?`, now.Add(-AuditRetention).UnixMilli()); err != nil {
		return e.internal("prune audit", err)
	}
	return nil
}

// AuditRetention is how long the admin actions log is kept.
const AuditRetention = 400 * 24 * time.Hour
