// Package pgtest gives tests a PostgreSQL database of their own: a fresh
// schema in the database OPENZONE_TEST_POSTGRES_URL names, dropped when the
// test ends. Without that variable tests that need PostgreSQL skip, unless
// OPENZONE_REQUIRE_POSTGRES=1 (CI sets both), when they fail instead, so a
// CI run can never pass by skipping them.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// Environment variables.
const (
	EnvURL     = "OPENZONE_TEST_POSTGRES_URL"
	EnvRequire = "OPENZONE_REQUIRE_POSTGRES"
)

// Enabled reports whether PostgreSQL tests run.
func Enabled() bool { return os.Getenv(EnvURL) != "" }

// Require skips tb when PostgreSQL is not configured, or fails it when it
// is required.
func Require(tb testing.TB) {
	tb.Helper()
	if Enabled() {
		return
	}
	if os.Getenv(EnvRequire) == "1" {
		tb.Fatalf("%s=1 but %s is not set", EnvRequire, EnvURL)
	}
	tb.Skipf("PostgreSQL tests need %s (a database the tests may create schemas in)", EnvURL)
}

// URL returns the URL of a new, empty schema (Require first), whose
// search_path puts everything a store or River creates in it. The schema
// is dropped when tb ends.
func URL(tb testing.TB) string {
	tb.Helper()
	Require(tb)
	base := os.Getenv(EnvURL)
	var b [6]byte
	rand.Read(b[:])
	schema := "oz_" + hex.EncodeToString(b[:])

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		tb.Fatalf("pgtest: connect to %s: %v", EnvURL, err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `CREATE SCHEMA `+schema); err != nil {
		tb.Fatalf("pgtest: create schema: %v", err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, base)
		if err != nil {
			tb.Errorf("pgtest: drop schema %s: %v", schema, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, `DROP SCHEMA `+schema+` CASCADE`); err != nil {
			tb.Errorf("pgtest: drop schema %s: %v", schema, err)
		}
	})
	return WithParam(base, "search_path", schema)
}

// WithParam returns the URL u with the query parameter k set to v.
func WithParam(u, k, v string) string {
	p, err := url.Parse(u)
	if err != nil || !strings.Contains(u, "://") {
		return u + " " + k + "=" + v // keyword/value form
	}
	q := p.Query()
	q.Set(k, v)
	p.RawQuery = q.Encode()
	return p.String()
}
