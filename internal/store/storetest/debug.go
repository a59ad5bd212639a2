package storetest

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/openzone/openzone"
	"github.com/openzone/openzone/internal/store"
)

// ms is t as a store keeps it: millisecond precision (zero stays zero).
func ms(t time.Time) time.Time { return t.Truncate(time.Millisecond) }

func storedDebugProgram(d openzone.DebugProgram) *openzone.DebugProgram {
	d.TokenIssuedAt, d.TokenExpiresAt = ms(d.TokenIssuedAt), ms(d.TokenExpiresAt)
	return &d
}

func storedDebugSession(d openzone.DebugSession) *openzone.DebugSession {
	d.AppOpenedAt, d.SDKOpenedAt = ms(d.AppOpenedAt), ms(d.SDKOpenedAt)
	if len(d.Secret) == 0 {
		d.Secret = nil // no secret reads back as nil, never empty
	}
	return &d
}

func testDebugProgram(t *testing.T, open func(*testing.T) store.Store) {
	t.Run("RoundTrip", func(t *testing.T) {
		t.Parallel()
		tests := []struct {
			name string
			d    openzone.DebugProgram
		}{
			{"AllSet", openzone.DebugProgram{ProgramID: "prog-a", ReceiverURL: "http://127.0.0.1:9000/events",
				Token: "dbg-token", TokenIssuedAt: t0, TokenExpiresAt: t0.Add(openzone.DebugTokenTTL)}},
			{"ReceiverOnly", openzone.DebugProgram{ProgramID: "prog-a", ReceiverURL: "http://127.0.0.1:9000/events"}},
			{"TokenOnly", openzone.DebugProgram{ProgramID: "prog-a", Token: "dbg-token",
				TokenIssuedAt: t0, TokenExpiresAt: t0.Add(openzone.DebugTokenTTL)}},
			{"Zero", openzone.DebugProgram{ProgramID: "prog-a"}},
			// The Unix epoch is a time, not "unset".
			{"Epoch", openzone.DebugProgram{ProgramID: "prog-a", Token: "t",
				TokenIssuedAt: time.UnixMilli(0).UTC(), TokenExpiresAt: time.UnixMilli(1).UTC()}},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				s, _ := setup(t, open)
				ctx := t.Context()
				mustOK(t, s.DebugProgramPut(ctx, &tc.d))
				got, err := s.DebugProgramGet(ctx, tc.d.ProgramID)
				mustOK(t, err)
				wantEqual(t, got, storedDebugProgram(tc.d))
				if got.TokenIssuedAt.IsZero() != tc.d.TokenIssuedAt.IsZero() ||
					got.TokenExpiresAt.IsZero() != tc.d.TokenExpiresAt.IsZero() {
					t.Fatalf("zero times changed: got %+v, put %+v", got, tc.d)
				}
			})
		}
	})
	t.Run("PutReplaces", func(t *testing.T) {
		t.Parallel()
		s, _ := setup(t, open)
		ctx := t.Context()
		mustOK(t, s.DebugProgramPut(ctx, &openzone.DebugProgram{ProgramID: "prog-a", ReceiverURL: "http://old",
			Token: "old", TokenIssuedAt: t0, TokenExpiresAt: t0.Add(openzone.DebugTokenTTL)}))
		want := openzone.DebugProgram{ProgramID: "prog-a", ReceiverURL: "http://new"}
		mustOK(t, s.DebugProgramPut(ctx, &want))
		got, err := s.DebugProgramGet(ctx, "prog-a")
		mustOK(t, err)
		wantEqual(t, got, &want)
		// Another program's state is its own.
		_, err = s.DebugProgramGet(ctx, "prog-b")
		wantCode(t, err, openzone.ErrNotFound)
	})
	t.Run("ProgramUpsertKeeps", func(t *testing.T) {
		t.Parallel()
		s, f := setup(t, open)
		ctx := t.Context()
		want := openzone.DebugProgram{ProgramID: "prog-a", ReceiverURL: "http://r", Token: "tok",
			TokenIssuedAt: t0, TokenExpiresAt: t0.Add(time.Hour)}
		mustOK(t, s.DebugProgramPut(ctx, &want))
		p := *f.progA
		p.Name = "Renamed"
		mustOK(t, s.ProgramUpsert(ctx, &p))
		got, err := s.DebugProgramGet(ctx, "prog-a")
		mustOK(t, err)
		wantEqual(t, got, storedDebugProgram(want))
	})
	t.Run("ByToken", func(t *testing.T) {
		t.Parallel()
		s, _ := setup(t, open)
		ctx := t.Context()
		mustOK(t, s.DebugProgramPut(ctx, &openzone.DebugProgram{ProgramID: "prog-a", Token: "tok-a",
			TokenIssuedAt: t0, TokenExpiresAt: t0.Add(openzone.DebugTokenTTL)}))
		mustOK(t, s.DebugProgramPut(ctx, &openzone.DebugProgram{ProgramID: "prog-b", ReceiverURL: "http://r"}))
		id, err := s.DebugProgramByToken(ctx, "tok-a")
		mustOK(t, err)
		if id != "prog-a" {
			t.Fatalf("DebugProgramByToken = %q, want prog-a", id)
		}
		for _, tok := range []string{"tok-b", "", "TOK-A"} {
			_, err = s.DebugProgramByToken(ctx, tok)
			wantCode(t, err, openzone.ErrNotFound)
		}
		// A new credential replaces the old one: the old one names nothing.
		mustOK(t, s.DebugProgramPut(ctx, &openzone.DebugProgram{ProgramID: "prog-a", Token: "tok-a2",
			TokenIssuedAt: t0, TokenExpiresAt: t0.Add(openzone.DebugTokenTTL)}))
		_, err = s.DebugProgramByToken(ctx, "tok-a")
		wantCode(t, err, openzone.ErrNotFound)
	})
	t.Run("ErrNotFound", func(t *testing.T) {
		t.Parallel()
		s, _ := setup(t, open)
		ctx := t.Context()
		_, err := s.DebugProgramGet(ctx, "prog-a") // the program exists, its debug state does not
		wantCode(t, err, openzone.ErrNotFound)
		_, err = s.DebugProgramGet(ctx, "nope")
		wantCode(t, err, openzone.ErrNotFound)
		wantCode(t, s.DebugProgramPut(ctx, &openzone.DebugProgram{ProgramID: "nope", ReceiverURL: "http://r"}), openzone.ErrNotFound)
		_, err = s.DebugProgramGet(ctx, "nope")
		wantCode(t, err, openzone.ErrNotFound)
	})
}

func testDebugSession(t *testing.T, open func(*testing.T) store.Store) {
	key := func(b byte) []byte { return bytes.Repeat([]byte{b}, 32) }
	// session returns a fully set session of the fixture's app.
	session := func(f *fixture, programID string, ver int) *openzone.DebugSession {
		return &openzone.DebugSession{CorpID: f.app.CorpID, AgentID: f.app.AgentID, ProgramID: programID,
			Token: "dbg-token", AppHalf: true, AppOpenedAt: t0, SDKHalf: true, SDKOpenedAt: t0.Add(time.Second),
			SecretVer: ver, Secret: key(byte(ver))}
	}

	t.Run("RoundTrip", func(t *testing.T) {
		t.Parallel()
		tests := []struct {
			name string
			edit func(*openzone.DebugSession)
		}{
			{"AllSet", func(*openzone.DebugSession) {}},
			{"AppHalfOnly", func(d *openzone.DebugSession) {
				d.SDKHalf, d.SDKOpenedAt, d.SecretVer, d.Secret = false, time.Time{}, 0, nil
			}},
			{"SDKHalfOnly", func(d *openzone.DebugSession) { d.AppHalf, d.AppOpenedAt = false, time.Time{} }},
			{"Zero", func(d *openzone.DebugSession) {
				*d = openzone.DebugSession{CorpID: d.CorpID, AgentID: d.AgentID, ProgramID: d.ProgramID}
			}},
			{"EmptySecret", func(d *openzone.DebugSession) { d.SecretVer, d.Secret = 0, []byte{} }},
			{"BinarySecret", func(d *openzone.DebugSession) { d.Secret = []byte{0, 0xff, 0, 'x', 0} }},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				s, f := setup(t, open)
				ctx := t.Context()
				d := session(f, "prog-a", 3)
				tc.edit(d)
				mustOK(t, s.DebugSessionPut(ctx, d))
				got, err := s.DebugSessionGet(ctx, store.DebugSessionGetParams{CorpID: d.CorpID, AgentID: d.AgentID, ProgramID: d.ProgramID})
				mustOK(t, err)
				wantEqual(t, got, storedDebugSession(*d))
				if (got.Secret == nil) != (len(d.Secret) == 0) {
					t.Fatalf("Secret = %#v, put %#v: want nil exactly when none", got.Secret, d.Secret)
				}
			})
		}
	})
	t.Run("PutReplaces", func(t *testing.T) {
		t.Parallel()
		s, f := setup(t, open)
		ctx := t.Context()
		mustOK(t, s.DebugSessionPut(ctx, session(f, "prog-a", 3)))
		// Closing the SDK half drops the secret; every field is replaced.
		want := &openzone.DebugSession{CorpID: f.app.CorpID, AgentID: f.app.AgentID, ProgramID: "prog-a",
			Token: "new-token", AppHalf: true, AppOpenedAt: t0.Add(time.Minute)}
		mustOK(t, s.DebugSessionPut(ctx, want))
		got, err := s.DebugSessionGet(ctx, store.DebugSessionGetParams{CorpID: want.CorpID, AgentID: want.AgentID, ProgramID: want.ProgramID})
		mustOK(t, err)
		wantEqual(t, got, storedDebugSession(*want))
		_, err = s.DebugSessionBySecretVer(ctx, "prog-a", 3)
		wantCode(t, err, openzone.ErrNotFound)
		// The freed version can be taken by the next secret.
		mustOK(t, s.DebugSessionPut(ctx, session(f, "prog-a", 3)))
	})
	t.Run("List", func(t *testing.T) {
		t.Parallel()
		s, f := setup(t, open)
		ctx := t.Context()
		got, err := s.DebugSessionList(ctx, "prog-a")
		mustOK(t, err)
		wantEqual(t, len(got), 0)

		mustOK(t, s.CorpUpsert(ctx, &openzone.Corp{CorpID: "wwa"}))
		for _, a := range []*openzone.App{
			{CorpID: "wwa", AgentID: 9, Type: openzone.AppSelfBuilt},
			{CorpID: "wwcorp", AgentID: 5, Type: openzone.AppSelfBuilt},
			{CorpID: "wwcorp", AgentID: 20, Type: openzone.AppSelfBuilt},
		} {
			mustOK(t, s.AppUpsert(ctx, a))
		}
		// Inserted out of order; agent ids sort as numbers, not text.
		var want []*openzone.DebugSession
		for i, k := range []struct {
			corp  string
			agent int64
		}{{"wwcorp", 20}, {"wwcorp", f.app.AgentID}, {"wwa", 9}, {"wwcorp", 5}} {
			d := &openzone.DebugSession{CorpID: k.corp, AgentID: k.agent, ProgramID: "prog-a",
				Token: fmt.Sprint("tok-", i), AppHalf: true, AppOpenedAt: t0}
			mustOK(t, s.DebugSessionPut(ctx, d))
			want = append(want, storedDebugSession(*d))
		}
		// The fixture's app also debugs prog-b: not listed under prog-a.
		mustOK(t, s.DebugSessionPut(ctx, session(f, "prog-b", 1)))

		got, err = s.DebugSessionList(ctx, "prog-a")
		mustOK(t, err)
		wantEqual(t, got, []*openzone.DebugSession{want[2], want[3], want[0], want[1]})
		got, err = s.DebugSessionList(ctx, "prog-b")
		mustOK(t, err)
		wantEqual(t, got, []*openzone.DebugSession{storedDebugSession(*session(f, "prog-b", 1))})
		got, err = s.DebugSessionList(ctx, "nope")
		mustOK(t, err)
		wantEqual(t, len(got), 0)
	})
	t.Run("BySecretVer", func(t *testing.T) {
		t.Parallel()
		s, f := setup(t, open)
		ctx := t.Context()
		mustOK(t, s.AppUpsert(ctx, &openzone.App{CorpID: "wwcorp", AgentID: 5, Type: openzone.AppSelfBuilt}))
		mustOK(t, s.AppUpsert(ctx, &openzone.App{CorpID: "wwcorp", AgentID: 6, Type: openzone.AppSelfBuilt}))
		a := session(f, "prog-a", 7)
		b := session(f, "prog-a", 8)
		b.AgentID = 5
		other := session(f, "prog-b", 9)
		noSecret := &openzone.DebugSession{CorpID: "wwcorp", AgentID: 6, ProgramID: "prog-a", AppHalf: true}
		for _, d := range []*openzone.DebugSession{a, b, other, noSecret} {
			mustOK(t, s.DebugSessionPut(ctx, d))
		}
		got, err := s.DebugSessionBySecretVer(ctx, "prog-a", 7)
		mustOK(t, err)
		wantEqual(t, got, storedDebugSession(*a))
		got, err = s.DebugSessionBySecretVer(ctx, "prog-a", 8)
		mustOK(t, err)
		wantEqual(t, got, storedDebugSession(*b))

		for _, tc := range []struct {
			name string
			prog string
			ver  int
		}{
			{"UnknownVer", "prog-a", 1},
			{"OtherProgramsVer", "prog-a", 9},
			{"UnknownProgram", "nope", 7},
			{"ZeroMeansNoSecret", "prog-a", 0},
		} {
			_, err := s.DebugSessionBySecretVer(ctx, tc.prog, tc.ver)
			if openzone.ErrorCode(err) != openzone.ErrNotFound {
				t.Errorf("%s: ErrorCode = %d (err %v), want %d", tc.name, openzone.ErrorCode(err), err, openzone.ErrNotFound)
			}
		}
	})
	t.Run("ErrConflictSecretVer", func(t *testing.T) {
		t.Parallel()
		s, f := setup(t, open)
		ctx := t.Context()
		for _, ag := range []int64{5, 6, 7} {
			mustOK(t, s.AppUpsert(ctx, &openzone.App{CorpID: "wwcorp", AgentID: ag, Type: openzone.AppSelfBuilt}))
		}
		first := session(f, "prog-a", 4)
		mustOK(t, s.DebugSessionPut(ctx, first))

		// A new session taking the version fails and leaves nothing.
		dup := session(f, "prog-a", 4)
		dup.AgentID = 5
		wantCode(t, s.DebugSessionPut(ctx, dup), openzone.ErrConflict)
		_, err := s.DebugSessionGet(ctx, store.DebugSessionGetParams{CorpID: "wwcorp", AgentID: 5, ProgramID: "prog-a"})
		wantCode(t, err, openzone.ErrNotFound)

		// An existing session moving onto it fails and keeps its fields.
		moved := session(f, "prog-a", 5)
		moved.AgentID = 6
		mustOK(t, s.DebugSessionPut(ctx, moved))
		clash := *moved
		clash.SecretVer, clash.Token = 4, "changed"
		wantCode(t, s.DebugSessionPut(ctx, &clash), openzone.ErrConflict)
		got, err := s.DebugSessionGet(ctx, store.DebugSessionGetParams{CorpID: "wwcorp", AgentID: 6, ProgramID: "prog-a"})
		mustOK(t, err)
		wantEqual(t, got, storedDebugSession(*moved))

		// The holder itself may put the version again.
		mustOK(t, s.DebugSessionPut(ctx, first))
		// The same version in another program is fine.
		mustOK(t, s.DebugSessionPut(ctx, session(f, "prog-b", 4)))
		// Sessions without a secret (version 0) never clash.
		for _, ag := range []int64{5, 7} {
			mustOK(t, s.DebugSessionPut(ctx, &openzone.DebugSession{CorpID: "wwcorp", AgentID: ag, ProgramID: "prog-a"}))
		}
		got, err = s.DebugSessionBySecretVer(ctx, "prog-a", 4)
		mustOK(t, err)
		wantEqual(t, got, storedDebugSession(*first))
	})
	t.Run("ErrNotFound", func(t *testing.T) {
		t.Parallel()
		s, f := setup(t, open)
		ctx := t.Context()
		_, err := s.DebugSessionGet(ctx, store.DebugSessionGetParams{CorpID: f.app.CorpID, AgentID: f.app.AgentID, ProgramID: "prog-a"})
		wantCode(t, err, openzone.ErrNotFound)
		mustOK(t, s.DebugSessionPut(ctx, session(f, "prog-a", 1)))
		for _, tc := range []struct {
			name  string
			corp  string
			agent int64
			prog  string
		}{
			{"OtherProgram", f.app.CorpID, f.app.AgentID, "prog-b"},
			{"OtherAgent", f.app.CorpID, 1, "prog-a"},
			{"OtherCorp", "nope", f.app.AgentID, "prog-a"},
		} {
			_, err := s.DebugSessionGet(ctx, store.DebugSessionGetParams{CorpID: tc.corp, AgentID: tc.agent, ProgramID: tc.prog})
			if openzone.ErrorCode(err) != openzone.ErrNotFound {
				t.Errorf("Get %s: ErrorCode = %d (err %v), want %d", tc.name, openzone.ErrorCode(err), err, openzone.ErrNotFound)
			}
		}
		// Every parent must exist.
		for _, tc := range []struct {
			name string
			edit func(*openzone.DebugSession)
		}{
			{"UnknownApp", func(d *openzone.DebugSession) { d.AgentID = 1 }},
			{"UnknownCorp", func(d *openzone.DebugSession) { d.CorpID = "nope" }},
			{"UnknownProgram", func(d *openzone.DebugSession) { d.ProgramID = "nope" }},
		} {
			d := session(f, "prog-b", 2)
			tc.edit(d)
			if err := s.DebugSessionPut(ctx, d); openzone.ErrorCode(err) != openzone.ErrNotFound {
				t.Errorf("Put %s: ErrorCode = %d (err %v), want %d", tc.name, openzone.ErrorCode(err), err, openzone.ErrNotFound)
			}
		}
		got, err := s.DebugSessionList(ctx, "prog-b")
		mustOK(t, err)
		wantEqual(t, len(got), 0)
	})
}

func testNotification(t *testing.T, open func(*testing.T) store.Store) {
	t.Run("RoundTrip", func(t *testing.T) {
		t.Parallel()
		// No foreign keys: an empty store takes notifications for unknown
		// providers and programs.
		s, ctx := open(t), t.Context()
		tests := []openzone.Notification{
			{ProviderID: "isv", ProgramID: "prog-a", Kind: "debug_token", Title: "调试凭证", Body: "token issued\nline 2", CreatedAt: t0},
			{ProviderID: "isv", Kind: "bare", CreatedAt: t0.Add(time.Second)},
		}
		seen := map[int64]bool{}
		for _, want := range tests {
			n := want
			mustOK(t, s.NotificationInsert(ctx, &n))
			if n.ID == 0 || seen[n.ID] {
				t.Fatalf("NotificationInsert set ID %d (seen before: %v)", n.ID, seen[n.ID])
			}
			seen[n.ID] = true
			got, err := s.NotificationList(ctx, "isv", 1)
			mustOK(t, err)
			want.ID, want.CreatedAt = n.ID, ms(want.CreatedAt)
			wantEqual(t, got, []*openzone.Notification{&want})
		}
	})
	t.Run("List", func(t *testing.T) {
		t.Parallel()
		s, ctx := open(t), t.Context()
		got, err := s.NotificationList(ctx, "", 0)
		mustOK(t, err)
		wantEqual(t, len(got), 0)
		// Inserted out of time order; "tie-a" and "tie-b" share a time and
		// come newest id first.
		for _, n := range []struct {
			title, provider string
			at              time.Duration
		}{
			{"n2", "isv", 2 * time.Second},
			{"n1", "isv", 1 * time.Second},
			{"tie-a", "other", 3 * time.Second},
			{"tie-b", "isv", 3 * time.Second},
			{"n4", "other", 4 * time.Second},
		} {
			mustOK(t, s.NotificationInsert(ctx, &openzone.Notification{ProviderID: n.provider, Kind: "k", Title: n.title, CreatedAt: t0.Add(n.at)}))
		}
		tests := []struct {
			name     string
			provider string
			limit    int
			want     []string
		}{
			{"All", "", 0, []string{"n4", "tie-b", "tie-a", "n2", "n1"}},
			{"Provider", "isv", 0, []string{"tie-b", "n2", "n1"}},
			{"OtherProvider", "other", 0, []string{"n4", "tie-a"}},
			{"Limit", "", 2, []string{"n4", "tie-b"}},
			{"ProviderLimit", "isv", 1, []string{"tie-b"}},
			{"UnknownProvider", "nope", 0, []string{}},
		}
		for _, tc := range tests {
			got, err := s.NotificationList(ctx, tc.provider, tc.limit)
			mustOK(t, err)
			if titles := ids(got, func(n *openzone.Notification) string { return n.Title }); !reflect.DeepEqual(titles, tc.want) {
				t.Errorf("%s: got %q, want %q", tc.name, titles, tc.want)
			}
		}
	})
	t.Run("ListLimits", func(t *testing.T) {
		t.Parallel()
		s, ctx := open(t), t.Context()
		mustOK(t, s.InTx(ctx, func(e store.Executor) error {
			for i := range 1005 {
				if err := e.NotificationInsert(ctx, &openzone.Notification{ProviderID: "isv", Kind: "k",
					CreatedAt: t0.Add(time.Duration(i) * time.Millisecond)}); err != nil {
					return err
				}
			}
			return nil
		}))
		for _, provider := range []string{"", "isv"} {
			for _, tc := range []struct{ limit, want int }{{0, 100}, {-1, 100}, {7, 7}, {1000, 1000}, {1001, 1000}, {5000, 1000}} {
				got, err := s.NotificationList(ctx, provider, tc.limit)
				mustOK(t, err)
				if len(got) != tc.want {
					t.Errorf("provider %q limit %d: got %d notifications, want %d", provider, tc.limit, len(got), tc.want)
				}
			}
		}
	})
	t.Run("Rollback", func(t *testing.T) {
		t.Parallel()
		s, ctx := open(t), t.Context()
		errStop := errors.New("stop")
		err := s.InTx(ctx, func(e store.Executor) error {
			mustOK(t, e.NotificationInsert(ctx, &openzone.Notification{ProviderID: "isv", Kind: "k", CreatedAt: t0}))
			got, err := e.NotificationList(ctx, "isv", 0)
			mustOK(t, err)
			wantEqual(t, len(got), 1) // a transaction reads its own insert
			return errStop
		})
		if !errors.Is(err, errStop) {
			t.Fatalf("InTx err = %v, want the error fn returned", err)
		}
		got, err := s.NotificationList(ctx, "", 0)
		mustOK(t, err)
		wantEqual(t, len(got), 0)
	})
}
