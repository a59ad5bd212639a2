package postgres

import (
	"context"
	"database/sql"

	"errors"
	"github.com/jackc/pgx/v5"

	"github.com/openzone/openzone"
)

func (e *executor) DebugProgramGet(ctx context.Context, programID string) (*openzone.DebugProgram, error) {
	d := openzone.DebugProgram{ProgramID: programID}
	var issued, expires sql.NullInt64
	err := e.r.QueryRow(ctx, `SELECT receiver_url, token, token_issued_at, token_expires_at
		FROM debug_program WHERE program_id = $1`, programID).Scan(&d.ReceiverURL, &d.Token, &issued, &expires)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, openzone.Errorf(openzone.ErrNotFound, "debug state of program %q not found", programID)
	}
	if err != nil {
		return nil, internalErr("debug program get", err)
	}
	d.TokenIssuedAt = fromNullMillis(issued)
	d.TokenExpiresAt = fromNullMillis(expires)
	return &d, nil
}

func (e *executor) DebugProgramPut(ctx context.Context, d *openzone.DebugProgram) error {
	_, err := e.w.Exec(ctx, `INSERT INTO debug_program (program_id, receiver_url, token, token_issued_at, token_expires_at)
		VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (program_id) DO UPDATE SET receiver_url = excluded.receiver_url, token = excluded.token,
			token_issued_at = excluded.token_issued_at, token_expires_at = excluded.token_expires_at`,
		d.ProgramID, d.ReceiverURL, d.Token, nullMillis(d.TokenIssuedAt), nullMillis(d.TokenExpiresAt))
	if isForeignKey(err) {
		return missingRef("debug program put", err, programRef(d.ProgramID))
	}
	if err != nil {
		return internalErr("debug program put", err)
	}
	return nil
}

const debugSessionCols = `corp_id, agent_id, program_id, token, app_half, app_opened_at,
	sdk_half, sdk_opened_at, secret_ver, secret`

func scanDebugSession(s scanner) (*openzone.DebugSession, error) {
	var d openzone.DebugSession
	var appHalf, sdkHalf int
	var appAt, sdkAt sql.NullInt64
	if err := s.Scan(&d.CorpID, &d.AgentID, &d.ProgramID, &d.Token, &appHalf, &appAt,
		&sdkHalf, &sdkAt, &d.SecretVer, &d.Secret); err != nil {
		return nil, err
	}
	d.AppHalf = appHalf != 0
	d.AppOpenedAt = fromNullMillis(appAt)
	d.SDKHalf = sdkHalf != 0
	d.SDKOpenedAt = fromNullMillis(sdkAt)
	if len(d.Secret) == 0 {
		d.Secret = nil
	}
	return &d, nil
}

func (e *executor) DebugSessionGet(ctx context.Context, corpID string, agentID int64, programID string) (*openzone.DebugSession, error) {
	d, err := scanDebugSession(e.r.QueryRow(ctx, `SELECT `+debugSessionCols+` FROM debug_session
		WHERE corp_id = $1 AND agent_id = $2 AND program_id = $3`, corpID, agentID, programID))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, openzone.Errorf(openzone.ErrNotFound, "debug session of app %d of corp %q with program %q not found",
			agentID, corpID, programID)
	}
	if err != nil {
		return nil, internalErr("debug session get", err)
	}
	return d, nil
}

func (e *executor) DebugSessionPut(ctx context.Context, s *openzone.DebugSession) error {
	_, err := e.w.Exec(ctx, `INSERT INTO debug_session (`+debugSessionCols+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
		ON CONFLICT (corp_id, agent_id, program_id) DO UPDATE SET token = excluded.token,
			app_half = excluded.app_half, app_opened_at = excluded.app_opened_at,
			sdk_half = excluded.sdk_half, sdk_opened_at = excluded.sdk_opened_at,
			secret_ver = excluded.secret_ver, secret = excluded.secret`,
		s.CorpID, s.AgentID, s.ProgramID, s.Token, boolInt(s.AppHalf), nullMillis(s.AppOpenedAt),
		boolInt(s.SDKHalf), nullMillis(s.SDKOpenedAt), s.SecretVer, nullBytes(s.Secret))
	switch {
	case isUnique(err):
		return openzone.Wrap(openzone.ErrConflict, err, "debug secret version %d of program %q is already used by another session",
			s.SecretVer, s.ProgramID)
	case isForeignKey(err):
		return missingRef("debug session put", err, appRef(s.CorpID, s.AgentID), programRef(s.ProgramID))
	case err != nil:
		return internalErr("debug session put", err)
	}
	return nil
}

func (e *executor) DebugSessionList(ctx context.Context, programID string) ([]*openzone.DebugSession, error) {
	return list(ctx, e.r, "debug session list", scanDebugSession, `SELECT `+debugSessionCols+` FROM debug_session
		WHERE program_id = $1 ORDER BY corp_id, agent_id`, programID)
}

// DebugSessionBySecretVer never finds version 0, which means "no secret".
func (e *executor) DebugSessionBySecretVer(ctx context.Context, programID string, ver int) (*openzone.DebugSession, error) {
	notFound := openzone.Errorf(openzone.ErrNotFound, "debug session of program %q with secret version %d not found", programID, ver)
	if ver == 0 {
		return nil, notFound
	}
	d, err := scanDebugSession(e.r.QueryRow(ctx, `SELECT `+debugSessionCols+` FROM debug_session
		WHERE program_id = $1 AND secret_ver = $2`, programID, ver))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, notFound
	}
	if err != nil {
		return nil, internalErr("debug session by secret ver", err)
	}
	return d, nil
}
