package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"

	"github.com/openzone/openzone"
	"github.com/openzone/openzone/internal/store"
)

// QuotaTake is one statement on both databases: an upsert that adds N
// only while the sum stays within Max, returning the new count; no row
// back means the counter was left alone (refused). Concurrent takes, on
// one node or several, are serialized by the row, so none passes Max.
func (e *Executor) QuotaTake(ctx context.Context, p store.QuotaTakeParams) (int64, bool, error) {
	win := p.WindowStart.UnixMilli()
	if p.N > p.Max {
		used, err := e.QuotaGet(ctx, store.QuotaGetParams{Scope: p.Scope, Subject: p.Subject, WindowStart: p.WindowStart})
		return used, false, err
	}
	var used int64
	err := e.w.QueryRow(ctx, `INSERT INTO quota (scope, subject, win_start, used, expires_at) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (scope, subject, win_start) DO UPDATE SET used = quota.used + excluded.used
		WHERE quota.used + excluded.used <= ?
		RETURNING used`, p.Scope, p.Subject, win, p.N, p.WindowEnd.UnixMilli(), p.Max).Scan(&used)
	if errors.Is(err, sql.ErrNoRows) {
		used, err := e.QuotaGet(ctx, store.QuotaGetParams{Scope: p.Scope, Subject: p.Subject, WindowStart: p.WindowStart})
		return used, false, err
	}
	if err != nil {
		return 0, false, e.internal("quota take", err)
	}
	return used, true, nil
}

// QuotaGet returns a counter; 0 when nothing was taken in the window.
func (e *Executor) QuotaGet(ctx context.Context, p store.QuotaGetParams) (int64, error) {
	var used int64
	err := e.w.QueryRow(ctx, `SELECT used FROM quota WHERE scope = ? AND subject = ? AND win_start = ?`,
		p.Scope, p.Subject, p.WindowStart.UnixMilli()).Scan(&used)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, e.internal("quota get", err)
	}
	return used, nil
}

// TagGroupsSet replaces the corp's groups in one transaction.
func (e *Executor) TagGroupsSet(ctx context.Context, corpID string, groups []openzone.TagGroup) error {
	return e.inTx(ctx, false, func(e *Executor) error {
		if _, err := e.w.Exec(ctx, `DELETE FROM tag_group WHERE corp_id = ?`, corpID); err != nil {
			return e.internal("tag groups set", err)
		}
		for i, g := range groups {
			tags := g.Tags
			if tags == nil {
				tags = []openzone.Tag{}
			}
			b, err := json.Marshal(tags)
			if err != nil {
				return e.internal("tag groups set", err)
			}
			_, err = e.w.Exec(ctx, `INSERT INTO tag_group (corp_id, group_id, group_name, position, tags) VALUES (?, ?, ?, ?, ?)`,
				corpID, g.GroupID, g.GroupName, i, string(b))
			switch {
			case e.eng.IsForeignKey(err):
				return e.missingRef(ctx, "tag groups set", err, corpRef(corpID))
			case e.eng.IsUnique(err):
				return openzone.Conflict.Wrap(err, "tag group %q appears twice in corp %q", g.GroupID, corpID)
			case err != nil:
				return e.internal("tag groups set", err)
			}
		}
		return nil
	})
}

func scanTagGroup(s Row) (openzone.TagGroup, error) {
	var g openzone.TagGroup
	var tags string
	if err := s.Scan(&g.GroupID, &g.GroupName, &tags); err != nil {
		return g, err
	}
	if err := json.Unmarshal([]byte(tags), &g.Tags); err != nil {
		return g, err
	}
	return g, nil
}

// TagGroupList returns the corp's groups in their order.
func (e *Executor) TagGroupList(ctx context.Context, corpID string) ([]openzone.TagGroup, error) {
	return list(ctx, e, e.r, "tag group list", scanTagGroup,
		`SELECT group_id, group_name, tags FROM tag_group WHERE corp_id = ? ORDER BY position, group_id`, corpID)
}

func (e *Executor) WWModelUpsert(ctx context.Context, m *openzone.WWModel) error {
	_, err := e.w.Exec(ctx, `INSERT INTO ww_model (model_id, backend, program_id, ability_id, openai_model) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (model_id) DO UPDATE SET backend = excluded.backend, program_id = excluded.program_id,
			ability_id = excluded.ability_id, openai_model = excluded.openai_model`,
		m.ModelID, m.Backend, m.ProgramID, m.AbilityID, m.OpenAIModel)
	if err != nil {
		return e.internal("ww model upsert", err)
	}
	return nil
}

func scanWWModel(s Row) (*openzone.WWModel, error) {
	var m openzone.WWModel
	if err := s.Scan(&m.ModelID, &m.Backend, &m.ProgramID, &m.AbilityID, &m.OpenAIModel); err != nil {
		return nil, err
	}
	return &m, nil
}

func (e *Executor) WWModelGet(ctx context.Context, modelID string) (*openzone.WWModel, error) {
	m, err := scanWWModel(e.r.QueryRow(ctx, `SELECT model_id, backend, program_id, ability_id, openai_model FROM ww_model WHERE model_id = ?`, modelID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, openzone.NotFound.Errorf("model %q has no backend set", modelID)
	}
	if err != nil {
		return nil, e.internal("ww model get", err)
	}
	return m, nil
}

func (e *Executor) WWModelList(ctx context.Context) ([]*openzone.WWModel, error) {
	return list(ctx, e, e.r, "ww model list", scanWWModel,
		`SELECT model_id, backend, program_id, ability_id, openai_model FROM ww_model ORDER BY model_id`)
}

func (e *Executor) WWModelDelete(ctx context.Context, modelID string) error {
	if _, err := e.w.Exec(ctx, `DELETE FROM ww_model WHERE model_id = ?`, modelID); err != nil {
		return e.internal("ww model delete", err)
	}
	return nil
}
