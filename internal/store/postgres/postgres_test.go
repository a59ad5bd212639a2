package postgres_test

import (
	"context"
	"testing"

	"github.com/openzone/openzone/internal/store"
	"github.com/openzone/openzone/internal/store/postgres"
	"github.com/openzone/openzone/internal/store/postgres/pgtest"
	"github.com/openzone/openzone/internal/store/storetest"
)

func mustOpen(tb testing.TB, url string) *postgres.DB {
	tb.Helper()
	db, err := postgres.Open(context.Background(), url)
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

func TestStore(t *testing.T) {
	pgtest.Require(t)
	t.Parallel()
	storetest.Run(t, func(t *testing.T) store.Store {
		return mustOpen(t, pgtest.URL(t))
	})
}
