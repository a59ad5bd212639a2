package postgres

import (
	"context"

	"errors"
	"github.com/jackc/pgx/v5"
	"time"

	"github.com/openzone/openzone"
)

func (e *executor) TokenInsert(ctx context.Context, t *openzone.AccessToken) error {
	_, err := e.w.Exec(ctx, `INSERT INTO access_token (token, corp_id, agent_id, expires_at) VALUES ($1, $2, $3, $4)`,
		t.Token, t.CorpID, t.AgentID, t.ExpiresAt.UnixMilli())
	switch {
	case isUnique(err):
		return openzone.Wrap(openzone.ErrConflict, err, "access_token already exists")
	case isForeignKey(err):
		return missingRef("token insert", err, appRef(t.CorpID, t.AgentID))
	case err != nil:
		return internalErr("token insert", err)
	}
	return nil
}

const tokenCols = `token, corp_id, agent_id, expires_at`

func scanToken(s scanner) (*openzone.AccessToken, error) {
	var t openzone.AccessToken
	var exp int64
	if err := s.Scan(&t.Token, &t.CorpID, &t.AgentID, &exp); err != nil {
		return nil, err
	}
	t.ExpiresAt = fromMillis(exp)
	return &t, nil
}

// TokenGet returns the token even when expired, so callers can tell
// "expired" (42001) from "invalid" (40014). Messages never echo the token.
func (e *executor) TokenGet(ctx context.Context, token string) (*openzone.AccessToken, error) {
	t, err := scanToken(e.r.QueryRow(ctx, `SELECT `+tokenCols+` FROM access_token WHERE token = $1`, token))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, openzone.Errorf(openzone.ErrNotFound, "access_token not found")
	}
	if err != nil {
		return nil, internalErr("token get", err)
	}
	return t, nil
}

func (e *executor) TokenFindValid(ctx context.Context, corpID string, agentID int64, now time.Time) (*openzone.AccessToken, error) {
	t, err := scanToken(e.r.QueryRow(ctx, `SELECT `+tokenCols+` FROM access_token
		WHERE corp_id = $1 AND agent_id = $2 AND expires_at > $3
		ORDER BY expires_at DESC LIMIT 1`, corpID, agentID, now.UnixMilli()))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, openzone.Errorf(openzone.ErrNotFound, "valid access_token of app %d of corp %q not found", agentID, corpID)
	}
	if err != nil {
		return nil, internalErr("token find valid", err)
	}
	return t, nil
}

func (e *executor) ReplayRemember(ctx context.Context, scope, requestID string, now, expires time.Time) (bool, error) {
	// One statement: ON CONFLICT makes concurrent callers with the same id,
	// on any node, race inside PostgreSQL, and exactly one inserts or
	// revives an expired entry.
	res, err := e.w.Exec(ctx, `INSERT INTO replay (scope, request_id, expires_at) VALUES ($1, $2, $3)
		ON CONFLICT (scope, request_id) DO UPDATE SET expires_at = excluded.expires_at
		WHERE replay.expires_at <= $4`, scope, requestID, expires.UnixMilli(), now.UnixMilli())
	if err != nil {
		return false, internalErr("replay remember", err)
	}
	return res.RowsAffected() > 0, nil
}
