package storetest

import (
	"bytes"
	"testing"
	"time"

	"github.com/openzone/openzone"
	"github.com/openzone/openzone/internal/atrest"
	"github.com/openzone/openzone/internal/store"
)

func testBox(t *testing.T) *atrest.Box {
	b, err := atrest.New(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// testSecretsAtRest: with a box, every secret the store keeps is found by
// value and read back as it was given; secrets written before the box are
// sealed by SealSecrets and still found.
func testSecretsAtRest(t *testing.T, open func(*testing.T) store.Store) {
	t.Run("SealedLookups", func(t *testing.T) {
		t.Parallel()
		s, f := setup(t, open)
		ctx := t.Context()
		n, err := s.SealSecrets(ctx, testBox(t))
		mustOK(t, err)
		wantEqual(t, n, 1) // the fixture's app secret, written before the box

		a := &openzone.App{CorpID: "wwcorp", AgentID: 7, Type: openzone.AppSelfBuilt, Secret: "s-7",
			Callback: openzone.Callback{URL: "http://cb", Token: "cb-token", EncodingAESKey: "aes-key"}}
		mustOK(t, s.AppUpsert(ctx, a))
		got, err := s.AppFindBySecret(ctx, "wwcorp", "s-7")
		mustOK(t, err)
		wantEqual(t, got, a)
		got, err = s.AppFindBySecret(ctx, "wwcorp", f.app.Secret)
		mustOK(t, err)
		wantEqual(t, got, f.app)
		wantCode(t, s.AppUpsert(ctx, &openzone.App{CorpID: "wwcorp", AgentID: 8, Type: openzone.AppSelfBuilt, Secret: "s-7"}), openzone.ErrConflict)

		tok := &openzone.AccessToken{Token: "tok-1", CorpID: "wwcorp", AgentID: 7, ExpiresAt: t0.Add(time.Hour).Truncate(time.Millisecond)}
		mustOK(t, s.TokenInsert(ctx, tok))
		gotTok, err := s.TokenGet(ctx, "tok-1")
		mustOK(t, err)
		wantEqual(t, gotTok, tok)
		valid, err := s.TokenFindValid(ctx, store.TokenFindValidParams{CorpID: "wwcorp", AgentID: 7, Now: t0})
		mustOK(t, err)
		wantEqual(t, valid.Token, "tok-1")

		et := &openzone.EventToken{Token: "evt-1", CorpID: "wwcorp", AgentID: 7, Kind: "sync_msg", ExpiresAt: t0.Add(time.Hour).Truncate(time.Millisecond)}
		mustOK(t, s.EventTokenInsert(ctx, et))
		gotET, err := s.EventTokenGet(ctx, "evt-1")
		mustOK(t, err)
		wantEqual(t, gotET, et)

		key := bytes.Repeat([]byte{9}, 32)
		mustOK(t, s.ProgramSecretPut(ctx, &openzone.ProgramSecret{ProgramID: "prog-a", Ver: 1, Key: key}))
		ps, err := s.ProgramSecretGet(ctx, "prog-a")
		mustOK(t, err)
		wantEqual(t, ps.Key, key)

		mustOK(t, s.DebugProgramPut(ctx, &openzone.DebugProgram{ProgramID: "prog-a", Token: "dbg-cred"}))
		id, err := s.DebugProgramByToken(ctx, "dbg-cred")
		mustOK(t, err)
		wantEqual(t, id, "prog-a")
		d, err := s.DebugProgramGet(ctx, "prog-a")
		mustOK(t, err)
		wantEqual(t, d.Token, "dbg-cred")

		sess := &openzone.DebugSession{CorpID: "wwcorp", AgentID: 7, ProgramID: "prog-a", Token: "dbg-cred",
			SDKHalf: true, SDKOpenedAt: t0, SecretVer: 3, Secret: bytes.Repeat([]byte{5}, 32)}
		mustOK(t, s.DebugSessionPut(ctx, sess))
		gotSess, err := s.DebugSessionBySecretVer(ctx, "prog-a", 3)
		mustOK(t, err)
		wantEqual(t, gotSess.Secret, sess.Secret)
		wantEqual(t, gotSess.Token, "dbg-cred")

		// A second call finds nothing left to seal.
		n, err = s.SealSecrets(ctx, testBox(t))
		mustOK(t, err)
		wantEqual(t, n, 0)
	})
}

// testAudit: entries come back newest first, pages by id, and are pruned
// after AuditRetention.
func testAudit(t *testing.T, open func(*testing.T) store.Store) {
	t.Run("AppendList", func(t *testing.T) {
		t.Parallel()
		s, ctx := open(t), t.Context()
		var ids []int64
		for i, at := range []time.Time{t0.Add(-500 * 24 * time.Hour), t0, t0.Add(time.Second)} {
			e := &openzone.AuditEntry{At: at, Actor: "admin-api", Source: "127.0.0.1", Action: "PUT /admin/v1/x", Target: "/admin/v1/x", Errcode: i}
			mustOK(t, s.AuditAppend(ctx, e))
			ids = append(ids, e.ID)
		}
		es, err := s.AuditList(ctx, store.AuditListParams{})
		mustOK(t, err)
		wantEqual(t, len(es), 3)
		wantEqual(t, es[0].ID, ids[2])
		wantEqual(t, es[0].At, t0.Add(time.Second).Truncate(time.Millisecond))
		es, err = s.AuditList(ctx, store.AuditListParams{BeforeID: ids[2], Limit: 1})
		mustOK(t, err)
		wantEqual(t, len(es), 1)
		wantEqual(t, es[0].ID, ids[1])
		mustOK(t, s.Prune(ctx, t0))
		es, err = s.AuditList(ctx, store.AuditListParams{})
		mustOK(t, err)
		wantEqual(t, len(es), 2)
	})
}
