package quota_test

import (
	"context"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/openzone/openzone"
	"github.com/openzone/openzone/internal/quota"
	"github.com/openzone/openzone/internal/store"
	"github.com/openzone/openzone/internal/store/postgres"
	"github.com/openzone/openzone/internal/store/postgres/pgtest"
	"github.com/openzone/openzone/internal/store/sqlite"
	"github.com/openzone/openzone/internal/store/storetest"
)

func TestChinaDay_Bounds(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		now        time.Time
		start, end time.Time
	}{
		// 15:59:59 UTC is 23:59:59 in China: still the 5th there.
		{"BeforeMidnight", time.Date(2026, 12, 5, 15, 59, 59, 0, time.UTC),
			time.Date(2026, 12, 4, 16, 0, 0, 0, time.UTC), time.Date(2026, 12, 5, 16, 0, 0, 0, time.UTC)},
		{"AtMidnight", time.Date(2026, 12, 5, 16, 0, 0, 0, time.UTC),
			time.Date(2026, 12, 5, 16, 0, 0, 0, time.UTC), time.Date(2026, 12, 6, 16, 0, 0, 0, time.UTC)},
		{"Morning", time.Date(2026, 12, 5, 1, 0, 0, 0, time.UTC),
			time.Date(2026, 12, 4, 16, 0, 0, 0, time.UTC), time.Date(2026, 12, 5, 16, 0, 0, 0, time.UTC)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			start, end := quota.ChinaDay.Bounds(tc.now)
			if !start.Equal(tc.start) || !end.Equal(tc.end) {
				t.Fatalf("Bounds(%v) = %v, %v; want %v, %v", tc.now, start, end, tc.start, tc.end)
			}
		})
	}
	start, end := quota.Every(time.Minute).Bounds(time.Date(2026, 1, 1, 0, 0, 30, 0, time.UTC))
	if want := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC); !start.Equal(want) || end.Sub(start) != time.Minute {
		t.Fatalf("Every(minute) = %v, %v", start, end)
	}
}

// stores opens each database a zone runs on: SQLite always, PostgreSQL
// when OPENZONE_TEST_POSTGRES_URL is set (required with
// OPENZONE_REQUIRE_POSTGRES=1). open returns one more handle on the same
// database: a second node.
func stores(t *testing.T, fn func(t *testing.T, open func() store.Store)) {
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		path := filepath.Join(t.TempDir(), "zone.db")
		db := storetest.MustOpen(t, sqlite.Open, path)
		fn(t, func() store.Store { return db })
	})
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		url := pgtest.URL(t)
		fn(t, func() store.Store { return storetest.MustOpen(t, postgres.Open, url) })
	})
}

func TestService_Take(t *testing.T) {
	t.Parallel()
	stores(t, func(t *testing.T, open func() store.Store) {
		ctx := context.Background()
		var offset atomic.Int64
		now := func() time.Time {
			return time.Date(2026, 12, 5, 15, 0, 0, 0, time.UTC).Add(time.Duration(offset.Load())) // 23:00 in China
		}
		q := quota.New(quota.Config{Store: open(), Now: now})
		l := quota.Limit{Name: "calls", Max: 3, Window: quota.ChinaDay, What: "model calls a day"}
		for i := range 3 {
			if err := q.Take(ctx, l, "wwcorp", 1); err != nil {
				t.Fatalf("take %d: %v", i, err)
			}
		}
		err := q.Take(ctx, l, "wwcorp", 1)
		if openzone.ErrorCode(err) != openzone.ErrFreqLimit {
			t.Fatalf("fourth take: %v, want 45009", err)
		}
		t.Logf("errmsg: %s", openzone.ErrorMessage(err))
		if u, err := q.Used(ctx, l, "wwcorp"); err != nil || u.Used != 3 || u.Max != 3 {
			t.Fatalf("Used = %+v, %v; want 3 of 3 (the refused take counted nothing)", u, err)
		}
		if err := q.Take(ctx, l, "wwother", 3); err != nil {
			t.Fatalf("another corp: %v", err)
		}
		// Midnight in China: a new day, a new count.
		offset.Store(int64(time.Hour))
		if err := q.Take(ctx, l, "wwcorp", 3); err != nil {
			t.Fatalf("after midnight China time: %v", err)
		}
		if err := q.Take(ctx, quota.Limit{Name: "off", Max: 0, Window: quota.ChinaDay}, "wwcorp", 1<<40); err != nil {
			t.Fatalf("Max 0 is no limit: %v", err)
		}
	})
}

// TestService_TwoNodes: two services on two handles of one database (two
// nodes) share the count.
func TestService_TwoNodes(t *testing.T) {
	t.Parallel()
	stores(t, func(t *testing.T, open func() store.Store) {
		ctx := context.Background()
		a, b := quota.New(quota.Config{Store: open()}), quota.New(quota.Config{Store: open()})
		l := quota.Limit{Name: "msgs", Max: 50, Window: quota.ChinaDay}
		var taken atomic.Int64
		var wg sync.WaitGroup
		for i := range 40 {
			q := a
			if i%2 == 1 {
				q = b
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				err := q.Take(ctx, l, "wwcorp", 2)
				switch openzone.ErrorCode(err) {
				case 0:
					taken.Add(2)
				case openzone.ErrFreqLimit:
				default:
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		if taken.Load() != 50 {
			t.Fatalf("%d taken through two nodes with max 50, want 50", taken.Load())
		}
	})
}
