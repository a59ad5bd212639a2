package storetest

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/openzone/openzone"
	"github.com/openzone/openzone/internal/store"
)

func testMedia(t *testing.T, open func(*testing.T) store.Store) {
	t.Run("RoundTripAndPrune", func(t *testing.T) {
		t.Parallel()
		s, f := setup(t, open)
		ctx := t.Context()
		m := &openzone.Media{MediaID: "m1", CorpID: f.corp.CorpID, AgentID: f.app.AgentID, Filename: "a.pdf",
			ContentType: "application/pdf", Size: 7, Data: []byte("sealed!"), CreatedAt: t0, ExpiresAt: t0.Add(openzone.MediaTTL)}
		mustOK(t, s.MediaInsert(ctx, m))
		wantCode(t, s.MediaInsert(ctx, m), openzone.ErrConflict)
		got, err := s.MediaGet(ctx, "m1")
		mustOK(t, err)
		wantTime(t, "ExpiresAt", got.ExpiresAt, m.ExpiresAt)
		got.CreatedAt, got.ExpiresAt = m.CreatedAt, m.ExpiresAt
		wantEqual(t, got, m)
		mustOK(t, s.Prune(ctx, t0.Add(openzone.MediaTTL)))
		_, err = s.MediaGet(ctx, "m1")
		wantCode(t, err, openzone.ErrNotFound)
	})
	t.Run("ErrCorpNotFound", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		err := s.MediaInsert(t.Context(), &openzone.Media{MediaID: "m", CorpID: "nope", Data: []byte("x"), CreatedAt: t0, ExpiresAt: t0})
		wantCode(t, err, openzone.ErrNotFound)
	})
}

// kbFixture is a set of the fixture's app with one document learned: two
// fragments, terms 1 (in both) and 2 (in the second).
func kbFixture(t *testing.T, s store.Store, f *fixture, kbID string) *openzone.KnowledgeBase {
	t.Helper()
	ctx := t.Context()
	kb := &openzone.KnowledgeBase{KBID: kbID, CorpID: f.corp.CorpID, AgentID: f.app.AgentID, Name: "set " + kbID, CreatedAt: t0}
	mustOK(t, s.KBInsert(ctx, store.KBInsertParams{KB: kb, Max: 10}))
	addDoc(t, s, kb, kbID+"-d1", "")
	ok, err := s.KBDocLearned(ctx, store.KBDocLearnedParams{DocID: kbID + "-d1", Status: openzone.DocOK, Chars: 12, At: t0,
		Fragments: []openzone.KnowledgeFragment{{Ord: 0, Text: []byte("f0")}, {Ord: 1, Text: []byte("f1")}},
		Postings:  []openzone.KnowledgePosting{{Term: 2, N: 1, Postings: []byte{1, 9}}, {Term: 1, N: 2, Postings: []byte{0, 5, 1, 6}}}})
	mustOK(t, err)
	if !ok {
		t.Fatal("KBDocLearned = false for a document being learned")
	}
	return kb
}

func addDoc(t *testing.T, s store.Store, kb *openzone.KnowledgeBase, docID, webURL string) {
	t.Helper()
	typ := openzone.DocPDF
	if webURL != "" {
		typ = openzone.DocWeb
	}
	mustOK(t, s.KBDocInsert(t.Context(), store.KBDocInsertParams{KBID: kb.KBID, Max: 3, Docs: []*openzone.KnowledgeDoc{{
		DocID: docID, KBID: kb.KBID, CorpID: kb.CorpID, AgentID: kb.AgentID, Name: docID, Type: typ, WebURL: webURL,
		Source: []byte("source of " + docID), Status: openzone.DocAdding, CreatedAt: t0}}}))
}

func testKnowledge(t *testing.T, open func(*testing.T) store.Store) {
	t.Run("SetLimitAndList", func(t *testing.T) {
		t.Parallel()
		s, f := setup(t, open)
		ctx := t.Context()
		for i := range 2 {
			mustOK(t, s.KBInsert(ctx, store.KBInsertParams{Max: 2, KB: &openzone.KnowledgeBase{KBID: fmt.Sprint("kb", i),
				CorpID: f.corp.CorpID, Name: "corp set", CreatedAt: t0.Add(time.Duration(i) * time.Second)}}))
		}
		err := s.KBInsert(ctx, store.KBInsertParams{Max: 2, KB: &openzone.KnowledgeBase{KBID: "kb9", CorpID: f.corp.CorpID, Name: "x", CreatedAt: t0}})
		wantCode(t, err, openzone.ErrKBTooMany)
		ok, err := s.KBDelete(ctx, "kb0", t0)
		mustOK(t, err)
		if !ok {
			t.Fatal("KBDelete = false for a live set")
		}
		mustOK(t, s.KBInsert(ctx, store.KBInsertParams{Max: 2, KB: &openzone.KnowledgeBase{KBID: "kb2", CorpID: f.corp.CorpID, Name: "x", CreatedAt: t0.Add(time.Minute)}}))
		changed, err := s.KBGrant(ctx, store.KBGrantParams{KBID: "kb1", CorpID: f.corp.CorpID, AgentID: f.app.AgentID, Granted: true})
		mustOK(t, err)
		if !changed {
			t.Fatal("first grant changed nothing")
		}
		changed, err = s.KBGrant(ctx, store.KBGrantParams{KBID: "kb1", CorpID: f.corp.CorpID, AgentID: f.app.AgentID, Granted: true})
		mustOK(t, err)
		if changed {
			t.Fatal("second grant changed something")
		}
		_, err = s.KBGrant(ctx, store.KBGrantParams{KBID: "kb1", CorpID: f.corp.CorpID, AgentID: 42, Granted: true})
		wantCode(t, err, openzone.ErrNotFound)
		got, err := s.KBList(ctx, f.corp.CorpID)
		mustOK(t, err)
		if len(got) != 2 || got[0].KBID != "kb1" || got[1].KBID != "kb2" {
			t.Fatalf("KBList = %s, want kb1 then kb2 (kb0 deleted)", dump(got))
		}
		wantEqual(t, got[0].Grants, []int64{f.app.AgentID})
		wantEqual(t, got[1].Grants, []int64{})
		kb0, err := s.KBGet(ctx, "kb0")
		mustOK(t, err)
		if !kb0.Deleted() {
			t.Fatal("deleted set reads back live")
		}
		wantCode(t, s.KBRename(ctx, "kb0", "y"), openzone.ErrKBDeleted)
		_, err = s.KBGet(ctx, "nope")
		wantCode(t, err, openzone.ErrNotFound)
		ok, err = s.KBDelete(ctx, "kb0", t0)
		mustOK(t, err)
		if ok {
			t.Fatal("KBDelete = true for a deleted set")
		}
	})
	t.Run("DocsLearnIndexRemove", func(t *testing.T) {
		t.Parallel()
		s, f := setup(t, open)
		ctx := t.Context()
		kb := kbFixture(t, s, f, "kb")
		mustOK(t, s.KBRename(ctx, "kb", "renamed"))
		addDoc(t, s, kb, "d2", "https://example.com/a")
		err := s.KBDocInsert(ctx, store.KBDocInsertParams{KBID: "kb", Max: 3, Docs: []*openzone.KnowledgeDoc{{DocID: "d3",
			KBID: "kb", CorpID: kb.CorpID, Name: "d3", Type: openzone.DocWeb, WebURL: "https://example.com/a", Status: openzone.DocAdding, CreatedAt: t0}}})
		wantCode(t, err, openzone.ErrKBDupWebURL)
		err = s.KBDocInsert(ctx, store.KBDocInsertParams{KBID: "kb", Max: 3, Docs: []*openzone.KnowledgeDoc{
			{DocID: "d3", KBID: "kb", CorpID: kb.CorpID, Name: "d3", Type: 2, Status: 2, CreatedAt: t0},
			{DocID: "d4", KBID: "kb", CorpID: kb.CorpID, Name: "d4", Type: 2, Status: 2, CreatedAt: t0}}})
		wantCode(t, err, openzone.ErrKBTooManyDocs)

		src, err := s.KBDocSource(ctx, "d2")
		mustOK(t, err)
		wantEqual(t, string(src), "source of d2")
		ok, err := s.KBDocLearned(ctx, store.KBDocLearnedParams{DocID: "d2", Status: openzone.DocOK, Chars: 3, At: t0,
			Fragments: []openzone.KnowledgeFragment{{Ord: 0, Text: []byte("g0")}},
			Postings:  []openzone.KnowledgePosting{{Term: 1, N: 1, Postings: []byte{0, 7}}, {Term: -3, N: 1, Postings: []byte{0, 8}}}})
		mustOK(t, err)
		if !ok {
			t.Fatal("KBDocLearned = false")
		}
		ok, err = s.KBDocLearned(ctx, store.KBDocLearnedParams{DocID: "d2", Status: openzone.DocFailed, At: t0})
		mustOK(t, err)
		if ok {
			t.Fatal("a document learned twice")
		}
		src, err = s.KBDocSource(ctx, "d2")
		mustOK(t, err)
		if src != nil {
			t.Fatalf("source kept after learning: %q", src)
		}
		got, err := s.KBGet(ctx, "kb")
		mustOK(t, err)
		if got.Name != "renamed" || got.Docs != 2 || got.Fragments != 3 {
			t.Fatalf("set = %s, want renamed with 2 docs and 3 fragments", dump(got))
		}
		docs, err := s.KBDocList(ctx, "kb")
		mustOK(t, err)
		// Same created_at: ordered by docid.
		if len(docs) != 2 || docs[1].Status != openzone.DocOK || docs[0].Fragments != 1 || docs[0].WebURL == "" || docs[1].Chars != 12 {
			t.Fatalf("docs = %s", dump(docs))
		}
		df, err := s.KBDF(ctx, store.KBTermsParams{KBID: "kb", Terms: []int64{1, 2, -3, 99}})
		mustOK(t, err)
		wantEqual(t, df, map[int64]int{1: 3, 2: 1, -3: 1})
		ps, err := s.KBPostings(ctx, store.KBTermsParams{KBID: "kb", Terms: []int64{1, 99}})
		mustOK(t, err)
		if len(ps) != 2 || ps[0].Term != 1 || ps[1].Term != 1 {
			t.Fatalf("postings = %s, want term 1 of both documents", dump(ps))
		}
		frags, err := s.KBFragments(ctx, []store.KBFragmentKey{{DocID: "kb-d1", Ord: 1}, {DocID: "d2", Ord: 0}, {DocID: "d2", Ord: 5}})
		mustOK(t, err)
		wantEqual(t, frags, []openzone.KnowledgeFragment{{DocID: "d2", Ord: 0, Text: []byte("g0")}, {DocID: "kb-d1", Ord: 1, Text: []byte("f1")}})

		wantCode(t, s.KBDocRemove(ctx, store.KBDocRemoveParams{KBID: "kb", DocIDs: []string{"nope"}, MinLeft: 1}), openzone.ErrNotFound)
		wantCode(t, s.KBDocRemove(ctx, store.KBDocRemoveParams{KBID: "kb", DocIDs: []string{"d2", "kb-d1"}, MinLeft: 1}), openzone.ErrKBRemoveAllDocs)
		mustOK(t, s.KBDocRemove(ctx, store.KBDocRemoveParams{KBID: "kb", DocIDs: []string{"d2", "d2"}, MinLeft: 1}))
		df, err = s.KBDF(ctx, store.KBTermsParams{KBID: "kb", Terms: []int64{1, 2, -3}})
		mustOK(t, err)
		wantEqual(t, df, map[int64]int{1: 2, 2: 1})
		got, err = s.KBGet(ctx, "kb")
		mustOK(t, err)
		if got.Docs != 1 || got.Fragments != 2 {
			t.Fatalf("after remove: %s, want 1 doc and 2 fragments", dump(got))
		}
		_, err = s.KBDocGet(ctx, "d2")
		wantCode(t, err, openzone.ErrNotFound)

		ok, err = s.KBDelete(ctx, "kb", t0)
		mustOK(t, err)
		if !ok {
			t.Fatal("KBDelete = false")
		}
		ps, err = s.KBPostings(ctx, store.KBTermsParams{KBID: "kb", Terms: []int64{1, 2}})
		mustOK(t, err)
		if len(ps) != 0 {
			t.Fatalf("index kept after delete: %s", dump(ps))
		}
		wantCode(t, s.KBDocInsert(ctx, store.KBDocInsertParams{KBID: "kb", Docs: []*openzone.KnowledgeDoc{{DocID: "d9", KBID: "kb", CorpID: kb.CorpID, Name: "x", Type: 2, CreatedAt: t0}}}), openzone.ErrKBDeleted)
	})
	t.Run("LearnedAfterRemoveIsNoop", func(t *testing.T) {
		t.Parallel()
		s, f := setup(t, open)
		ctx := t.Context()
		kb := kbFixture(t, s, f, "kb")
		addDoc(t, s, kb, "d2", "")
		mustOK(t, s.KBDocRemove(ctx, store.KBDocRemoveParams{KBID: "kb", DocIDs: []string{"d2"}, MinLeft: 1}))
		ok, err := s.KBDocLearned(ctx, store.KBDocLearnedParams{DocID: "d2", Status: openzone.DocOK, At: t0,
			Fragments: []openzone.KnowledgeFragment{{Ord: 0, Text: []byte("x")}}})
		mustOK(t, err)
		if ok {
			t.Fatal("a removed document was learned")
		}
	})
	t.Run("ConcurrentLearningKeepsCounts", func(t *testing.T) {
		t.Parallel()
		s, f := setup(t, open)
		ctx := t.Context()
		kb := &openzone.KnowledgeBase{KBID: "kb", CorpID: f.corp.CorpID, AgentID: f.app.AgentID, Name: "kb", CreatedAt: t0}
		mustOK(t, s.KBInsert(ctx, store.KBInsertParams{KB: kb}))
		const n = 6
		docs := make([]*openzone.KnowledgeDoc, n)
		for i := range docs {
			docs[i] = &openzone.KnowledgeDoc{DocID: fmt.Sprint("d", i), KBID: "kb", CorpID: kb.CorpID, Name: "d", Type: 2, Status: openzone.DocAdding, CreatedAt: t0}
		}
		mustOK(t, s.KBDocInsert(ctx, store.KBDocInsertParams{KBID: "kb", Docs: docs}))
		var wg sync.WaitGroup
		errs := make(chan error, n)
		for i := range n {
			wg.Go(func() {
				_, err := s.KBDocLearned(ctx, store.KBDocLearnedParams{DocID: fmt.Sprint("d", i), Status: openzone.DocOK, At: t0,
					Fragments: []openzone.KnowledgeFragment{{Ord: 0, Text: []byte("x")}, {Ord: 1, Text: []byte("y")}},
					Postings:  []openzone.KnowledgePosting{{Term: 1, N: 2, Postings: []byte{0, 1, 1, 1}}, {Term: int64(100 + i), N: 1, Postings: []byte{0, 1}}}})
				errs <- err
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			mustOK(t, err)
		}
		got, err := s.KBGet(ctx, "kb")
		mustOK(t, err)
		df, err := s.KBDF(ctx, store.KBTermsParams{KBID: "kb", Terms: []int64{1, 100}})
		mustOK(t, err)
		if got.Fragments != 2*n || df[1] != 2*n || df[100] != 1 {
			t.Fatalf("fragments %d, df %v: want %d and df[1] %d", got.Fragments, df, 2*n, 2*n)
		}
	})
}
