package sqlstore

import (
	"context"
	"database/sql"
	"errors"

	"github.com/openzone/openzone"
	"github.com/openzone/openzone/internal/store"
)

func (e *Executor) TokenInsert(ctx context.Context, t *openzone.AccessToken) error {
	_, err := e.w.Exec(ctx, `INSERT INTO access_token (token, corp_id, agent_id, expires_at) VALUES (?, ?, ?, ?)`,
		e.seal(fieldAccessToken, t.Token), t.CorpID, t.AgentID, t.ExpiresAt.UnixMilli())
	switch {
	case e.eng.IsUnique(err):
		return openzone.Conflict.Wrap(err, "access_token already exists")
	case e.eng.IsForeignKey(err):
		return e.missingRef(ctx, "token insert", err, appRef(t.CorpID, t.AgentID))
	case err != nil:
		return e.internal("token insert", err)
	}
	return nil
}

const tokenCols = `token, corp_id, agent_id, expires_at`

func (e *Executor) scanToken(s Row) (*openzone.AccessToken, error) {
	var t openzone.AccessToken
	var exp int64
	if err := s.Scan(&t.Token, &t.CorpID, &t.AgentID, &exp); err != nil {
		return nil, err
	}
	t.ExpiresAt = fromMillis(exp)
	if err := e.open(fieldAccessToken, &t.Token); err != nil {
		return nil, err
	}
	return &t, nil
}

// TokenGet returns the token even when expired, so callers can tell
// "expired" (42001) from "invalid" (40014). Messages never echo the token.
func (e *Executor) TokenGet(ctx context.Context, token string) (*openzone.AccessToken, error) {
	t, err := e.scanToken(e.r.QueryRow(ctx, `SELECT `+tokenCols+` FROM access_token WHERE token = ?`, e.seal(fieldAccessToken, token)))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, openzone.NotFound.Errorf("access_token not found")
	}
	if err != nil {
		return nil, e.internal("token get", err)
	}
	return t, nil
}

func (e *Executor) TokenFindValid(ctx context.Context, p store.TokenFindValidParams) (*openzone.AccessToken, error) {
	t, err := e.scanToken(e.r.QueryRow(ctx, `SELECT `+tokenCols+` FROM access_token
		WHERE corp_id = ? AND agent_id = ? AND expires_at > ?
		ORDER BY expires_at DESC LIMIT 1`, p.CorpID, p.AgentID, p.Now.UnixMilli()))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, openzone.NotFound.Errorf("valid access_token of app %d of corp %q not found", p.AgentID, p.CorpID)
	}
	if err != nil {
		return nil, e.internal("token find valid", err)
	}
	return t, nil
}

func (e *Executor) ReplayRemember(ctx context.Context, p store.ReplayRememberParams) (bool, error) {
	// One statement: concurrent callers with the same id, on any node,
	// race inside the database, and exactly one inserts or revives an
	// expired entry.
	n, err := e.w.Exec(ctx, `INSERT INTO replay (scope, request_id, expires_at) VALUES (?, ?, ?)
		ON CONFLICT (scope, request_id) DO UPDATE SET expires_at = excluded.expires_at
		WHERE replay.expires_at <= ?`, p.Scope, p.RequestID, p.Expires.UnixMilli(), p.Now.UnixMilli())
	if err != nil {
		return false, e.internal("replay remember", err)
	}
	return n > 0, nil
}
