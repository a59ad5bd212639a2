// Package storetest is the conformance suite every store driver runs, so
// SQLite and PostgreSQL behave alike. Extend it before changing a driver.
// It asserts on openzone.ErrorCode, never on error text.
package storetest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/openzone/openzone"
	"github.com/openzone/openzone/internal/store"
)

// Run runs the suite. open must return a fresh, empty store of its own and
// close it when t ends (t.Cleanup); every subtest runs in parallel.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	groups := []struct {
		name string
		fn   func(*testing.T, func(*testing.T) store.Store)
	}{
		{"Provider", testProvider},
		{"Corp", testCorp},
		{"App", testApp},
		{"AppPrograms", testAppPrograms},
		{"Program", testProgram},
		{"ProgramSecret", testProgramSecret},
		{"Token", testToken},
		{"Replay", testReplay},
		{"Traffic", testTraffic},
		{"DebugProgram", testDebugProgram},
		{"DebugSession", testDebugSession},
		{"DebugListener", testDebugListener},
		{"Notification", testNotification},
		{"Chat", testChat},
		{"Message", testMessage},
		{"Agree", testAgree},
		{"AppPublicKey", testAppPublicKey},
		{"KeywordRule", testKeywordRule},
		{"KeywordHit", testKeywordHit},
		{"EventToken", testEventToken},
		{"Event", testEvent},
		{"Notify", testNotify},
		{"Task", testTask},
		{"ProgramLog", testProgramLog},
		{"HideConfig", testHideConfig},
		{"Media", testMedia},
		{"Knowledge", testKnowledge},
		{"Tx", testTx},
		{"SecretsAtRest", testSecretsAtRest},
		{"Audit", testAudit},
		{"Quota", testQuota},
		{"TagGroup", testTagGroup},
		{"WWModel", testWWModel},
	}
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) {
			t.Parallel()
			g.fn(t, open)
		})
	}
}

// MustOpen opens a store of a driver with open (its Open and a path or
// URL) and closes it when tb ends: the drivers' tests share it.
func MustOpen[DB store.Store](tb testing.TB, open func(context.Context, string) (DB, error), where string) DB {
	tb.Helper()
	db, err := open(context.Background(), where)
	if err != nil {
		tb.Fatalf("Open: %v", err)
	}
	tb.Cleanup(func() {
		if err := db.Close(); err != nil {
			tb.Errorf("Close: %v", err)
		}
	})
	return db
}

// t0 has sub-millisecond digits on purpose: stores keep milliseconds.
var t0 = time.Date(2026, 3, 14, 15, 9, 26, 535_897_932, time.UTC)

func mustOK(tb testing.TB, err error) {
	tb.Helper()
	if err != nil {
		tb.Fatalf("err = %v, want nil", err)
	}
}

func wantCode(tb testing.TB, err error, code int) {
	tb.Helper()
	if got := openzone.ErrorCode(err); got != code {
		tb.Fatalf("ErrorCode = %d (err %v), want %d", got, err, code)
	}
}

func wantEqual[T any](tb testing.TB, got, want T) {
	tb.Helper()
	if !reflect.DeepEqual(got, want) {
		tb.Fatalf("got  %s\nwant %s", dump(got), dump(want))
	}
}

func dump(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprintf("%+v", v)
	}
	return string(b)
}

func wantTime(tb testing.TB, name string, got, want time.Time) {
	tb.Helper()
	if want = want.Truncate(time.Millisecond); !got.Equal(want) {
		tb.Fatalf("%s = %v, want %v (millisecond precision)", name, got, want)
	}
}

// fixture is the parents most tests need.
type fixture struct {
	provider *openzone.Provider
	corp     *openzone.Corp
	progA    *openzone.Program
	progB    *openzone.Program
	app      *openzone.App
}

// setup opens a fresh store and fills it with a fixture.
func setup(t *testing.T, open func(*testing.T) store.Store) (store.Store, *fixture) {
	t.Helper()
	s := open(t)
	ctx := t.Context()
	f := &fixture{
		provider: &openzone.Provider{ID: "isv", Name: "ISV", TestCorps: []string{"wwcorp"}},
		corp:     &openzone.Corp{CorpID: "wwcorp", Name: "Corp"},
		progA:    &openzone.Program{ID: "prog-a", ProviderID: "isv", Kind: openzone.KindProgram, Name: "A"},
		progB:    &openzone.Program{ID: "prog-b", ProviderID: "isv", Kind: openzone.KindModel, Name: "B"},
		app: &openzone.App{CorpID: "wwcorp", AgentID: 1000002, Type: openzone.AppCustom, ProviderID: "isv",
			Secret: "secret-1", ZonePermission: true},
	}
	mustOK(t, s.ProviderUpsert(ctx, f.provider))
	mustOK(t, s.CorpUpsert(ctx, f.corp))
	mustOK(t, s.ProgramUpsert(ctx, f.progA))
	mustOK(t, s.ProgramUpsert(ctx, f.progB))
	mustOK(t, s.AppUpsert(ctx, f.app))
	return s, f
}

func testProvider(t *testing.T, open func(*testing.T) store.Store) {
	t.Run("RoundTrip", func(t *testing.T) {
		t.Parallel()
		s, ctx := open(t), t.Context()
		want := &openzone.Provider{ID: "isv", Name: "Demo ISV", TestCorps: []string{"wwb", "wwa"}}
		mustOK(t, s.ProviderUpsert(ctx, want))
		got, err := s.ProviderGet(ctx, "isv")
		mustOK(t, err)
		wantEqual(t, got, want)
	})
	t.Run("UpsertReplaces", func(t *testing.T) {
		t.Parallel()
		s, ctx := open(t), t.Context()
		mustOK(t, s.ProviderUpsert(ctx, &openzone.Provider{ID: "isv", Name: "Old", TestCorps: []string{"wwa"}}))
		mustOK(t, s.ProviderUpsert(ctx, &openzone.Provider{ID: "isv", Name: "New"}))
		got, err := s.ProviderGet(ctx, "isv")
		mustOK(t, err)
		if got.Name != "New" || len(got.TestCorps) != 0 {
			t.Fatalf("got %s, want name New and no test corps", dump(got))
		}
	})
	t.Run("ErrNotFound", func(t *testing.T) {
		t.Parallel()
		_, err := open(t).ProviderGet(t.Context(), "nope")
		wantCode(t, err, openzone.ErrNotFound)
	})
	t.Run("List", func(t *testing.T) {
		t.Parallel()
		s, ctx := open(t), t.Context()
		got, err := s.ProviderList(ctx)
		mustOK(t, err)
		if len(got) != 0 {
			t.Fatalf("empty store lists %d providers", len(got))
		}
		for _, id := range []string{"c", "a", "b"} {
			mustOK(t, s.ProviderUpsert(ctx, &openzone.Provider{ID: id, Name: id}))
		}
		got, err = s.ProviderList(ctx)
		mustOK(t, err)
		wantEqual(t, ids(got, func(p *openzone.Provider) string { return p.ID }), []string{"a", "b", "c"})
	})
}

func ids[T any](vs []T, id func(T) string) []string {
	out := []string{}
	for _, v := range vs {
		out = append(out, id(v))
	}
	return out
}

func testCorp(t *testing.T, open func(*testing.T) store.Store) {
	t.Run("RoundTrip", func(t *testing.T) {
		t.Parallel()
		s, ctx := open(t), t.Context()
		want := &openzone.Corp{CorpID: "wwcorp", Name: "Demo Corp", RetentionDays: 365}
		mustOK(t, s.CorpUpsert(ctx, want))
		got, err := s.CorpGet(ctx, "wwcorp")
		mustOK(t, err)
		wantEqual(t, got, want)

		// Zero retention means the default, 90 days.
		mustOK(t, s.CorpUpsert(ctx, &openzone.Corp{CorpID: "wwcorp", Name: "Renamed"}))
		got, err = s.CorpGet(ctx, "wwcorp")
		mustOK(t, err)
		wantEqual(t, got, &openzone.Corp{CorpID: "wwcorp", Name: "Renamed", RetentionDays: openzone.DefaultRetentionDays})
	})
	t.Run("ErrNotFound", func(t *testing.T) {
		t.Parallel()
		_, err := open(t).CorpGet(t.Context(), "nope")
		wantCode(t, err, openzone.ErrNotFound)
	})
	t.Run("List", func(t *testing.T) {
		t.Parallel()
		s, ctx := open(t), t.Context()
		for _, id := range []string{"wwb", "wwa"} {
			mustOK(t, s.CorpUpsert(ctx, &openzone.Corp{CorpID: id, Name: id}))
		}
		got, err := s.CorpList(ctx)
		mustOK(t, err)
		wantEqual(t, got, []*openzone.Corp{{CorpID: "wwa", Name: "wwa", RetentionDays: 90}, {CorpID: "wwb", Name: "wwb", RetentionDays: 90}})
	})
	t.Run("Member", func(t *testing.T) {
		t.Parallel()
		s, ctx := open(t), t.Context()
		mustOK(t, s.CorpUpsert(ctx, &openzone.Corp{CorpID: "wwa"}))
		mustOK(t, s.CorpUpsert(ctx, &openzone.Corp{CorpID: "wwb"}))
		mustOK(t, s.MemberUpsert(ctx, &openzone.Member{CorpID: "wwa", UserID: "lisi", Name: "Li"}))
		mustOK(t, s.MemberUpsert(ctx, &openzone.Member{CorpID: "wwa", UserID: "zhangsan", Name: "Zhang"}))
		mustOK(t, s.MemberUpsert(ctx, &openzone.Member{CorpID: "wwa", UserID: "lisi", Name: "Li Si"}))
		mustOK(t, s.MemberUpsert(ctx, &openzone.Member{CorpID: "wwb", UserID: "wangwu", Name: "Wang"}))
		got, err := s.MemberList(ctx, "wwa")
		mustOK(t, err)
		wantEqual(t, got, []*openzone.Member{
			{CorpID: "wwa", UserID: "lisi", Name: "Li Si"},
			{CorpID: "wwa", UserID: "zhangsan", Name: "Zhang"},
		})
		got, err = s.MemberList(ctx, "nope")
		mustOK(t, err)
		wantEqual(t, len(got), 0)
		wantCode(t, s.MemberUpsert(ctx, &openzone.Member{CorpID: "nope", UserID: "x"}), openzone.ErrNotFound)
	})
	t.Run("ExternalContact", func(t *testing.T) {
		t.Parallel()
		s, ctx := open(t), t.Context()
		mustOK(t, s.CorpUpsert(ctx, &openzone.Corp{CorpID: "wwa"}))
		mustOK(t, s.CorpUpsert(ctx, &openzone.Corp{CorpID: "wwb"}))
		mustOK(t, s.ExternalContactUpsert(ctx, &openzone.ExternalContact{CorpID: "wwa", ExternalUserID: "wm2", Name: "Two"}))
		mustOK(t, s.ExternalContactUpsert(ctx, &openzone.ExternalContact{CorpID: "wwa", ExternalUserID: "wm1", Name: "One"}))
		mustOK(t, s.ExternalContactUpsert(ctx, &openzone.ExternalContact{CorpID: "wwa", ExternalUserID: "wm2", Name: "Deux"}))
		mustOK(t, s.ExternalContactUpsert(ctx, &openzone.ExternalContact{CorpID: "wwb", ExternalUserID: "wm3"}))
		got, err := s.ExternalContactList(ctx, "wwa")
		mustOK(t, err)
		wantEqual(t, got, []*openzone.ExternalContact{
			{CorpID: "wwa", ExternalUserID: "wm1", Name: "One"},
			{CorpID: "wwa", ExternalUserID: "wm2", Name: "Deux"},
		})
		wantCode(t, s.ExternalContactUpsert(ctx, &openzone.ExternalContact{CorpID: "nope", ExternalUserID: "x"}), openzone.ErrNotFound)
	})
}

func testApp(t *testing.T, open func(*testing.T) store.Store) {
	t.Run("RoundTrip", func(t *testing.T) {
		t.Parallel()
		tests := []struct {
			name string
			app  openzone.App
		}{
			{"AllSet", openzone.App{
				CorpID: "wwcorp", AgentID: 1000003, Type: openzone.AppThirdParty, ProviderID: "isv",
				Secret: "s3", TestInstall: true, ZonePermission: true,
				Callback: openzone.Callback{URL: "http://127.0.0.1:9000/cb", Token: "T", EncodingAESKey: "k43"},
			}},
			{"Zero", openzone.App{CorpID: "wwcorp", AgentID: 1000004, Type: openzone.AppSelfBuilt}},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				s, _ := setup(t, open)
				ctx := t.Context()
				mustOK(t, s.AppUpsert(ctx, &tc.app))
				got, err := s.AppGet(ctx, tc.app.CorpID, tc.app.AgentID)
				mustOK(t, err)
				wantEqual(t, *got, tc.app)
			})
		}
	})
	t.Run("UpsertKeepsReceiveProgram", func(t *testing.T) {
		t.Parallel()
		s, f := setup(t, open)
		ctx := t.Context()
		// ReceiveProgramID on the argument is ignored: only
		// AppSetReceiveProgram sets it.
		a := *f.app
		a.ReceiveProgramID = "prog-b"
		mustOK(t, s.AppUpsert(ctx, &a))
		got, err := s.AppGet(ctx, a.CorpID, a.AgentID)
		mustOK(t, err)
		wantEqual(t, got.ReceiveProgramID, "")

		mustOK(t, s.AppSetReceiveProgram(ctx, store.AppSetReceiveProgramParams{CorpID: a.CorpID, AgentID: a.AgentID, ProgramID: "prog-a"}))
		a.Secret, a.ZonePermission, a.ReceiveProgramID = "secret-2", false, ""
		mustOK(t, s.AppUpsert(ctx, &a))
		got, err = s.AppGet(ctx, a.CorpID, a.AgentID)
		mustOK(t, err)
		a.ReceiveProgramID = "prog-a"
		wantEqual(t, *got, a)
	})
	t.Run("SetReceiveProgram", func(t *testing.T) {
		t.Parallel()
		s, f := setup(t, open)
		ctx := t.Context()
		a := f.app
		mustOK(t, s.AppSetReceiveProgram(ctx, store.AppSetReceiveProgramParams{CorpID: a.CorpID, AgentID: a.AgentID, ProgramID: "prog-b"}))
		got, err := s.AppGet(ctx, a.CorpID, a.AgentID)
		mustOK(t, err)
		wantEqual(t, got.ReceiveProgramID, "prog-b")

		wantCode(t, s.AppSetReceiveProgram(ctx, store.AppSetReceiveProgramParams{CorpID: a.CorpID, AgentID: 1, ProgramID: "prog-b"}), openzone.ErrNotFound)
		wantCode(t, s.AppSetReceiveProgram(ctx, store.AppSetReceiveProgramParams{CorpID: a.CorpID, AgentID: a.AgentID, ProgramID: "nope"}), openzone.ErrNotFound)

		mustOK(t, s.AppSetReceiveProgram(ctx, store.AppSetReceiveProgramParams{CorpID: a.CorpID, AgentID: a.AgentID, ProgramID: ""}))
		got, err = s.AppGet(ctx, a.CorpID, a.AgentID)
		mustOK(t, err)
		wantEqual(t, got.ReceiveProgramID, "")
	})
	t.Run("FindBySecret", func(t *testing.T) {
		t.Parallel()
		s, f := setup(t, open)
		ctx := t.Context()
		mustOK(t, s.CorpUpsert(ctx, &openzone.Corp{CorpID: "wwother"}))
		// The same secret in another corp is a different app.
		other := &openzone.App{CorpID: "wwother", AgentID: f.app.AgentID, Type: openzone.AppSelfBuilt, Secret: f.app.Secret}
		mustOK(t, s.AppUpsert(ctx, other))

		got, err := s.AppFindBySecret(ctx, "wwcorp", f.app.Secret)
		mustOK(t, err)
		wantEqual(t, got, f.app)
		got, err = s.AppFindBySecret(ctx, "wwother", f.app.Secret)
		mustOK(t, err)
		wantEqual(t, got, other)

		for _, tc := range []struct{ name, corp, secret string }{
			{"WrongSecret", "wwcorp", "wrong"},
			{"EmptySecret", "wwcorp", ""},
			{"UnknownCorp", "nope", f.app.Secret},
		} {
			_, err := s.AppFindBySecret(ctx, tc.corp, tc.secret)
			if openzone.ErrorCode(err) != openzone.ErrNotFound {
				t.Errorf("%s: ErrorCode = %d (err %v), want %d", tc.name, openzone.ErrorCode(err), err, openzone.ErrNotFound)
			}
		}
	})
	t.Run("ErrConflictSecret", func(t *testing.T) {
		t.Parallel()
		s, f := setup(t, open)
		ctx := t.Context()
		dup := &openzone.App{CorpID: "wwcorp", AgentID: 7, Type: openzone.AppSelfBuilt, Secret: f.app.Secret}
		wantCode(t, s.AppUpsert(ctx, dup), openzone.ErrConflict)
		// Apps without a secret do not clash.
		mustOK(t, s.AppUpsert(ctx, &openzone.App{CorpID: "wwcorp", AgentID: 8, Type: openzone.AppThirdParty}))
		mustOK(t, s.AppUpsert(ctx, &openzone.App{CorpID: "wwcorp", AgentID: 9, Type: openzone.AppThirdParty}))
	})
	t.Run("ErrNotFound", func(t *testing.T) {
		t.Parallel()
		s, f := setup(t, open)
		ctx := t.Context()
		_, err := s.AppGet(ctx, "wwcorp", 1)
		wantCode(t, err, openzone.ErrNotFound)
		a := *f.app
		a.CorpID = "nope"
		wantCode(t, s.AppUpsert(ctx, &a), openzone.ErrNotFound)
		a = *f.app
		a.AgentID, a.Secret, a.ProviderID = 5, "s5", "nope"
		wantCode(t, s.AppUpsert(ctx, &a), openzone.ErrNotFound)
	})
	t.Run("List", func(t *testing.T) {
		t.Parallel()
		s, f := setup(t, open)
		ctx := t.Context()
		mustOK(t, s.AppUpsert(ctx, &openzone.App{CorpID: "wwcorp", AgentID: 5, Type: openzone.AppSelfBuilt, Secret: "s5"}))
		got, err := s.AppList(ctx, "wwcorp")
		mustOK(t, err)
		wantEqual(t, len(got), 2)
		wantEqual(t, got[0].AgentID, int64(5))
		wantEqual(t, got[1], f.app)
		got, err = s.AppList(ctx, "nope")
		mustOK(t, err)
		wantEqual(t, len(got), 0)
	})
}

func testAppPrograms(t *testing.T, open func(*testing.T) store.Store) {
	t.Run("SetReplaces", func(t *testing.T) {
		t.Parallel()
		s, f := setup(t, open)
		ctx := t.Context()
		a := f.app
		tests := []struct {
			name string
			set  []string
			want []string
		}{
			{"Two", []string{"prog-b", "prog-a"}, []string{"prog-a", "prog-b"}},
			{"Replace", []string{"prog-b"}, []string{"prog-b"}},
			{"Duplicates", []string{"prog-a", "prog-a"}, []string{"prog-a"}},
			{"Clear", nil, []string{}},
		}
		for _, tc := range tests {
			mustOK(t, s.AppProgramsSet(ctx, store.AppProgramsSetParams{CorpID: a.CorpID, AgentID: a.AgentID, ProgramIDs: tc.set}))
			got, err := s.AppProgramsList(ctx, a.CorpID, a.AgentID)
			mustOK(t, err)
			if len(got) == 0 {
				got = []string{}
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("%s: list = %q, want %q", tc.name, got, tc.want)
			}
			for _, id := range []string{"prog-a", "prog-b"} {
				has, err := s.AppProgramHas(ctx, store.AppProgramHasParams{CorpID: a.CorpID, AgentID: a.AgentID, ProgramID: id})
				mustOK(t, err)
				if want := contains(tc.want, id); has != want {
					t.Fatalf("%s: Has(%s) = %v, want %v", tc.name, id, has, want)
				}
			}
		}
	})
	t.Run("ErrNotFoundKeepsSet", func(t *testing.T) {
		t.Parallel()
		s, f := setup(t, open)
		ctx := t.Context()
		a := f.app
		mustOK(t, s.AppProgramsSet(ctx, store.AppProgramsSetParams{CorpID: a.CorpID, AgentID: a.AgentID, ProgramIDs: []string{"prog-a"}}))
		// An unknown program fails the whole call: the old set stays.
		wantCode(t, s.AppProgramsSet(ctx, store.AppProgramsSetParams{CorpID: a.CorpID, AgentID: a.AgentID, ProgramIDs: []string{"prog-b", "nope"}}), openzone.ErrNotFound)
		got, err := s.AppProgramsList(ctx, a.CorpID, a.AgentID)
		mustOK(t, err)
		wantEqual(t, got, []string{"prog-a"})

		wantCode(t, s.AppProgramsSet(ctx, store.AppProgramsSetParams{CorpID: a.CorpID, AgentID: 1, ProgramIDs: []string{"prog-a"}}), openzone.ErrNotFound)
		wantCode(t, s.AppProgramsSet(ctx, store.AppProgramsSetParams{CorpID: a.CorpID, AgentID: 1, ProgramIDs: nil}), openzone.ErrNotFound)
		has, err := s.AppProgramHas(ctx, store.AppProgramHasParams{CorpID: a.CorpID, AgentID: 1, ProgramID: "prog-a"})
		mustOK(t, err)
		wantEqual(t, has, false)
	})
}

func contains(ss []string, s string) bool {
	for _, v := range ss {
		if v == s {
			return true
		}
	}
	return false
}

func testProgram(t *testing.T, open func(*testing.T) store.Store) {
	t.Run("RoundTrip", func(t *testing.T) {
		t.Parallel()
		tests := []struct {
			name string
			prog openzone.Program
		}{
			{"Command", openzone.Program{
				ID: "prog-echo", ProviderID: "isv", Kind: openzone.KindProgram, Name: "Echo", Released: true,
				Deploy: openzone.Deploy{Command: []string{"./bin/zoneprogram", "--name", "deployed"}, Instances: 2},
				Abilities: []openzone.Ability{
					// Odd spacing and key order must come back byte for byte.
					{ID: "zeta", Name: "Zeta", Input: json.RawMessage(`{ "text" : "" ,"b":1}`), Output: json.RawMessage("{\n\t\"text\": \"\"\n}")},
					{ID: "alpha", Input: json.RawMessage(`[]`), Output: json.RawMessage(`{"served_by":"","text":"文本"}`)},
					{ID: "mid", Name: "Mid", Input: json.RawMessage(`{}`), Output: json.RawMessage(`null`)},
				},
			}},
			{"URL", openzone.Program{
				ID: "model-x", ProviderID: "isv", Kind: openzone.KindModel, Name: "Model",
				Deploy: openzone.Deploy{URL: "http://host:8080"},
			}},
			{"NotDeployed", openzone.Program{ID: "bare", Kind: openzone.KindProgram}},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				s, _ := setup(t, open)
				ctx := t.Context()
				mustOK(t, s.ProgramUpsert(ctx, &tc.prog))
				got, err := s.ProgramGet(ctx, tc.prog.ID)
				mustOK(t, err)
				wantEqual(t, *got, tc.prog)
				for i, a := range got.Abilities {
					if !bytes.Equal(a.Input, tc.prog.Abilities[i].Input) || !bytes.Equal(a.Output, tc.prog.Abilities[i].Output) {
						t.Fatalf("ability %s protocol bytes changed: %q %q", a.ID, a.Input, a.Output)
					}
				}
			})
		}
	})
	t.Run("UpsertReplacesAbilities", func(t *testing.T) {
		t.Parallel()
		s, _ := setup(t, open)
		ctx := t.Context()
		p := &openzone.Program{ID: "p", ProviderID: "isv", Kind: openzone.KindProgram, Name: "P",
			Abilities: []openzone.Ability{
				{ID: "a", Input: json.RawMessage(`{}`), Output: json.RawMessage(`{}`)},
				{ID: "b", Input: json.RawMessage(`{}`), Output: json.RawMessage(`{}`)},
			}}
		mustOK(t, s.ProgramUpsert(ctx, p))
		p.Name, p.Released = "P2", true
		p.Abilities = []openzone.Ability{{ID: "c", Input: json.RawMessage(`{"x":1}`), Output: json.RawMessage(`{}`)}}
		mustOK(t, s.ProgramUpsert(ctx, p))
		got, err := s.ProgramGet(ctx, "p")
		mustOK(t, err)
		wantEqual(t, got, p)
	})
	t.Run("UpsertKeepsSecretAndApps", func(t *testing.T) {
		t.Parallel()
		s, f := setup(t, open)
		ctx := t.Context()
		mustOK(t, s.ProgramSecretPut(ctx, &openzone.ProgramSecret{ProgramID: "prog-a", Ver: 1, Key: []byte("k")}))
		mustOK(t, s.AppProgramsSet(ctx, store.AppProgramsSetParams{CorpID: f.app.CorpID, AgentID: f.app.AgentID, ProgramIDs: []string{"prog-a"}}))
		mustOK(t, s.AppSetReceiveProgram(ctx, store.AppSetReceiveProgramParams{CorpID: f.app.CorpID, AgentID: f.app.AgentID, ProgramID: "prog-a"}))
		p := *f.progA
		p.Name = "Renamed"
		mustOK(t, s.ProgramUpsert(ctx, &p))

		_, err := s.ProgramSecretGet(ctx, "prog-a")
		mustOK(t, err)
		has, err := s.AppProgramHas(ctx, store.AppProgramHasParams{CorpID: f.app.CorpID, AgentID: f.app.AgentID, ProgramID: "prog-a"})
		mustOK(t, err)
		wantEqual(t, has, true)
		a, err := s.AppGet(ctx, f.app.CorpID, f.app.AgentID)
		mustOK(t, err)
		wantEqual(t, a.ReceiveProgramID, "prog-a")
	})
	t.Run("ErrConflictDuplicateAbility", func(t *testing.T) {
		t.Parallel()
		s, f := setup(t, open)
		ctx := t.Context()
		p := *f.progA
		p.Name = "Changed"
		p.Abilities = []openzone.Ability{{ID: "x", Input: json.RawMessage(`{}`)}, {ID: "x", Input: json.RawMessage(`{}`)}}
		wantCode(t, s.ProgramUpsert(ctx, &p), openzone.ErrConflict)
		got, err := s.ProgramGet(ctx, p.ID)
		mustOK(t, err)
		wantEqual(t, got, f.progA) // nothing of the failed upsert was kept
	})
	t.Run("ErrNotFound", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		ctx := t.Context()
		_, err := s.ProgramGet(ctx, "nope")
		wantCode(t, err, openzone.ErrNotFound)
		wantCode(t, s.ProgramUpsert(ctx, &openzone.Program{ID: "p", ProviderID: "nope", Kind: openzone.KindProgram}), openzone.ErrNotFound)
	})
	t.Run("List", func(t *testing.T) {
		t.Parallel()
		s, f := setup(t, open)
		ctx := t.Context()
		c := &openzone.Program{ID: "prog-c", ProviderID: "isv", Kind: openzone.KindProgram, Name: "C",
			Abilities: []openzone.Ability{
				{ID: "two", Input: json.RawMessage(`{}`), Output: json.RawMessage(`{}`)},
				{ID: "one", Input: json.RawMessage(`{}`), Output: json.RawMessage(`{}`)},
			}}
		mustOK(t, s.ProgramUpsert(ctx, c))
		got, err := s.ProgramList(ctx)
		mustOK(t, err)
		wantEqual(t, got, []*openzone.Program{f.progA, f.progB, c})
	})
}

func testProgramSecret(t *testing.T, open func(*testing.T) store.Store) {
	t.Run("Rotate", func(t *testing.T) {
		t.Parallel()
		s, _ := setup(t, open)
		ctx := t.Context()
		key := func(b byte) []byte { return bytes.Repeat([]byte{b}, 32) }
		steps := []struct {
			name    string
			ver     int
			code    int
			wantVer int
		}{
			{"First", 1, 0, 1},
			{"Higher", 3, 0, 3},
			{"Equal", 3, openzone.ErrConflict, 3},
			{"Lower", 2, openzone.ErrConflict, 3},
			{"HigherAgain", 4, 0, 4},
		}
		for _, st := range steps {
			err := s.ProgramSecretPut(ctx, &openzone.ProgramSecret{ProgramID: "prog-a", Ver: st.ver, Key: key(byte(st.ver))})
			if got := openzone.ErrorCode(err); got != st.code {
				t.Fatalf("%s: ErrorCode = %d (err %v), want %d", st.name, got, err, st.code)
			}
			got, err := s.ProgramSecretGet(ctx, "prog-a")
			mustOK(t, err)
			wantEqual(t, got, &openzone.ProgramSecret{ProgramID: "prog-a", Ver: st.wantVer, Key: key(byte(st.wantVer))})
		}
	})
	t.Run("ErrNotFound", func(t *testing.T) {
		t.Parallel()
		s, _ := setup(t, open)
		ctx := t.Context()
		_, err := s.ProgramSecretGet(ctx, "prog-b")
		wantCode(t, err, openzone.ErrNotFound)
		wantCode(t, s.ProgramSecretPut(ctx, &openzone.ProgramSecret{ProgramID: "nope", Ver: 1, Key: []byte("k")}), openzone.ErrNotFound)
	})
}

func testToken(t *testing.T, open func(*testing.T) store.Store) {
	t.Run("RoundTrip", func(t *testing.T) {
		t.Parallel()
		s, f := setup(t, open)
		ctx := t.Context()
		want := &openzone.AccessToken{Token: "tok", CorpID: f.app.CorpID, AgentID: f.app.AgentID, ExpiresAt: t0}
		mustOK(t, s.TokenInsert(ctx, want))
		got, err := s.TokenGet(ctx, "tok")
		mustOK(t, err)
		wantTime(t, "ExpiresAt", got.ExpiresAt, want.ExpiresAt)
		got.ExpiresAt = want.ExpiresAt
		wantEqual(t, got, want)
	})
	t.Run("Errors", func(t *testing.T) {
		t.Parallel()
		s, f := setup(t, open)
		ctx := t.Context()
		tok := &openzone.AccessToken{Token: "tok", CorpID: f.app.CorpID, AgentID: f.app.AgentID, ExpiresAt: t0}
		mustOK(t, s.TokenInsert(ctx, tok))
		wantCode(t, s.TokenInsert(ctx, tok), openzone.ErrConflict)
		_, err := s.TokenGet(ctx, "nope")
		wantCode(t, err, openzone.ErrNotFound)
		wantCode(t, s.TokenInsert(ctx, &openzone.AccessToken{Token: "t2", CorpID: f.app.CorpID, AgentID: 1, ExpiresAt: t0}), openzone.ErrNotFound)
	})
	t.Run("FindValid", func(t *testing.T) {
		t.Parallel()
		s, f := setup(t, open)
		ctx := t.Context()
		mustOK(t, s.AppUpsert(ctx, &openzone.App{CorpID: "wwcorp", AgentID: 5, Type: openzone.AppSelfBuilt, Secret: "s5"}))
		c, ag := f.app.CorpID, f.app.AgentID
		for _, tok := range []*openzone.AccessToken{
			{Token: "expired", CorpID: c, AgentID: ag, ExpiresAt: t0.Add(-time.Second)},
			{Token: "at-now", CorpID: c, AgentID: ag, ExpiresAt: t0},
			{Token: "newest", CorpID: c, AgentID: ag, ExpiresAt: t0.Add(2 * time.Hour)},
			{Token: "older", CorpID: c, AgentID: ag, ExpiresAt: t0.Add(time.Hour)},
			{Token: "other-app", CorpID: c, AgentID: 5, ExpiresAt: t0.Add(3 * time.Hour)},
		} {
			mustOK(t, s.TokenInsert(ctx, tok))
		}
		tests := []struct {
			name string
			now  time.Time
			want string // "" means ErrNotFound
		}{
			{"Newest", t0, "newest"},
			{"OlderExpired", t0.Add(90 * time.Minute), "newest"},
			{"AllExpired", t0.Add(2 * time.Hour), ""},
		}
		for _, tc := range tests {
			got, err := s.TokenFindValid(ctx, store.TokenFindValidParams{CorpID: c, AgentID: ag, Now: tc.now})
			if tc.want == "" {
				wantCode(t, err, openzone.ErrNotFound)
				continue
			}
			mustOK(t, err)
			if got.Token != tc.want {
				t.Fatalf("%s: token = %q, want %q", tc.name, got.Token, tc.want)
			}
		}
		// TokenGet still returns an expired token: callers tell 42001 from 40014.
		got, err := s.TokenGet(ctx, "expired")
		mustOK(t, err)
		wantTime(t, "ExpiresAt", got.ExpiresAt, t0.Add(-time.Second))
	})
	t.Run("Prune", func(t *testing.T) {
		t.Parallel()
		s, f := setup(t, open)
		ctx := t.Context()
		c, ag := f.app.CorpID, f.app.AgentID
		mustOK(t, s.TokenInsert(ctx, &openzone.AccessToken{Token: "old", CorpID: c, AgentID: ag, ExpiresAt: t0}))
		mustOK(t, s.TokenInsert(ctx, &openzone.AccessToken{Token: "live", CorpID: c, AgentID: ag, ExpiresAt: t0.Add(time.Second)}))
		mustOK(t, s.Prune(ctx, t0))
		_, err := s.TokenGet(ctx, "old")
		wantCode(t, err, openzone.ErrNotFound)
		_, err = s.TokenGet(ctx, "live")
		mustOK(t, err)
	})
}

func testReplay(t *testing.T, open func(*testing.T) store.Store) {
	t.Run("Remember", func(t *testing.T) {
		t.Parallel()
		s, ctx := open(t), t.Context()
		exp := t0.Add(300 * time.Second)
		steps := []struct {
			name         string
			scope, id    string
			now, expires time.Time
			want         bool
		}{
			{"First", "prog-a", "r1", t0, exp, true},
			{"Repeat", "prog-a", "r1", t0.Add(time.Second), exp, false},
			{"OtherScope", "prog-b", "r1", t0, exp, true},
			{"OtherID", "prog-a", "r2", t0, exp, true},
			{"JustBeforeExpiry", "prog-a", "r1", exp.Add(-time.Millisecond), exp.Add(time.Hour), false},
			{"AtExpiry", "prog-a", "r1", exp, exp.Add(300 * time.Second), true},
			{"RepeatAfterRevive", "prog-a", "r1", exp.Add(time.Second), exp.Add(300 * time.Second), false},
		}
		for _, st := range steps {
			got, err := s.ReplayRemember(ctx, store.ReplayRememberParams{Scope: st.scope, RequestID: st.id, Now: st.now, Expires: st.expires})
			mustOK(t, err)
			if got != st.want {
				t.Fatalf("%s: ReplayRemember = %v, want %v", st.name, got, st.want)
			}
		}
	})
	t.Run("Concurrent", func(t *testing.T) {
		t.Parallel()
		s, ctx := open(t), t.Context()
		const n = 8
		var wg sync.WaitGroup
		results := make([]bool, n)
		errs := make([]error, n)
		for i := range n {
			wg.Go(func() {
				results[i], errs[i] = s.ReplayRemember(ctx, store.ReplayRememberParams{Scope: "scope", RequestID: "same-id", Now: t0, Expires: t0.Add(time.Minute)})
			})
		}
		wg.Wait()
		mustOK(t, errors.Join(errs...))
		var won int
		for _, ok := range results {
			if ok {
				won++
			}
		}
		if won != 1 {
			t.Fatalf("%d of %d concurrent ReplayRemember calls returned true, want 1", won, n)
		}
	})
	t.Run("Prune", func(t *testing.T) {
		t.Parallel()
		s, ctx := open(t), t.Context()
		for _, id := range []string{"old", "live"} {
			exp := t0
			if id == "live" {
				exp = t0.Add(time.Minute)
			}
			ok, err := s.ReplayRemember(ctx, store.ReplayRememberParams{Scope: "sc", RequestID: id, Now: t0.Add(-time.Minute), Expires: exp})
			mustOK(t, err)
			wantEqual(t, ok, true)
		}
		mustOK(t, s.Prune(ctx, t0))
		// Asked with a "now" before its expiry, only a pruned id is new again.
		ok, err := s.ReplayRemember(ctx, store.ReplayRememberParams{Scope: "sc", RequestID: "old", Now: t0.Add(-time.Minute), Expires: t0})
		mustOK(t, err)
		wantEqual(t, ok, true)
		ok, err = s.ReplayRemember(ctx, store.ReplayRememberParams{Scope: "sc", RequestID: "live", Now: t0.Add(-time.Minute), Expires: t0})
		mustOK(t, err)
		wantEqual(t, ok, false)
	})
}

func testTraffic(t *testing.T, open func(*testing.T) store.Store) {
	t.Run("RoundTrip", func(t *testing.T) {
		t.Parallel()
		s, ctx := open(t), t.Context()
		want := &openzone.TrafficRecord{
			Kind: openzone.TrafficInvoke, Route: openzone.RouteDebug, CorpID: "wwcorp", AgentID: 1000002,
			ProgramID: "prog-a", AbilityID: "echo", Interface: "sync_msg", RequestID: "req-1", Instance: "i-1",
			Errcode: 710675, Errmsg: "timeout", Request: `{"a":"***"}`, Response: `{"b":2}`,
			StartedAt: t0, TotalMS: 12.5, ProgramMS: 10.25, ZoneMS: 2.25,
		}
		mustOK(t, s.TrafficInsert(ctx, want))
		if want.ID == 0 {
			t.Fatal("TrafficInsert left ID 0")
		}
		got, err := s.TrafficGet(ctx, want.ID)
		mustOK(t, err)
		wantTime(t, "StartedAt", got.StartedAt, want.StartedAt)
		got.StartedAt = want.StartedAt
		wantEqual(t, got, want)

		second := &openzone.TrafficRecord{Kind: openzone.TrafficCall, StartedAt: t0}
		mustOK(t, s.TrafficInsert(ctx, second))
		if second.ID == want.ID {
			t.Fatalf("two records share ID %d", want.ID)
		}
	})
	t.Run("ErrNotFound", func(t *testing.T) {
		t.Parallel()
		_, err := open(t).TrafficGet(t.Context(), 42)
		wantCode(t, err, openzone.ErrNotFound)
	})
	t.Run("List", func(t *testing.T) {
		t.Parallel()
		s, ctx := open(t), t.Context()
		// Inserted out of time order: the list sorts by StartedAt.
		recs := []struct {
			req, prog, kind, route string
			errcode                int
			at                     time.Duration
		}{
			{"r2", "prog-a", openzone.TrafficCall, openzone.RouteDebug, 0, 2 * time.Second},
			{"r1", "prog-a", openzone.TrafficEvent, openzone.RouteDeployed, 710674, 1 * time.Second},
			{"r4", "prog-b", openzone.TrafficCall, openzone.RouteDeployed, 0, 4 * time.Second},
			{"r3", "prog-a", openzone.TrafficCall, openzone.RouteDebug, 790014, 3 * time.Second},
		}
		for _, r := range recs {
			mustOK(t, s.TrafficInsert(ctx, &openzone.TrafficRecord{RequestID: r.req, ProgramID: r.prog, Kind: r.kind,
				Route: r.route, Errcode: r.errcode, StartedAt: t0.Add(r.at)}))
		}
		tests := []struct {
			name string
			f    openzone.TrafficFilter
			want []string
		}{
			{"All", openzone.TrafficFilter{}, []string{"r4", "r3", "r2", "r1"}},
			{"Program", openzone.TrafficFilter{ProgramID: "prog-a"}, []string{"r3", "r2", "r1"}},
			{"Kind", openzone.TrafficFilter{Kind: openzone.TrafficCall}, []string{"r4", "r3", "r2"}},
			{"ProgramAndKind", openzone.TrafficFilter{ProgramID: "prog-a", Kind: openzone.TrafficCall}, []string{"r3", "r2"}},
			{"Route", openzone.TrafficFilter{Route: openzone.RouteDebug}, []string{"r3", "r2"}},
			{"Failed", openzone.TrafficFilter{Failed: true}, []string{"r3", "r1"}},
			{"FailedDeployed", openzone.TrafficFilter{Failed: true, Route: openzone.RouteDeployed}, []string{"r1"}},
			{"Limit", openzone.TrafficFilter{Limit: 2}, []string{"r4", "r3"}},
			{"NoMatch", openzone.TrafficFilter{ProgramID: "nope"}, []string{}},
		}
		for _, tc := range tests {
			got, err := s.TrafficList(ctx, tc.f)
			mustOK(t, err)
			if reqs := ids(got, func(r *openzone.TrafficRecord) string { return r.RequestID }); !reflect.DeepEqual(reqs, tc.want) {
				t.Errorf("%s: got %q, want %q", tc.name, reqs, tc.want)
			}
		}
	})
	t.Run("ListLimits", func(t *testing.T) {
		t.Parallel()
		s, ctx := open(t), t.Context()
		mustOK(t, s.InTx(ctx, func(e store.Executor) error {
			for i := range 1005 {
				if err := e.TrafficInsert(ctx, &openzone.TrafficRecord{Kind: openzone.TrafficCall, StartedAt: t0.Add(time.Duration(i) * time.Millisecond)}); err != nil {
					return err
				}
			}
			return nil
		}))
		for _, tc := range []struct{ limit, want int }{{0, 100}, {-1, 100}, {7, 7}, {1000, 1000}, {5000, 1000}} {
			got, err := s.TrafficList(ctx, openzone.TrafficFilter{Limit: tc.limit})
			mustOK(t, err)
			if len(got) != tc.want {
				t.Errorf("Limit %d: got %d records, want %d", tc.limit, len(got), tc.want)
			}
		}
	})
	t.Run("ListAfterID", func(t *testing.T) {
		t.Parallel()
		s, ctx := open(t), t.Context()
		// Ids follow insertion order, times do not: the order stays newest
		// first, it never becomes id order.
		recs := []struct {
			req, prog string
			at        time.Duration
		}{
			{"r2", "prog-a", 2 * time.Second},
			{"r1", "prog-a", 1 * time.Second},
			{"r4", "prog-b", 4 * time.Second},
			{"r3", "prog-a", 3 * time.Second},
		}
		id := map[string]int64{}
		for _, r := range recs {
			rec := &openzone.TrafficRecord{RequestID: r.req, ProgramID: r.prog, Kind: openzone.TrafficCall, StartedAt: t0.Add(r.at)}
			mustOK(t, s.TrafficInsert(ctx, rec))
			id[r.req] = rec.ID
		}
		if !(id["r2"] < id["r1"] && id["r1"] < id["r4"] && id["r4"] < id["r3"]) {
			t.Fatalf("ids %v do not grow with insertion", id)
		}
		tests := []struct {
			name string
			f    openzone.TrafficFilter
			want []string
		}{
			{"Zero", openzone.TrafficFilter{AfterID: 0}, []string{"r4", "r3", "r2", "r1"}},
			{"AfterFirst", openzone.TrafficFilter{AfterID: id["r2"]}, []string{"r4", "r3", "r1"}},
			{"AfterSecond", openzone.TrafficFilter{AfterID: id["r1"]}, []string{"r4", "r3"}},
			{"AfterLast", openzone.TrafficFilter{AfterID: id["r3"]}, []string{}},
			{"WithProgram", openzone.TrafficFilter{AfterID: id["r2"], ProgramID: "prog-a"}, []string{"r3", "r1"}},
			{"WithLimit", openzone.TrafficFilter{AfterID: id["r2"], Limit: 2}, []string{"r4", "r3"}},
		}
		for _, tc := range tests {
			got, err := s.TrafficList(ctx, tc.f)
			mustOK(t, err)
			if reqs := ids(got, func(r *openzone.TrafficRecord) string { return r.RequestID }); !reflect.DeepEqual(reqs, tc.want) {
				t.Errorf("%s: got %q, want %q", tc.name, reqs, tc.want)
			}
		}
	})
	t.Run("Prune", func(t *testing.T) {
		t.Parallel()
		s, ctx := open(t), t.Context()
		n, err := s.TrafficPrune(ctx, t0)
		mustOK(t, err)
		wantEqual(t, n, int64(0))
		for _, r := range []struct {
			req string
			at  time.Duration
		}{
			{"old", -time.Hour},
			{"ms-before", -time.Millisecond},
			{"at", 0}, // started_at is not before t0 (both at millisecond precision): kept
			{"after", time.Second},
			{"older", -2 * time.Hour},
		} {
			mustOK(t, s.TrafficInsert(ctx, &openzone.TrafficRecord{RequestID: r.req, Kind: openzone.TrafficCall, StartedAt: t0.Add(r.at)}))
		}
		n, err = s.TrafficPrune(ctx, t0)
		mustOK(t, err)
		wantEqual(t, n, int64(3))
		got, err := s.TrafficList(ctx, openzone.TrafficFilter{})
		mustOK(t, err)
		wantEqual(t, ids(got, func(r *openzone.TrafficRecord) string { return r.RequestID }), []string{"after", "at"})
		n, err = s.TrafficPrune(ctx, t0)
		mustOK(t, err)
		wantEqual(t, n, int64(0))
	})
}

func testTx(t *testing.T, open func(*testing.T) store.Store) {
	t.Run("Commit", func(t *testing.T) {
		t.Parallel()
		s, ctx := open(t), t.Context()
		err := s.InTx(ctx, func(e store.Executor) error {
			if err := e.ProviderUpsert(ctx, &openzone.Provider{ID: "isv"}); err != nil {
				return err
			}
			if err := e.CorpUpsert(ctx, &openzone.Corp{CorpID: "wwcorp"}); err != nil {
				return err
			}
			// Multi-statement writes work inside a transaction too.
			if err := e.ProgramUpsert(ctx, &openzone.Program{ID: "p", ProviderID: "isv", Kind: openzone.KindProgram,
				Abilities: []openzone.Ability{{ID: "a", Input: json.RawMessage(`{}`), Output: json.RawMessage(`{}`)}}}); err != nil {
				return err
			}
			if err := e.AppUpsert(ctx, &openzone.App{CorpID: "wwcorp", AgentID: 1, Type: openzone.AppSelfBuilt, Secret: "s"}); err != nil {
				return err
			}
			if err := e.AppProgramsSet(ctx, store.AppProgramsSetParams{CorpID: "wwcorp", AgentID: 1, ProgramIDs: []string{"p"}}); err != nil {
				return err
			}
			// Reads inside see the transaction's own writes.
			p, err := e.ProgramGet(ctx, "p")
			if err != nil {
				return err
			}
			if len(p.Abilities) != 1 {
				return fmt.Errorf("program read in tx has %d abilities, want 1", len(p.Abilities))
			}
			return nil
		})
		mustOK(t, err)
		has, err := s.AppProgramHas(ctx, store.AppProgramHasParams{CorpID: "wwcorp", AgentID: 1, ProgramID: "p"})
		mustOK(t, err)
		wantEqual(t, has, true)
	})
	t.Run("Rollback", func(t *testing.T) {
		t.Parallel()
		s, ctx := open(t), t.Context()
		errStop := errors.New("stop")
		err := s.InTx(ctx, func(e store.Executor) error {
			mustOK(t, e.CorpUpsert(ctx, &openzone.Corp{CorpID: "wwcorp"}))
			mustOK(t, e.ProviderUpsert(ctx, &openzone.Provider{ID: "isv"}))
			mustOK(t, e.TrafficInsert(ctx, &openzone.TrafficRecord{Kind: openzone.TrafficCall, StartedAt: t0}))
			ok, err := e.ReplayRemember(ctx, store.ReplayRememberParams{Scope: "sc", RequestID: "id", Now: t0, Expires: t0.Add(time.Minute)})
			mustOK(t, err)
			wantEqual(t, ok, true)
			return errStop
		})
		if !errors.Is(err, errStop) {
			t.Fatalf("InTx err = %v, want the error fn returned", err)
		}
		_, err = s.CorpGet(ctx, "wwcorp")
		wantCode(t, err, openzone.ErrNotFound)
		_, err = s.ProviderGet(ctx, "isv")
		wantCode(t, err, openzone.ErrNotFound)
		recs, err := s.TrafficList(ctx, openzone.TrafficFilter{})
		mustOK(t, err)
		wantEqual(t, len(recs), 0)
		ok, err := s.ReplayRemember(ctx, store.ReplayRememberParams{Scope: "sc", RequestID: "id", Now: t0, Expires: t0.Add(time.Minute)})
		mustOK(t, err)
		wantEqual(t, ok, true)
	})
	t.Run("StoreErrorPassesThrough", func(t *testing.T) {
		t.Parallel()
		s, ctx := open(t), t.Context()
		err := s.InTx(ctx, func(e store.Executor) error {
			_, err := e.CorpGet(ctx, "nope")
			return err
		})
		wantCode(t, err, openzone.ErrNotFound)
	})
	t.Run("ContextCanceled", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		err := s.InTx(ctx, func(e store.Executor) error { return nil })
		if err == nil {
			t.Fatal("InTx with a canceled context succeeded")
		}
		if code := openzone.ErrorCode(err); code == openzone.ErrNotFound || code == openzone.ErrConflict {
			t.Fatalf("canceled InTx has ErrorCode %d, want an internal error", code)
		}
	})
}
