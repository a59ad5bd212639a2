package sqlstore

import (
	"context"
	"database/sql"
	"errors"

	"github.com/openzone/openzone"
	"github.com/openzone/openzone/internal/store"
)

func (e *Executor) HideConfigGet(ctx context.Context, p store.HideConfigGetParams) (*openzone.HideConfig, error) {
	c := openzone.HideConfig{CorpID: p.CorpID, AgentID: p.AgentID, UserID: p.UserID}
	var mobile, idcard, bankno, email int
	var updated int64
	err := e.r.QueryRow(ctx, `SELECT hide_mobile, hide_idcard, hide_bankno, hide_email, updated_at FROM hide_config
		WHERE corp_id = ? AND agent_id = ? AND userid = ?`, p.CorpID, p.AgentID, p.UserID).Scan(&mobile, &idcard, &bankno, &email, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, openzone.NotFound.Errorf("no sensitive-info configuration for %s through app %d of corp %s", p.UserID, p.AgentID, p.CorpID)
	}
	if err != nil {
		return nil, e.internal("hide config get", err)
	}
	c.HideMobile, c.HideIDCard, c.HideBankNo, c.HideEmail = mobile != 0, idcard != 0, bankno != 0, email != 0
	c.UpdatedAt = fromMillis(updated)
	return &c, nil
}

func (e *Executor) HideConfigPut(ctx context.Context, c *openzone.HideConfig) error {
	_, err := e.w.Exec(ctx, `INSERT INTO hide_config (corp_id, agent_id, userid, hide_mobile, hide_idcard, hide_bankno, hide_email, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (corp_id, agent_id, userid) DO UPDATE SET hide_mobile = excluded.hide_mobile, hide_idcard = excluded.hide_idcard,
			hide_bankno = excluded.hide_bankno, hide_email = excluded.hide_email, updated_at = excluded.updated_at`,
		c.CorpID, c.AgentID, c.UserID, boolInt(c.HideMobile), boolInt(c.HideIDCard), boolInt(c.HideBankNo), boolInt(c.HideEmail),
		c.UpdatedAt.UnixMilli())
	if err != nil {
		if e.eng.IsForeignKey(err) {
			return e.missingRef(ctx, "hide config put", err, appRef(c.CorpID, c.AgentID))
		}
		return e.internal("hide config put", err)
	}
	return nil
}
