package knowledge

import (
	"context"
	"fmt"
	"strings"

	"github.com/openzone/openzone"
	"github.com/openzone/openzone/internal/kbtext"
	"github.com/openzone/openzone/internal/store"
)

// K is how many fragments {knowledge} brings at most: the best K for the
// chat, fewer when the prompt would pass its limit (internal/tasks).
const K = 5

// maxShownHits bounds the fragments a query shows (console, CLI).
const maxShownHits = 20

// retrieve runs query on a set and returns its best k fragments.
func (s *Service) retrieve(ctx context.Context, kb *openzone.KnowledgeBase, query string, k int) ([]kbtext.QueryTerm, []openzone.KnowledgeHit, error) {
	if kb.Fragments == 0 {
		return nil, nil, nil
	}
	qs, err := kbtext.QueryTerms(s.hasher, query, kb.Fragments, func(ids []int64) (map[int64]int, error) {
		return s.cfg.Store.KBDF(ctx, store.KBTermsParams{KBID: kb.KBID, Terms: ids})
	})
	if err != nil || len(qs) == 0 {
		return nil, nil, err
	}
	ids := make([]int64, len(qs))
	for i, q := range qs {
		ids[i] = q.ID
	}
	rows, err := s.cfg.Store.KBPostings(ctx, store.KBTermsParams{KBID: kb.KBID, Terms: ids})
	if err != nil {
		return nil, nil, err
	}
	ps := make([]kbtext.Posting, len(rows))
	for i, r := range rows {
		ps[i] = kbtext.Posting{Term: r.Term, DocID: r.DocID, List: r.Postings}
	}
	found, err := kbtext.Score(qs, ps, k)
	if err != nil {
		return nil, nil, fmt.Errorf("knowledge: set %s: %w", kb.KBID, err)
	}
	keys := make([]store.KBFragmentKey, len(found))
	for i, h := range found {
		keys[i] = store.KBFragmentKey{DocID: h.DocID, Ord: h.Ord}
	}
	frags, err := s.cfg.Store.KBFragments(ctx, keys)
	if err != nil {
		return nil, nil, err
	}
	text := map[store.KBFragmentKey][]byte{}
	for _, f := range frags {
		t, err := s.box.Open(fragmentAAD(f.DocID, f.Ord), f.Text)
		if err != nil {
			return nil, nil, fmt.Errorf("knowledge: fragment %d of %s: %w", f.Ord, f.DocID, err)
		}
		text[store.KBFragmentKey{DocID: f.DocID, Ord: f.Ord}] = t
	}
	hits := make([]openzone.KnowledgeHit, 0, len(found))
	for _, h := range found {
		t, ok := text[store.KBFragmentKey{DocID: h.DocID, Ord: h.Ord}]
		if !ok {
			continue // its document was removed between the reads
		}
		hit := openzone.KnowledgeHit{DocID: h.DocID, Ord: h.Ord, Score: h.Score, Text: string(t)}
		for _, i := range h.Terms {
			hit.Terms = append(hit.Terms, qs[i].Text)
		}
		hits = append(hits, hit)
	}
	return qs, hits, nil
}

// Query shows what query retrieves from a set the actor may read: the
// terms used, up to limit fragments (default K) with their scores and
// matched terms, and the {knowledge} text of the first K.
func (s *Service) Query(ctx context.Context, a Actor, kbID, query string, limit int) (*openzone.KnowledgeQuery, error) {
	kb, err := s.set(ctx, a, kbID, false)
	if err != nil {
		return nil, err
	}
	if strings.TrimSpace(query) == "" {
		return nil, openzone.Errorf(openzone.ErrInvalidParam, "missing required parameter text: the query")
	}
	if limit <= 0 {
		limit = K
	}
	limit = min(limit, maxShownHits)
	qs, hits, err := s.retrieve(ctx, kb, query, limit)
	if err != nil {
		return nil, err
	}
	out := &openzone.KnowledgeQuery{KBID: kb.KBID, Fragments: kb.Fragments, Terms: []openzone.KnowledgeTerm{}, Hits: hits}
	for _, q := range qs {
		out.Terms = append(out.Terms, openzone.KnowledgeTerm{Text: q.Text, DF: q.DF, IDF: q.IDF})
	}
	names := map[string]string{}
	var texts []string
	for i := range out.Hits {
		h := &out.Hits[i]
		if _, ok := names[h.DocID]; !ok {
			if d, err := s.cfg.Store.KBDocGet(ctx, h.DocID); err == nil {
				names[h.DocID] = d.Name
			}
		}
		h.DocName = names[h.DocID]
		if i < K {
			texts = append(texts, h.Text)
		}
	}
	if out.Hits == nil {
		out.Hits = []openzone.KnowledgeHit{}
	}
	out.Knowledge = kbtext.Format(texts)
	return out, nil
}

// ForTask returns the fragments {knowledge} brings to a model task of app
// (corpID, agentID): the best K of set kbID for the chat's text query,
// best first, or of serviceKBID when kbID is "" (WeCom: service_kb_id is
// ignored when kb_id is set). Neither set: none. The app needs the
// knowledge-set permission (710643) and the set must be usable by it.
func (s *Service) ForTask(ctx context.Context, app *openzone.App, kbID, serviceKBID, query string) ([]string, error) {
	field := "kb_id"
	if kbID == "" {
		kbID, field = serviceKBID, "service_kb_id"
	}
	if kbID == "" {
		return nil, nil
	}
	if !app.KnowledgePermission {
		return nil, permissionError(app)
	}
	kb, err := s.set(ctx, Actor{CorpID: app.CorpID, AgentID: app.AgentID}, kbID, false)
	if err != nil {
		return nil, openzone.Errorf(openzone.ErrorCode(err), "%s: %s", field, openzone.ErrorMessage(err))
	}
	_, hits, err := s.retrieve(ctx, kb, query, K)
	if err != nil {
		return nil, err
	}
	texts := make([]string, len(hits))
	for i, h := range hits {
		texts[i] = h.Text
	}
	return texts, nil
}

func permissionError(app *openzone.App) error {
	return openzone.Errorf(openzone.ErrKnowledgePerm, "app %d of corp %s lacks the 数据与智能专区-知识集 (knowledge set) permission", app.AgentID, app.CorpID)
}
