package archive

import (
	"context"
	"time"

	"github.com/openzone/openzone"
	"github.com/openzone/openzone/internal/keyword"
	"github.com/openzone/openzone/internal/store"
)

// matchRules checks new messages against the app's keyword rules (关键词规则),
// records the hits and raises one hit_keyword event for them.
func (s *Service) matchRules(ctx context.Context, tx store.Executor, app *openzone.App, msgs []*openzone.Message, textOf map[int64]string, now time.Time) (int, error) {
	rules, err := tx.KeywordRuleList(ctx, app.CorpID, app.AgentID)
	if err != nil || len(rules) == 0 {
		return 0, err
	}
	type compiled struct {
		id   string
		rule *keyword.Rule
	}
	var cs []compiled
	for _, r := range rules {
		kr, err := keyword.Parse(r.Body, false)
		if err != nil {
			s.cfg.Logger.Warn("archive: stored keyword rule does not parse", "rule_id", r.RuleID, "err", err)
			continue
		}
		cs = append(cs, compiled{r.RuleID, kr})
	}
	var first int64
	for _, m := range msgs {
		km := &keyword.Msg{MsgType: m.MsgType, Text: textOf[m.Seq], Sender: m.Sender, Receivers: m.Receivers, ChatID: m.ChatID}
		for _, c := range cs {
			hit, kw, sem := c.rule.Match(km)
			if !hit {
				continue
			}
			h := &openzone.KeywordHit{CorpID: app.CorpID, AgentID: app.AgentID, MsgID: m.MsgID, RuleID: c.id,
				HasHitKeyword: kw, Semantics: sem, Created: now}
			if err := tx.KeywordHitInsert(ctx, h); err != nil {
				return 0, err
			}
			if first == 0 {
				first = h.Seq
			}
		}
	}
	if first == 0 {
		return 0, nil
	}
	tok := &openzone.EventToken{Token: NewToken(), CorpID: app.CorpID, AgentID: app.AgentID, Kind: "hit",
		FromSeq: first - 1, ExpiresAt: now.Add(TokenTTL)}
	if err := tx.EventTokenInsert(ctx, tok); err != nil {
		return 0, err
	}
	return 1, s.emit(ctx, tx, app, "hit_keyword", map[string]any{"token": tok.Token}, now)
}
