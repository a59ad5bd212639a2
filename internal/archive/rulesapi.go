package archive

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/openzone/openzone"
	"github.com/openzone/openzone/internal/keyword"
	"github.com/openzone/openzone/internal/specapi"
	"github.com/openzone/openzone/internal/store"
)

// Replies of the keyword rule interfaces.

type ruleIDReply struct {
	openzone.Base
	RuleID string `json:"rule_id"`
}

type ruleListReply struct {
	openzone.Base
	RuleList   []keyword.Summary `json:"rule_list"`
	HasMore    int               `json:"has_more"`
	NextCursor string            `json:"next_cursor"`
}

type ruleDetailReply struct {
	openzone.Base
	keyword.Detail
}

type hitRule struct {
	RuleID        string `json:"rule_id"`
	HasHitKeyword bool   `json:"has_hit_keyword"`
	SemanticsList []int  `json:"semantics_list"`
}

type hitMsg struct {
	MsgID       string    `json:"msgid"`
	HitRuleList []hitRule `json:"hit_rule_list"`
	MsgDetail   *msgItem  `json:"msg_detail,omitempty"`
}

type hitMsgReply struct {
	openzone.Base
	HasMore    int      `json:"has_more"`
	NextCursor string   `json:"next_cursor"`
	MsgList    []hitMsg `json:"msg_list"`
}

// ruleBody validates a create_rule / update_rule body and returns it
// without rule_id, as stored.
func ruleBody(raw json.RawMessage) (*keyword.Rule, json.RawMessage, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil {
		return nil, nil, openzone.Errorf(openzone.ErrInvalidParam, "request is not a JSON object")
	}
	delete(fields, "rule_id")
	body, _ := json.Marshal(fields)
	r, err := keyword.Parse(body, false)
	if err != nil {
		return nil, nil, err
	}
	stored, err := json.Marshal(r)
	if err != nil {
		return nil, nil, err
	}
	return r, stored, nil
}

func ruleID(raw json.RawMessage) (string, error) {
	var req struct {
		RuleID string `json:"rule_id"`
	}
	if err := decode(raw, &req); err != nil {
		return "", err
	}
	if req.RuleID == "" {
		return "", openzone.Errorf(openzone.ErrInvalidParam, "missing required parameter rule_id")
	}
	if err := keyword.ValidRuleID(req.RuleID); err != nil {
		return "", err
	}
	return req.RuleID, nil
}

// createRule is create_rule (关键词规则管理): at most keyword.MaxRules per app.
func (s *Service) createRule(ctx context.Context, c *specapi.Context, raw json.RawMessage) (openzone.Reply, error) {
	r, body, err := ruleBody(raw)
	if err != nil {
		return nil, err
	}
	kr := &openzone.KeywordRule{CorpID: c.CorpID, AgentID: c.AgentID, RuleID: keyword.NewRuleID(),
		Name: r.Name, Body: body, CreateTime: s.cfg.Now()}
	if err := s.cfg.Store.KeywordRuleInsert(ctx, kr, keyword.MaxRules); err != nil {
		return nil, err
	}
	return &ruleIDReply{Base: openzone.OK, RuleID: kr.RuleID}, nil
}

func (s *Service) rule(ctx context.Context, c *specapi.Context, id string) (*openzone.KeywordRule, error) {
	r, err := s.cfg.Store.KeywordRuleGet(ctx, store.KeywordRuleGetParams{CorpID: c.CorpID, AgentID: c.AgentID, RuleID: id})
	if openzone.IsNotFound(err) {
		return nil, openzone.Errorf(openzone.ErrRuleNotFound, "keyword rule %q not found", id)
	}
	return r, err
}

// ruleList is get_rule_list{cursor, limit (default 100)}.
func (s *Service) ruleList(ctx context.Context, c *specapi.Context, raw json.RawMessage) (openzone.Reply, error) {
	var req struct {
		Cursor string `json:"cursor"`
		Limit  *int   `json:"limit"`
	}
	if err := decode(raw, &req); err != nil {
		return nil, err
	}
	limit, err := limitOf(req.Limit, 100, 1000)
	if err != nil {
		return nil, err
	}
	rules, err := s.cfg.Store.KeywordRuleList(ctx, c.CorpID, c.AgentID)
	if err != nil {
		return nil, err
	}
	from, to, next, hasMore, err := offsetPage("r", req.Cursor, len(rules), limit)
	if err != nil {
		return nil, err
	}
	list := make([]keyword.Summary, 0, to-from)
	for _, r := range rules[from:to] {
		list = append(list, keyword.Summary{RuleID: r.RuleID, Name: r.Name, CreateTime: r.CreateTime.Unix()})
	}
	return &ruleListReply{Base: openzone.OK, RuleList: list, HasMore: hasMore, NextCursor: next}, nil
}

// ruleDetail is get_rule_detail{rule_id}.
func (s *Service) ruleDetail(ctx context.Context, c *specapi.Context, raw json.RawMessage) (openzone.Reply, error) {
	id, err := ruleID(raw)
	if err != nil {
		return nil, err
	}
	r, err := s.rule(ctx, c, id)
	if err != nil {
		return nil, err
	}
	kr, err := keyword.Parse(r.Body, false)
	if err != nil {
		return nil, fmt.Errorf("archive: stored rule %s: %w", id, err)
	}
	return &ruleDetailReply{Base: openzone.OK, Detail: kr.Detail()}, nil
}

// updateRule is update_rule{rule_id, …}: the parts given replace the
// stored ones (keyword.Rule.Apply), and the result must be a valid rule.
func (s *Service) updateRule(ctx context.Context, c *specapi.Context, raw json.RawMessage) (openzone.Reply, error) {
	id, err := ruleID(raw)
	if err != nil {
		return nil, err
	}
	upd, err := keyword.Parse(raw, true)
	if err != nil {
		return nil, err
	}
	r, err := s.rule(ctx, c, id)
	if err != nil {
		return nil, err
	}
	stored, err := keyword.Parse(r.Body, false)
	if err != nil {
		return nil, fmt.Errorf("archive: stored rule %s: %w", id, err)
	}
	merged, err := stored.Apply(upd)
	if err != nil {
		return nil, err
	}
	body, err := json.Marshal(merged)
	if err != nil {
		return nil, err
	}
	r.Name, r.Body = merged.Name, body
	if err := s.cfg.Store.KeywordRuleUpdate(ctx, r); err != nil {
		return nil, err
	}
	return openzone.OK, nil
}

// deleteRule is delete_rule{rule_id}.
func (s *Service) deleteRule(ctx context.Context, c *specapi.Context, raw json.RawMessage) (openzone.Reply, error) {
	id, err := ruleID(raw)
	if err != nil {
		return nil, err
	}
	if err := s.cfg.Store.KeywordRuleDelete(ctx, store.KeywordRuleDeleteParams{CorpID: c.CorpID, AgentID: c.AgentID, RuleID: id}); err != nil {
		if openzone.IsNotFound(err) {
			return nil, openzone.Errorf(openzone.ErrRuleNotFound, "keyword rule %q not found", id)
		}
		return nil, err
	}
	return openzone.OK, nil
}

// hitMsgList is get_hit_msg_list{cursor, token, need_detail, limit,
// begin_time}: messages that hit the app's rules, oldest first, each with
// the rules it hit.
func (s *Service) hitMsgList(ctx context.Context, c *specapi.Context, raw json.RawMessage) (openzone.Reply, error) {
	var req struct {
		Cursor     string `json:"cursor"`
		Token      string `json:"token"`
		NeedDetail int    `json:"need_detail"`
		Limit      *int   `json:"limit"`
		BeginTime  int64  `json:"begin_time"`
	}
	if err := decode(raw, &req); err != nil {
		return nil, err
	}
	limit, err := limitOf(req.Limit, 100, 1000)
	if err != nil {
		return nil, err
	}
	after, err := decodeCursor("h", req.Cursor, 64)
	if err != nil {
		return nil, err
	}
	if req.Token != "" {
		t, err := s.token(ctx, c, req.Token, "hit")
		if err != nil {
			return nil, err
		}
		if req.Cursor == "" {
			after = t.FromSeq
		}
	}
	k, err := s.appKey(ctx, c)
	if err != nil {
		return nil, err
	}
	// A message can hit several rules: read enough hit rows for limit
	// messages and one more to know whether more follow.
	hits, err := s.cfg.Store.KeywordHitList(ctx, store.KeywordHitListParams{CorpID: c.CorpID, AgentID: c.AgentID, AfterSeq: after, Limit: 10_001})
	if err != nil {
		return nil, err
	}
	type entry struct {
		msgID string
		rules []hitRule
	}
	var order []*entry
	byMsg := map[string]*entry{}
	next := after
	hasMore := 0
	for _, h := range hits {
		if req.BeginTime > 0 && h.Created.Unix() < req.BeginTime {
			next = h.Seq
			continue
		}
		e := byMsg[h.MsgID]
		if e == nil {
			if len(order) == limit {
				hasMore = 1
				break
			}
			e = &entry{msgID: h.MsgID}
			byMsg[h.MsgID] = e
			order = append(order, e)
		}
		sem := h.Semantics
		if sem == nil {
			sem = []int{}
		}
		e.rules = append(e.rules, hitRule{RuleID: h.RuleID, HasHitKeyword: h.HasHitKeyword, SemanticsList: sem})
		next = h.Seq
	}
	list := make([]hitMsg, 0, len(order))
	for _, e := range order {
		it := hitMsg{MsgID: e.msgID, HitRuleList: e.rules}
		if req.NeedDetail != 0 {
			m, err := s.cfg.Store.MessageGet(ctx, c.CorpID, e.msgID)
			if err == nil {
				if d, err := s.item(m, k); err == nil {
					it.MsgDetail = d
				}
			}
		}
		list = append(list, it)
	}
	return &hitMsgReply{Base: openzone.OK, HasMore: hasMore, NextCursor: encodeCursor("h", next), MsgList: list}, nil
}
