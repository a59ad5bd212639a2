package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"

	"github.com/openzone/openzone"
	"github.com/openzone/openzone/internal/store"
)

// AgreeUpsert keys a record by (corp, userid, external_userid) when ChatID
// is "" and by (corp, chatid, external_userid) otherwise; a room record
// keeps no UserID (it is stored, and read back, empty). Status and
// ChangeTime replace the stored ones; a zero ChangeTime reads back zero.
func (e *Executor) AgreeUpsert(ctx context.Context, a *openzone.AgreeStatus) error {
	userID := a.UserID
	if a.ChatID != "" {
		userID = ""
	}
	_, err := e.w.Exec(ctx, `INSERT INTO agree_status (corp_id, chat_id, user_id, external_user_id, status, change_time)
		VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (corp_id, chat_id, user_id, external_user_id) DO UPDATE SET
			status = excluded.status, change_time = excluded.change_time`,
		a.CorpID, a.ChatID, userID, a.ExternalUserID, a.Status, nullMillis(a.ChangeTime))
	if e.eng.IsForeignKey(err) {
		return e.missingRef(ctx, "agree upsert", err, corpRef(a.CorpID))
	}
	if err != nil {
		return e.internal("agree upsert", err)
	}
	return nil
}

const agreeCols = `corp_id, chat_id, user_id, external_user_id, status, change_time`

func scanAgree(s Row) (*openzone.AgreeStatus, error) {
	var a openzone.AgreeStatus
	var changed sql.NullInt64
	if err := s.Scan(&a.CorpID, &a.ChatID, &a.UserID, &a.ExternalUserID, &a.Status, &changed); err != nil {
		return nil, err
	}
	a.ChangeTime = fromNullMillis(changed)
	return &a, nil
}

func (e *Executor) AgreeGetSingle(ctx context.Context, p store.AgreeGetSingleParams) (*openzone.AgreeStatus, error) {
	a, err := scanAgree(e.r.QueryRow(ctx, `SELECT `+agreeCols+` FROM agree_status
		WHERE corp_id = ? AND chat_id = '' AND user_id = ? AND external_user_id = ?`, p.CorpID, p.UserID, p.ExternalUserID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, openzone.NotFound.Errorf("consent of userid %q and external_userid %q of corp %q not found",
			p.UserID, p.ExternalUserID, p.CorpID)
	}
	if err != nil {
		return nil, e.internal("agree get single", err)
	}
	return a, nil
}

// AgreeListRoom lists nothing for chatID "": single-chat records are not a
// room's.
func (e *Executor) AgreeListRoom(ctx context.Context, corpID, chatID string) ([]*openzone.AgreeStatus, error) {
	if chatID == "" {
		return nil, nil
	}
	return list(ctx, e, e.r, "agree list room", scanAgree, `SELECT `+agreeCols+` FROM agree_status
		WHERE corp_id = ? AND chat_id = ? AND user_id = '' ORDER BY external_user_id`, corpID, chatID)
}

const publicKeyCols = `corp_id, agent_id, ver, pem, set_at, start_seq`

func scanPublicKey(s Row) (*openzone.AppPublicKey, error) {
	var k openzone.AppPublicKey
	var setAt int64
	if err := s.Scan(&k.CorpID, &k.AgentID, &k.Ver, &k.PEM, &setAt, &k.StartSeq); err != nil {
		return nil, err
	}
	k.SetAt = fromMillis(setAt)
	return &k, nil
}

func (e *Executor) AppPublicKeyGet(ctx context.Context, corpID string, agentID int64) (*openzone.AppPublicKey, error) {
	k, err := scanPublicKey(e.r.QueryRow(ctx, `SELECT `+publicKeyCols+` FROM app_public_key
		WHERE corp_id = ? AND agent_id = ?`, corpID, agentID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, openzone.NotFound.Errorf("public key of app %d of corp %q not found", agentID, corpID)
	}
	if err != nil {
		return nil, e.internal("app public key get", err)
	}
	return k, nil
}

// AppPublicKeyPut inserts the app's first key, or replaces Ver and PEM when
// k.Ver is above the stored one; the stored SetAt and StartSeq stay (k's
// are ignored then). One statement decides, so two concurrent puts cannot
// both win.
func (e *Executor) AppPublicKeyPut(ctx context.Context, k *openzone.AppPublicKey) error {
	return e.inTx(ctx, false, func(e *Executor) error {
		n, err := e.w.Exec(ctx, `INSERT INTO app_public_key (`+publicKeyCols+`) VALUES (?, ?, ?, ?, ?, ?)
			ON CONFLICT (corp_id, agent_id) DO UPDATE SET ver = excluded.ver, pem = excluded.pem
			WHERE app_public_key.ver < excluded.ver`,
			k.CorpID, k.AgentID, k.Ver, k.PEM, k.SetAt.UnixMilli(), k.StartSeq)
		if e.eng.IsForeignKey(err) {
			return e.missingRef(ctx, "app public key put", err, appRef(k.CorpID, k.AgentID))
		}
		if err != nil {
			return e.internal("app public key put", err)
		}
		return ifNoRows(n, func() error {
			// The stored key won; read it in the same transaction to name it.
			var stored int
			if err := e.w.QueryRow(ctx, `SELECT ver FROM app_public_key WHERE corp_id = ? AND agent_id = ?`,
				k.CorpID, k.AgentID).Scan(&stored); err != nil {
				return e.internal("app public key put", err)
			}
			return openzone.Conflict.Errorf("public key version %d of app %d is not above the stored version %d",
				k.Ver, k.AgentID, stored)
		})
	})
}

func (e *Executor) AppPublicKeyList(ctx context.Context, corpID string) ([]*openzone.AppPublicKey, error) {
	return list(ctx, e, e.r, "app public key list", scanPublicKey, `SELECT `+publicKeyCols+` FROM app_public_key
		WHERE corp_id = ? ORDER BY agent_id`, corpID)
}

// KeywordRuleInsert stores r; Body is kept byte for byte (empty reads back
// nil). A rule_id the app already has is ErrConflict.
func (e *Executor) KeywordRuleInsert(ctx context.Context, r *openzone.KeywordRule, max int) error {
	if max <= 0 {
		max = math.MaxInt32
	}
	// Inserts for one app queue on its row, on every node, so the count
	// cannot change between the check and the insert.
	return e.inTx(ctx, true, func(e *Executor) error {
		ok, err := e.lockApp(ctx, r.CorpID, r.AgentID)
		if err != nil {
			return e.internal("keyword rule insert", err)
		}
		if !ok {
			return openzone.NotFound.Errorf("app %d of corp %q not found", r.AgentID, r.CorpID)
		}
		var n int
		if err := e.w.QueryRow(ctx, `SELECT count(*) FROM keyword_rule WHERE corp_id = ? AND agent_id = ?`,
			r.CorpID, r.AgentID).Scan(&n); err != nil {
			return e.internal("keyword rule insert", err)
		}
		if n >= max {
			return openzone.Errorf(openzone.ErrTooManyRules, "app %d already has %d keyword rules, the limit", r.AgentID, max)
		}
		_, err = e.w.Exec(ctx, `INSERT INTO keyword_rule (corp_id, agent_id, rule_id, name, body, create_time)
			VALUES (?, ?, ?, ?, ?, ?)`,
			r.CorpID, r.AgentID, r.RuleID, r.Name, string(r.Body), r.CreateTime.UnixMilli())
		switch {
		case e.eng.IsUnique(err):
			return openzone.Conflict.Wrap(err, "rule_id %q already exists in app %d", r.RuleID, r.AgentID)
		case err != nil:
			return e.internal("keyword rule insert", err)
		}
		return nil
	})
}

const keywordRuleCols = `corp_id, agent_id, rule_id, name, body, create_time`

func scanKeywordRule(s Row) (*openzone.KeywordRule, error) {
	var r openzone.KeywordRule
	var body string
	var created int64
	if err := s.Scan(&r.CorpID, &r.AgentID, &r.RuleID, &r.Name, &body, &created); err != nil {
		return nil, err
	}
	r.Body = rawJSON(body)
	r.CreateTime = fromMillis(created)
	return &r, nil
}

func ruleNotFound(agentID int64, ruleID string) error {
	return openzone.NotFound.Errorf("rule_id %q not found in app %d", ruleID, agentID)
}

func (e *Executor) KeywordRuleGet(ctx context.Context, p store.KeywordRuleGetParams) (*openzone.KeywordRule, error) {
	r, err := scanKeywordRule(e.r.QueryRow(ctx, `SELECT `+keywordRuleCols+` FROM keyword_rule
		WHERE corp_id = ? AND agent_id = ? AND rule_id = ?`, p.CorpID, p.AgentID, p.RuleID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ruleNotFound(p.AgentID, p.RuleID)
	}
	if err != nil {
		return nil, e.internal("keyword rule get", err)
	}
	return r, nil
}

func (e *Executor) KeywordRuleList(ctx context.Context, corpID string, agentID int64) ([]*openzone.KeywordRule, error) {
	return list(ctx, e, e.r, "keyword rule list", scanKeywordRule, `SELECT `+keywordRuleCols+` FROM keyword_rule
		WHERE corp_id = ? AND agent_id = ? ORDER BY create_time, rule_id`, corpID, agentID)
}

// KeywordRuleUpdate keeps CreateTime.
func (e *Executor) KeywordRuleUpdate(ctx context.Context, r *openzone.KeywordRule) error {
	n, err := e.w.Exec(ctx, `UPDATE keyword_rule SET name = ?, body = ?
		WHERE corp_id = ? AND agent_id = ? AND rule_id = ?`, r.Name, string(r.Body), r.CorpID, r.AgentID, r.RuleID)
	if err != nil {
		return e.internal("keyword rule update", err)
	}
	return ifNoRows(n, func() error { return ruleNotFound(r.AgentID, r.RuleID) })
}

// KeywordRuleDelete keeps the rule's hits.
func (e *Executor) KeywordRuleDelete(ctx context.Context, p store.KeywordRuleDeleteParams) error {
	n, err := e.w.Exec(ctx, `DELETE FROM keyword_rule WHERE corp_id = ? AND agent_id = ? AND rule_id = ?`,
		p.CorpID, p.AgentID, p.RuleID)
	if err != nil {
		return e.internal("keyword rule delete", err)
	}
	return ifNoRows(n, func() error { return ruleNotFound(p.AgentID, p.RuleID) })
}

// KeywordHitInsert stores h and sets h.Seq, which grows with every insert
// across the store (like message seqs). The hit's rule need
// not exist; its app must. Semantics are a JSON array; none reads back nil.
func (e *Executor) KeywordHitInsert(ctx context.Context, h *openzone.KeywordHit) error {
	sem := h.Semantics
	if sem == nil {
		sem = []int{}
	}
	b, err := json.Marshal(sem)
	if err != nil {
		return e.internal("keyword hit insert", err)
	}
	var seq int64
	err = e.w.QueryRow(ctx, `INSERT INTO keyword_hit (corp_id, agent_id, msg_id, rule_id, has_hit_keyword,
			semantics, created)
		VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING seq`,
		h.CorpID, h.AgentID, h.MsgID, h.RuleID, boolInt(h.HasHitKeyword), string(b), h.Created.UnixMilli()).Scan(&seq)
	if e.eng.IsForeignKey(err) {
		return e.missingRef(ctx, "keyword hit insert", err, appRef(h.CorpID, h.AgentID))
	}
	if err != nil {
		return e.internal("keyword hit insert", err)
	}
	h.Seq = seq
	return nil
}

const keywordHitCols = `seq, corp_id, agent_id, msg_id, rule_id, has_hit_keyword, semantics, created`

func scanKeywordHit(s Row) (*openzone.KeywordHit, error) {
	var h openzone.KeywordHit
	var hit int
	var sem string
	var created int64
	if err := s.Scan(&h.Seq, &h.CorpID, &h.AgentID, &h.MsgID, &h.RuleID, &hit, &sem, &created); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(sem), &h.Semantics); err != nil {
		return nil, fmt.Errorf("keyword hit %d semantics: %w", h.Seq, err)
	}
	if len(h.Semantics) == 0 {
		h.Semantics = nil
	}
	h.HasHitKeyword = hit != 0
	h.Created = fromMillis(created)
	return &h, nil
}

// KeywordHitList clamps limit like every list: default 100, max 10,001.
func (e *Executor) KeywordHitList(ctx context.Context, p store.KeywordHitListParams) ([]*openzone.KeywordHit, error) {
	return list(ctx, e, e.r, "keyword hit list", scanKeywordHit, `SELECT `+keywordHitCols+` FROM keyword_hit
		WHERE corp_id = ? AND agent_id = ? AND seq > ? ORDER BY seq LIMIT ?`, p.CorpID, p.AgentID, p.AfterSeq, clampArchiveLimit(p.Limit))
}
