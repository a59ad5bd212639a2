package storetest

import (
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/openzone/openzone"
	"github.com/openzone/openzone/internal/store"
)

func testQuota(t *testing.T, open func(*testing.T) store.Store) {
	day := store.QuotaTakeParams{Scope: "ww_model_calls", Subject: "wwcorp", WindowStart: t0, WindowEnd: t0.Add(24 * time.Hour), Max: 10}
	t.Run("TakeUntilMax", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		ctx := t.Context()
		for i, tc := range []struct {
			n, want int64
			ok      bool
		}{{4, 4, true}, {6, 10, true}, {1, 10, false}, {11, 10, false}} {
			p := day
			p.N = tc.n
			used, ok, err := s.QuotaTake(ctx, p)
			if err != nil || used != tc.want || ok != tc.ok {
				t.Fatalf("take %d: QuotaTake(%d) = %d, %v, %v; want %d, %v", i, tc.n, used, ok, err, tc.want, tc.ok)
			}
		}
		// Another subject, scope or window counts apart.
		for _, p := range []store.QuotaTakeParams{
			{Scope: day.Scope, Subject: "other", WindowStart: t0, WindowEnd: day.WindowEnd, N: 10, Max: 10},
			{Scope: "ww_model_msgs", Subject: "wwcorp", WindowStart: t0, WindowEnd: day.WindowEnd, N: 10, Max: 10},
			{Scope: day.Scope, Subject: "wwcorp", WindowStart: day.WindowEnd, WindowEnd: day.WindowEnd.Add(24 * time.Hour), N: 10, Max: 10},
		} {
			if used, ok, err := s.QuotaTake(ctx, p); err != nil || !ok || used != 10 {
				t.Fatalf("QuotaTake(%+v) = %d, %v, %v; want 10, true", p, used, ok, err)
			}
		}
		if used, err := s.QuotaGet(ctx, store.QuotaGetParams{Scope: day.Scope, Subject: "wwcorp", WindowStart: t0}); err != nil || used != 10 {
			t.Fatalf("QuotaGet = %d, %v; want 10", used, err)
		}
		if used, err := s.QuotaGet(ctx, store.QuotaGetParams{Scope: day.Scope, Subject: "nobody", WindowStart: t0}); err != nil || used != 0 {
			t.Fatalf("QuotaGet of nothing = %d, %v; want 0", used, err)
		}
	})
	t.Run("ConcurrentNeverPassMax", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		ctx := t.Context()
		var wg sync.WaitGroup
		var mu sync.Mutex
		taken := 0
		for range 40 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				p := day
				p.N = 1
				_, ok, err := s.QuotaTake(ctx, p)
				if err != nil {
					t.Error(err)
					return
				}
				if ok {
					mu.Lock()
					taken++
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		if taken != 10 {
			t.Fatalf("%d takes of 1 succeeded with max 10, want exactly 10", taken)
		}
	})
	t.Run("Pruned", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		ctx := t.Context()
		p := day
		p.N = 3
		if _, _, err := s.QuotaTake(ctx, p); err != nil {
			t.Fatal(err)
		}
		if err := s.Prune(ctx, day.WindowEnd); err != nil {
			t.Fatal(err)
		}
		if used, err := s.QuotaGet(ctx, store.QuotaGetParams{Scope: day.Scope, Subject: "wwcorp", WindowStart: t0}); err != nil || used != 0 {
			t.Fatalf("after the window's end: QuotaGet = %d, %v; want 0 (pruned)", used, err)
		}
	})
}

func testTagGroup(t *testing.T, open func(*testing.T) store.Store) {
	groups := []openzone.TagGroup{
		{GroupID: "g-b", GroupName: "关注点", Tags: []openzone.Tag{{TagID: "t-price", TagName: "价格敏感", Synonyms: []string{"优惠"}}, {TagID: "t-refund", TagName: "退款"}}},
		{GroupID: "g-a", GroupName: "意向", Tags: []openzone.Tag{}},
	}
	t.Run("SetList", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		ctx := t.Context()
		mustOK(t, s.CorpUpsert(ctx, &openzone.Corp{CorpID: "wwcorp", Name: "Corp"}))
		if err := s.TagGroupsSet(ctx, "wwcorp", groups); err != nil {
			t.Fatal(err)
		}
		got, err := s.TagGroupList(ctx, "wwcorp")
		if err != nil || !reflect.DeepEqual(got, groups) {
			t.Fatalf("TagGroupList = %+v, %v; want %+v (in the order set)", got, err, groups)
		}
		if err := s.TagGroupsSet(ctx, "wwcorp", groups[1:]); err != nil {
			t.Fatal(err)
		}
		if got, err := s.TagGroupList(ctx, "wwcorp"); err != nil || len(got) != 1 || got[0].GroupID != "g-a" {
			t.Fatalf("after replacing: %+v, %v", got, err)
		}
		if got, err := s.TagGroupList(ctx, "nobody"); err != nil || len(got) != 0 {
			t.Fatalf("TagGroupList of no corp = %+v, %v", got, err)
		}
	})
	t.Run("ErrNotFound", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		if err := s.TagGroupsSet(t.Context(), "nobody", groups); openzone.ErrorCode(err) != openzone.ErrNotFound {
			t.Fatalf("TagGroupsSet of an unknown corp: %v, want ErrNotFound", err)
		}
	})
}

func testWWModel(t *testing.T, open func(*testing.T) store.Store) {
	s := open(t)
	ctx := t.Context()
	if _, err := s.WWModelGet(ctx, "m"); openzone.ErrorCode(err) != openzone.ErrNotFound {
		t.Fatalf("WWModelGet of nothing: %v, want ErrNotFound", err)
	}
	a := &openzone.WWModel{ModelID: "m", Backend: openzone.BackendProgram, ProgramID: "p", AbilityID: "a"}
	b := &openzone.WWModel{ModelID: "m", Backend: openzone.BackendOpenAI, OpenAIModel: "qwen"}
	for _, m := range []*openzone.WWModel{a, b} {
		if err := s.WWModelUpsert(ctx, m); err != nil {
			t.Fatal(err)
		}
		if got, err := s.WWModelGet(ctx, "m"); err != nil || *got != *m {
			t.Fatalf("WWModelGet = %+v, %v; want %+v", got, err, m)
		}
	}
	if ms, err := s.WWModelList(ctx); err != nil || len(ms) != 1 {
		t.Fatalf("WWModelList = %v, %v", ms, err)
	}
	if err := s.WWModelDelete(ctx, "m"); err != nil {
		t.Fatal(err)
	}
	if ms, err := s.WWModelList(ctx); err != nil || len(ms) != 0 {
		t.Fatalf("after delete: %v, %v", ms, err)
	}
}
