package storetest

import (
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/openzone/openzone"
	"github.com/openzone/openzone/internal/store"
)

func logLine(text, reqID string, level int, at time.Duration) *openzone.ProgramLog {
	return &openzone.ProgramLog{ProgramID: "prog-a", Time: t0.Add(at), Level: level, ReqID: reqID, PID: 7, TID: 8,
		File: "main.py", Line: 12, Text: text, Instance: "prog-a/1", Received: t0.Add(at)}
}

func insertLogs(t *testing.T, s store.Store, hour time.Time, cap int64, lines ...*openzone.ProgramLog) int {
	t.Helper()
	sizes := make([]int64, len(lines))
	for i, l := range lines {
		sizes[i] = int64(len(l.Text))
	}
	n, err := s.ProgramLogInsert(t.Context(), store.ProgramLogInsertParams{ProgramID: "prog-a", Hour: hour, Cap: cap,
		Lines: lines, Sizes: sizes})
	mustOK(t, err)
	return n
}

func logTexts(ls []*openzone.ProgramLog) []string {
	out := make([]string, 0, len(ls))
	for _, l := range ls {
		out = append(out, l.Text)
	}
	return out
}

func testProgramLog(t *testing.T, open func(*testing.T) store.Store) {
	hour := t0.Truncate(time.Hour)
	t.Run("Level", func(t *testing.T) {
		t.Parallel()
		s, _ := setup(t, open)
		ctx := t.Context()
		got, err := s.ProgramLogLevel(ctx, "prog-a")
		mustOK(t, err)
		wantEqual(t, got, openzone.DefaultLogLevel)
		mustOK(t, s.ProgramLogLevelSet(ctx, "prog-a", 3))
		mustOK(t, s.ProgramLogLevelSet(ctx, "prog-a", 1))
		got, err = s.ProgramLogLevel(ctx, "prog-a")
		mustOK(t, err)
		wantEqual(t, got, 1)
		wantCode(t, s.ProgramLogLevelSet(ctx, "prog-none", 1), openzone.ErrNotFound)
	})
	t.Run("RoundTripAndFilters", func(t *testing.T) {
		t.Parallel()
		s, _ := setup(t, open)
		ctx := t.Context()
		first := logLine("日志 one, with a comma", "req-1", 2, 0)
		first.Debug = true
		n := insertLogs(t, s, hour, 0, first, logLine("two", "req-1", 1, time.Second), logLine("three", "req-2", 3, 2*time.Second))
		wantEqual(t, n, 3)
		all, err := s.ProgramLogList(ctx, openzone.ProgramLogFilter{ProgramID: "prog-a"})
		mustOK(t, err)
		wantEqual(t, logTexts(all), []string{"three", "two", "日志 one, with a comma"})
		want := *first
		want.ID, want.Time, want.Received = all[2].ID, ms(first.Time), ms(first.Received)
		wantEqual(t, all[2], &want)
		tests := []struct {
			name string
			f    openzone.ProgramLogFilter
			want []string
		}{
			{"MaxLevel", openzone.ProgramLogFilter{ProgramID: "prog-a", MaxLevel: 2}, []string{"two", "日志 one, with a comma"}},
			{"ReqID", openzone.ProgramLogFilter{ReqID: "req-1"}, []string{"two", "日志 one, with a comma"}},
			{"Since", openzone.ProgramLogFilter{ProgramID: "prog-a", Since: t0.Add(time.Second)}, []string{"three", "two"}},
			{"Until", openzone.ProgramLogFilter{ProgramID: "prog-a", Until: t0.Add(time.Second)}, []string{"日志 one, with a comma"}},
			{"BeforeID", openzone.ProgramLogFilter{ProgramID: "prog-a", BeforeID: all[0].ID, Limit: 1}, []string{"two"}},
			{"OtherProgram", openzone.ProgramLogFilter{ProgramID: "prog-b"}, []string{}},
		}
		for _, tt := range tests {
			got, err := s.ProgramLogList(ctx, tt.f)
			mustOK(t, err)
			if g := logTexts(got); len(g) != len(tt.want) || len(g) > 0 && !slices.Equal(g, tt.want) {
				t.Errorf("%s: got %q, want %q", tt.name, g, tt.want)
			}
		}
	})
	t.Run("HourlyCap", func(t *testing.T) {
		t.Parallel()
		s, _ := setup(t, open)
		ctx := t.Context()
		// 10 bytes an hour: 4 + 4 fit, the third line (4) and the rest of
		// the hour do not; the next hour starts afresh.
		wantEqual(t, insertLogs(t, s, hour, 10, logLine("aaaa", "", 2, 0), logLine("bbbb", "", 2, 0), logLine("cccc", "", 2, 0)), 2)
		wantEqual(t, insertLogs(t, s, hour, 10, logLine("dd", "", 2, 0)), 1)
		wantEqual(t, insertLogs(t, s, hour, 10, logLine("e", "", 2, 0)), 0)
		_, err := s.ProgramLogInsert(ctx, store.ProgramLogInsertParams{ProgramID: "prog-a", Hour: hour, Cap: 10,
			Dropped: 5, Filtered: 2, Rejected: 1})
		mustOK(t, err)
		wantEqual(t, insertLogs(t, s, hour.Add(time.Hour), 10, logLine("ffff", "", 2, time.Hour)), 1)
		hours, err := s.ProgramLogHours(ctx, "prog-a", hour)
		mustOK(t, err)
		wantEqual(t, hours, []*openzone.ProgramLogHour{
			{ProgramID: "prog-a", Hour: hour.Add(time.Hour), Lines: 1, Bytes: 4},
			{ProgramID: "prog-a", Hour: hour, Lines: 3, Bytes: 10, Dropped: 2 + 5, Filtered: 2, Rejected: 1},
		})
	})
	t.Run("CapHoldsUnderConcurrency", func(t *testing.T) {
		t.Parallel()
		s, _ := setup(t, open)
		ctx := t.Context()
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				sizes := []int64{10, 10}
				_, err := s.ProgramLogInsert(ctx, store.ProgramLogInsertParams{ProgramID: "prog-a", Hour: hour, Cap: 50,
					Lines: []*openzone.ProgramLog{logLine("0123456789", "", 2, 0), logLine("0123456789", "", 2, 0)}, Sizes: sizes})
				if err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		hours, err := s.ProgramLogHours(ctx, "prog-a", hour)
		mustOK(t, err)
		wantEqual(t, []int64{hours[0].Lines, hours[0].Bytes, hours[0].Dropped}, []int64{5, 50, 11})
		got, err := s.ProgramLogList(ctx, openzone.ProgramLogFilter{ProgramID: "prog-a", Limit: 100})
		mustOK(t, err)
		wantEqual(t, len(got), 5)
	})
	t.Run("Prune", func(t *testing.T) {
		t.Parallel()
		s, _ := setup(t, open)
		ctx := t.Context()
		insertLogs(t, s, hour, 0, logLine("old", "", 2, 0), logLine("new", "", 2, 2*time.Hour))
		insertLogs(t, s, hour.Add(2*time.Hour), 0)
		n, err := s.ProgramLogPrune(ctx, t0.Add(time.Hour))
		mustOK(t, err)
		wantEqual(t, n, int64(1))
		got, err := s.ProgramLogList(ctx, openzone.ProgramLogFilter{})
		mustOK(t, err)
		wantEqual(t, logTexts(got), []string{"new"})
		hours, err := s.ProgramLogHours(ctx, "prog-a", time.Time{})
		mustOK(t, err)
		wantEqual(t, len(hours), 1)
	})
}

func testHideConfig(t *testing.T, open func(*testing.T) store.Store) {
	s, f := setup(t, open)
	ctx := t.Context()
	key := store.HideConfigGetParams{CorpID: f.app.CorpID, AgentID: f.app.AgentID, UserID: "zhangsan"}
	_, err := s.HideConfigGet(ctx, key)
	wantCode(t, err, openzone.ErrNotFound)
	c := &openzone.HideConfig{CorpID: key.CorpID, AgentID: key.AgentID, UserID: key.UserID, HideMobile: true, HideBankNo: true, UpdatedAt: t0}
	mustOK(t, s.HideConfigPut(ctx, c))
	c2 := *c
	c2.HideMobile, c2.HideIDCard, c2.HideEmail, c2.UpdatedAt = false, true, true, t0.Add(time.Second)
	mustOK(t, s.HideConfigPut(ctx, &c2))
	got, err := s.HideConfigGet(ctx, key)
	mustOK(t, err)
	want := c2
	want.UpdatedAt = ms(c2.UpdatedAt)
	wantEqual(t, got, &want)
	other := key
	other.UserID = "lisi"
	_, err = s.HideConfigGet(ctx, other)
	wantCode(t, err, openzone.ErrNotFound)
	wantCode(t, s.HideConfigPut(ctx, &openzone.HideConfig{CorpID: "wwcorp", AgentID: 99, UserID: "u", UpdatedAt: t0}), openzone.ErrNotFound)
}
