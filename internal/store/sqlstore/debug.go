package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"

	"github.com/openzone/openzone"
	"github.com/openzone/openzone/internal/store"
)

func (e *Executor) DebugProgramGet(ctx context.Context, programID string) (*openzone.DebugProgram, error) {
	d := openzone.DebugProgram{ProgramID: programID}
	var issued, expires, lConnected, lLost sql.NullInt64
	var probe string
	err := e.r.QueryRow(ctx, `SELECT receiver_url, token, token_issued_at, token_expires_at,
		listener_state, listener_id, listener_node, listener_connected_at, listener_lost_at, listener_reason, probe
		FROM debug_program WHERE program_id = ?`, programID).Scan(&d.ReceiverURL, &d.Token, &issued, &expires,
		&d.Listener.State, &d.Listener.ID, &d.Listener.Node, &lConnected, &lLost, &d.Listener.Reason, &probe)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, openzone.NotFound.Errorf("debug state of program %q not found", programID)
	}
	if err != nil {
		return nil, e.internal("debug program get", err)
	}
	if err := e.open(fieldDebugToken, &d.Token); err != nil {
		return nil, e.internal("debug program get", err)
	}
	d.TokenIssuedAt = fromNullMillis(issued)
	d.TokenExpiresAt = fromNullMillis(expires)
	d.Listener.ConnectedAt = fromNullMillis(lConnected)
	d.Listener.LostAt = fromNullMillis(lLost)
	if probe != "" {
		var p openzone.DebugProbe
		if err := json.Unmarshal([]byte(probe), &p); err != nil {
			return nil, e.internal("debug program get: probe", err)
		}
		d.Probe = &p
	}
	return &d, nil
}

func (e *Executor) DebugProgramByToken(ctx context.Context, token string) (string, error) {
	var id string
	err := e.r.QueryRow(ctx, `SELECT program_id FROM debug_program WHERE token = ? AND token <> ''`, e.seal(fieldDebugToken, token)).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return "", openzone.NotFound.Errorf("no program has this debug credential")
	}
	if err != nil {
		return "", e.internal("debug program by token", err)
	}
	return id, nil
}

// DebugListenerSet writes only the listener columns, creating the row when
// the program has none yet.
func (e *Executor) DebugListenerSet(ctx context.Context, programID string, l *openzone.DebugListener) error {
	_, err := e.w.Exec(ctx, `INSERT INTO debug_program (program_id, listener_state, listener_id, listener_node,
			listener_connected_at, listener_lost_at, listener_reason)
		VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (program_id) DO UPDATE SET listener_state = excluded.listener_state,
			listener_id = excluded.listener_id, listener_node = excluded.listener_node,
			listener_connected_at = excluded.listener_connected_at, listener_lost_at = excluded.listener_lost_at,
			listener_reason = excluded.listener_reason`,
		programID, l.State, l.ID, l.Node, nullMillis(l.ConnectedAt), nullMillis(l.LostAt), l.Reason)
	if e.eng.IsForeignKey(err) {
		return e.missingRef(ctx, "debug listener set", err, programRef(programID))
	}
	if err != nil {
		return e.internal("debug listener set", err)
	}
	return nil
}

// DebugListenerLose marks the listener lost only while it is still the
// connection with id (a newer connection may already have replaced it).
// It reports whether it changed anything.
func (e *Executor) DebugListenerLose(ctx context.Context, p store.DebugListenerLoseParams) (bool, error) {
	n, err := e.w.Exec(ctx, `UPDATE debug_program SET listener_state = ?, listener_lost_at = ?, listener_reason = ?
		WHERE program_id = ? AND listener_id = ? AND listener_state = ?`,
		openzone.ListenerLost, p.At.UnixMilli(), p.Reason, p.ProgramID, p.ListenerID, openzone.ListenerConnected)
	if err != nil {
		return false, e.internal("debug listener lose", err)
	}
	return n > 0, nil
}

// DebugListenerLoseAll marks every listener held by node lost (all
// connected ones when node is ""), as a starting zone does for the
// connections it can no longer hold. It returns how many it changed.
func (e *Executor) DebugListenerLoseAll(ctx context.Context, p store.DebugListenerLoseAllParams) (int64, error) {
	n, err := e.w.Exec(ctx, `UPDATE debug_program SET listener_state = ?, listener_lost_at = ?, listener_reason = ?
		WHERE listener_state = ? AND (? = '' OR listener_node = ?)`,
		openzone.ListenerLost, p.At.UnixMilli(), p.Reason, openzone.ListenerConnected, p.Node, p.Node)
	if err != nil {
		return 0, e.internal("debug listener lose all", err)
	}
	return n, nil
}

// DebugProbeSet writes only the probe column, creating the row when the
// program has none yet.
func (e *Executor) DebugProbeSet(ctx context.Context, programID string, p *openzone.DebugProbe) error {
	b := []byte{} // nil clears the probe
	var err error
	if p != nil {
		if b, err = json.Marshal(p); err != nil {
			return e.internal("debug probe set", err)
		}
	}
	_, err = e.w.Exec(ctx, `INSERT INTO debug_program (program_id, probe) VALUES (?, ?)
		ON CONFLICT (program_id) DO UPDATE SET probe = excluded.probe`, programID, string(b))
	if e.eng.IsForeignKey(err) {
		return e.missingRef(ctx, "debug probe set", err, programRef(programID))
	}
	if err != nil {
		return e.internal("debug probe set", err)
	}
	return nil
}

func (e *Executor) DebugProgramPut(ctx context.Context, d *openzone.DebugProgram) error {
	_, err := e.w.Exec(ctx, `INSERT INTO debug_program (program_id, receiver_url, token, token_issued_at, token_expires_at)
		VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (program_id) DO UPDATE SET receiver_url = excluded.receiver_url, token = excluded.token,
			token_issued_at = excluded.token_issued_at, token_expires_at = excluded.token_expires_at`,
		d.ProgramID, d.ReceiverURL, e.seal(fieldDebugToken, d.Token), nullMillis(d.TokenIssuedAt), nullMillis(d.TokenExpiresAt))
	if e.eng.IsForeignKey(err) {
		return e.missingRef(ctx, "debug program put", err, programRef(d.ProgramID))
	}
	if err != nil {
		return e.internal("debug program put", err)
	}
	return nil
}

const debugSessionCols = `corp_id, agent_id, program_id, token, app_half, app_opened_at,
	sdk_half, sdk_opened_at, secret_ver, secret`

func (e *Executor) scanDebugSession(s Row) (*openzone.DebugSession, error) {
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
	var err error
	if d.Secret, err = e.box.OpenBytes(fieldDebugSecret, d.Secret); err != nil {
		return nil, err
	}
	if err := e.open(fieldSessionToken, &d.Token); err != nil {
		return nil, err
	}
	return &d, nil
}

func (e *Executor) DebugSessionGet(ctx context.Context, p store.DebugSessionGetParams) (*openzone.DebugSession, error) {
	d, err := e.scanDebugSession(e.r.QueryRow(ctx, `SELECT `+debugSessionCols+` FROM debug_session
		WHERE corp_id = ? AND agent_id = ? AND program_id = ?`, p.CorpID, p.AgentID, p.ProgramID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, openzone.NotFound.Errorf("debug session of app %d of corp %q with program %q not found",
			p.AgentID, p.CorpID, p.ProgramID)
	}
	if err != nil {
		return nil, e.internal("debug session get", err)
	}
	return d, nil
}

func (e *Executor) DebugSessionPut(ctx context.Context, s *openzone.DebugSession) error {
	_, err := e.w.Exec(ctx, `INSERT INTO debug_session (`+debugSessionCols+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (corp_id, agent_id, program_id) DO UPDATE SET token = excluded.token,
			app_half = excluded.app_half, app_opened_at = excluded.app_opened_at,
			sdk_half = excluded.sdk_half, sdk_opened_at = excluded.sdk_opened_at,
			secret_ver = excluded.secret_ver, secret = excluded.secret`,
		s.CorpID, s.AgentID, s.ProgramID, e.seal(fieldSessionToken, s.Token), boolInt(s.AppHalf), nullMillis(s.AppOpenedAt),
		boolInt(s.SDKHalf), nullMillis(s.SDKOpenedAt), s.SecretVer, nullBytes(e.box.SealBytes(fieldDebugSecret, s.Secret)))
	switch {
	case e.eng.IsUnique(err):
		return openzone.Conflict.Wrap(err, "debug secret version %d of program %q is already used by another session",
			s.SecretVer, s.ProgramID)
	case e.eng.IsForeignKey(err):
		return e.missingRef(ctx, "debug session put", err, appRef(s.CorpID, s.AgentID), programRef(s.ProgramID))
	case err != nil:
		return e.internal("debug session put", err)
	}
	return nil
}

func (e *Executor) DebugSessionList(ctx context.Context, programID string) ([]*openzone.DebugSession, error) {
	return list(ctx, e, e.r, "debug session list", e.scanDebugSession, `SELECT `+debugSessionCols+` FROM debug_session
		WHERE program_id = ? ORDER BY corp_id, agent_id`, programID)
}

// DebugSessionBySecretVer never finds version 0, which means "no secret".
func (e *Executor) DebugSessionBySecretVer(ctx context.Context, programID string, ver int) (*openzone.DebugSession, error) {
	notFound := openzone.NotFound.Errorf("debug session of program %q with secret version %d not found", programID, ver)
	if ver == 0 {
		return nil, notFound
	}
	d, err := e.scanDebugSession(e.r.QueryRow(ctx, `SELECT `+debugSessionCols+` FROM debug_session
		WHERE program_id = ? AND secret_ver = ?`, programID, ver))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound
	}
	if err != nil {
		return nil, e.internal("debug session by secret ver", err)
	}
	return d, nil
}
