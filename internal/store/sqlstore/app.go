package sqlstore

import (
	"context"
	"database/sql"
	"errors"

	"github.com/openzone/openzone"
	"github.com/openzone/openzone/internal/store"
)

const appCols = `corp_id, agent_id, type, provider_id, secret, test_install, zone_permission,
	callback_url, callback_token, callback_aes_key, receive_program_id, knowledge_permission`

// scanApp reads an app row, opening its sealed secrets.
func (e *Executor) scanApp(s Row) (*openzone.App, error) {
	var a openzone.App
	var typ string
	var provider, receive sql.NullString
	var testInstall, zonePerm, kbPerm int
	if err := s.Scan(&a.CorpID, &a.AgentID, &typ, &provider, &a.Secret, &testInstall, &zonePerm,
		&a.Callback.URL, &a.Callback.Token, &a.Callback.EncodingAESKey, &receive, &kbPerm); err != nil {
		return nil, err
	}
	if err := e.open(fieldAppSecret, &a.Secret, fieldCallbackToken, &a.Callback.Token,
		fieldCallbackAESKey, &a.Callback.EncodingAESKey); err != nil {
		return nil, err
	}
	a.Type = openzone.AppType(typ)
	a.ProviderID = provider.String
	a.TestInstall = testInstall != 0
	a.ZonePermission = zonePerm != 0
	a.KnowledgePermission = kbPerm != 0
	a.ReceiveProgramID = receive.String
	return &a, nil
}

func (e *Executor) AppUpsert(ctx context.Context, a *openzone.App) error {
	// receive_program_id is left out on purpose: only AppSetReceiveProgram
	// sets it, and an update must not clear it.
	_, err := e.w.Exec(ctx, `INSERT INTO app (corp_id, agent_id, type, provider_id, secret,
			test_install, zone_permission, callback_url, callback_token, callback_aes_key, knowledge_permission)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (corp_id, agent_id) DO UPDATE SET
			type = excluded.type, provider_id = excluded.provider_id, secret = excluded.secret,
			test_install = excluded.test_install, zone_permission = excluded.zone_permission,
			callback_url = excluded.callback_url, callback_token = excluded.callback_token,
			callback_aes_key = excluded.callback_aes_key, knowledge_permission = excluded.knowledge_permission`,
		a.CorpID, a.AgentID, string(a.Type), nullString(a.ProviderID), e.seal(fieldAppSecret, a.Secret),
		boolInt(a.TestInstall), boolInt(a.ZonePermission), a.Callback.URL,
		e.seal(fieldCallbackToken, a.Callback.Token), e.seal(fieldCallbackAESKey, a.Callback.EncodingAESKey),
		boolInt(a.KnowledgePermission))
	switch {
	case e.eng.IsUnique(err):
		return openzone.Conflict.Wrap(err, "secret of app %d is already used by another app of corp %q", a.AgentID, a.CorpID)
	case e.eng.IsForeignKey(err):
		refs := []Ref{corpRef(a.CorpID)}
		if a.ProviderID != "" {
			refs = append(refs, providerRef(a.ProviderID))
		}
		return e.missingRef(ctx, "app upsert", err, refs...)
	case err != nil:
		return e.internal("app upsert", err)
	}
	return nil
}

func (e *Executor) AppGet(ctx context.Context, corpID string, agentID int64) (*openzone.App, error) {
	a, err := e.scanApp(e.r.QueryRow(ctx, `SELECT `+appCols+` FROM app WHERE corp_id = ? AND agent_id = ?`, corpID, agentID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, openzone.NotFound.Errorf("app %d of corp %q not found", agentID, corpID)
	}
	if err != nil {
		return nil, e.internal("app get", err)
	}
	return a, nil
}

func (e *Executor) AppList(ctx context.Context, corpID string) ([]*openzone.App, error) {
	return list(ctx, e, e.r, "app list", e.scanApp, `SELECT `+appCols+` FROM app WHERE corp_id = ? ORDER BY agent_id`, corpID)
}

func (e *Executor) AppFindBySecret(ctx context.Context, corpID, secret string) (*openzone.App, error) {
	// The message never echoes the secret.
	notFound := openzone.NotFound.Errorf("app with this secret not found in corp %q", corpID)
	if secret == "" {
		return nil, notFound
	}
	a, err := e.scanApp(e.r.QueryRow(ctx, `SELECT `+appCols+` FROM app WHERE corp_id = ? AND secret = ?`,
		corpID, e.seal(fieldAppSecret, secret)))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound
	}
	if err != nil {
		return nil, e.internal("app find by secret", err)
	}
	return a, nil
}

func (e *Executor) AppSetReceiveProgram(ctx context.Context, p store.AppSetReceiveProgramParams) error {
	n, err := e.w.Exec(ctx, `UPDATE app SET receive_program_id = ? WHERE corp_id = ? AND agent_id = ?`,
		nullString(p.ProgramID), p.CorpID, p.AgentID)
	if e.eng.IsForeignKey(err) {
		return e.missingRef(ctx, "app set receive program", err, programRef(p.ProgramID))
	}
	if err != nil {
		return e.internal("app set receive program", err)
	}
	return ifNoRows(n, func() error {
		return openzone.NotFound.Errorf("app %d of corp %q not found", p.AgentID, p.CorpID)
	})
}

func (e *Executor) AppProgramsSet(ctx context.Context, p store.AppProgramsSetParams) error {
	// Concurrent sets of one app queue on its row, so one replaces the
	// other instead of the two merging.
	return e.inTx(ctx, true, func(e *Executor) error {
		ok, err := e.lockApp(ctx, p.CorpID, p.AgentID)
		if err != nil {
			return e.internal("app programs set", err)
		}
		if !ok {
			return openzone.NotFound.Errorf("app %d of corp %q not found", p.AgentID, p.CorpID)
		}
		if _, err := e.w.Exec(ctx, `DELETE FROM app_program WHERE corp_id = ? AND agent_id = ?`,
			p.CorpID, p.AgentID); err != nil {
			return e.internal("app programs set", err)
		}
		for _, id := range p.ProgramIDs {
			_, err := e.w.Exec(ctx, `INSERT INTO app_program (corp_id, agent_id, program_id) VALUES (?, ?, ?)
				ON CONFLICT DO NOTHING`, p.CorpID, p.AgentID, id)
			if e.eng.IsForeignKey(err) {
				return e.missingRef(ctx, "app programs set", err, programRef(id))
			}
			if err != nil {
				return e.internal("app programs set", err)
			}
		}
		return nil
	})
}

func (e *Executor) AppProgramsList(ctx context.Context, corpID string, agentID int64) ([]string, error) {
	return list(ctx, e, e.r, "app programs list", func(s Row) (string, error) {
		var id string
		err := s.Scan(&id)
		return id, err
	}, `SELECT program_id FROM app_program WHERE corp_id = ? AND agent_id = ? ORDER BY program_id`, corpID, agentID)
}

func (e *Executor) AppProgramHas(ctx context.Context, p store.AppProgramHasParams) (bool, error) {
	var n int
	if err := e.r.QueryRow(ctx, `SELECT COUNT(*) FROM app_program WHERE corp_id = ? AND agent_id = ? AND program_id = ?`,
		p.CorpID, p.AgentID, p.ProgramID).Scan(&n); err != nil {
		return false, e.internal("app program has", err)
	}
	return n > 0, nil
}
