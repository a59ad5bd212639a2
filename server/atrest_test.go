package server_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/openzone/openzone"
	"github.com/openzone/openzone/internal/store/sqlite"
	"github.com/openzone/openzone/internal/testenv"
	"github.com/openzone/openzone/server"
)

// rawValues reads one column as stored, past the store, whatever the
// database.
func rawValues(t *testing.T, st any, query string) []string {
	t.Helper()
	var next func() bool
	var scan func(...any) error
	switch db := st.(type) {
	case interface{ SQL() *sql.DB }:
		rows, err := db.SQL().QueryContext(t.Context(), query)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		next, scan = rows.Next, rows.Scan
	case interface {
		Pool() *pgxpool.Pool
		Schema() string
	}:
		conn, err := db.Pool().Acquire(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Release()
		if _, err := conn.Exec(t.Context(), "SET search_path TO "+pgx.Identifier{db.Schema()}.Sanitize()); err != nil {
			t.Fatal(err)
		}
		rows, err := conn.Query(t.Context(), query)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		next, scan = rows.Next, rows.Scan
	default:
		t.Fatalf("no raw access to %T", st)
	}
	var out []string
	for next() {
		var v []byte
		if err := scan(&v); err != nil {
			t.Fatal(err)
		}
		out = append(out, string(v))
	}
	return out
}

// TestSecretsSealedAtRest: the database holds no app secret, program
// secret or access token in the clear, and the zone still finds each.
func TestSecretsSealedAtRest(t *testing.T) { testenv.Stores(t, testSecretsSealedAtRest) }

func testSecretsSealedAtRest(t *testing.T, db string) {
	z := testenv.Start(t, testenv.Options{Seed: echoSeed("corp-secret-at-rest-7f3a"), DB: db})
	tok := z.Token("wwtest", "corp-secret-at-rest-7f3a")
	if r := z.PostApp("/cgi-bin/chatdata/sync_call_program", tok, syncCall("prog-echo", "echo", `{"text":"hi"}`)); testenv.Errcode(r) != 0 {
		t.Fatalf("call: %s", testenv.Describe(r))
	}
	ps, err := z.Store().ProgramSecretGet(t.Context(), "prog-echo")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ query, plain string }{
		{`SELECT secret FROM app`, "corp-secret-at-rest-7f3a"},
		{`SELECT token FROM access_token`, tok},
		{`SELECT secret_key FROM program_secret`, string(ps.Key)},
	} {
		vals := rawValues(t, z.Store(), c.query)
		if len(vals) == 0 {
			t.Fatalf("%s: no rows", c.query)
		}
		for _, v := range vals {
			if strings.Contains(v, c.plain) || !strings.HasPrefix(v, "oz1:") {
				t.Errorf("%s holds %q, not a sealed value", c.query, v)
			}
		}
	}
}

// TestSecretsSealedOnUpgrade: a database written before sealing (plaintext
// secrets) is sealed when a zone starts on it, and nothing is lost.
func TestSecretsSealedOnUpgrade(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	old, err := sqlite.Open(ctx, filepath.Join(dir, "openzone.db"))
	if err != nil {
		t.Fatal(err)
	}
	if err := old.CorpUpsert(ctx, &openzone.Corp{CorpID: "wwtest", Name: "Test Corp"}); err != nil {
		t.Fatal(err)
	}
	if err := old.AppUpsert(ctx, &openzone.App{CorpID: "wwtest", AgentID: 1000009, Type: openzone.AppSelfBuilt,
		Secret: "old-plaintext-secret-99", Callback: openzone.Callback{Token: "cbtoken-plain-1", EncodingAESKey: "aeskey-plain-1"}}); err != nil {
		t.Fatal(err)
	}
	if got := rawValues(t, old, `SELECT secret FROM app`); len(got) != 1 || got[0] != "old-plaintext-secret-99" {
		t.Fatalf("before: %q", got)
	}
	old.Close()

	z := testenv.Start(t, testenv.Options{Configure: func(c *server.Config) { c.DataDir = dir }})
	z.Token("wwtest", "old-plaintext-secret-99")
	for _, q := range []string{`SELECT secret FROM app`, `SELECT callback_token FROM app`, `SELECT callback_aes_key FROM app`} {
		for _, v := range rawValues(t, z.Store(), q) {
			if !strings.HasPrefix(v, "oz1:") || strings.Contains(v, "plain") {
				t.Errorf("%s after start: %q", q, v)
			}
		}
	}
	a, err := z.Store().AppGet(ctx, "wwtest", 1000009)
	if err != nil {
		t.Fatal(err)
	}
	if a.Secret != "old-plaintext-secret-99" || a.Callback.Token != "cbtoken-plain-1" || a.Callback.EncodingAESKey != "aeskey-plain-1" {
		t.Fatalf("app after sealing: %+v", a)
	}
}
