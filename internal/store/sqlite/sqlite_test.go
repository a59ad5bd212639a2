package sqlite_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/openzone/openzone"
	"github.com/openzone/openzone/internal/store"
	"github.com/openzone/openzone/internal/store/sqlite"
	"github.com/openzone/openzone/internal/store/storetest"
)

func mustOpen(tb testing.TB, path string) *sqlite.DB {
	tb.Helper()
	db, err := sqlite.Open(context.Background(), path)
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
	t.Parallel()
	storetest.Run(t, func(t *testing.T) store.Store {
		return mustOpen(t, filepath.Join(t.TempDir(), "zone.db"))
	})
}

func migrationCount(t *testing.T, db *sqlite.DB) int {
	t.Helper()
	var n int
	if err := db.SQL().QueryRowContext(t.Context(), `SELECT COUNT(*) FROM openzone_migrations`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestOpen_MigrationsOnce(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "zone.db")

	db, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	first := migrationCount(t, db)
	if first == 0 {
		t.Fatal("no migration recorded")
	}
	if err := db.CorpUpsert(ctx, &openzone.Corp{CorpID: "wwcorp", Name: "Kept"}); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}

	db = mustOpen(t, path)
	if got := migrationCount(t, db); got != first {
		t.Fatalf("reopen: %d migrations recorded, want %d", got, first)
	}
	c, err := db.CorpGet(ctx, "wwcorp")
	if err != nil || c.Name != "Kept" {
		t.Fatalf("reopen: CorpGet = %+v, %v; want the corp written before", c, err)
	}
}

func TestOpen_NewerSchema(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "zone.db")
	db, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.SQL().ExecContext(ctx, `INSERT INTO openzone_migrations (version, applied_at) VALUES (9999, 0)`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if db, err := sqlite.Open(ctx, path); err == nil {
		db.Close()
		t.Fatal("Open accepted a database migrated by a newer binary")
	}
}

func TestOpen_PathNeedsEscaping(t *testing.T) {
	t.Parallel()
	db := mustOpen(t, filepath.Join(t.TempDir(), "a?b#c%d.db"))
	if err := db.CorpUpsert(t.Context(), &openzone.Corp{CorpID: "x"}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.CorpGet(t.Context(), "x"); err != nil {
		t.Fatal(err)
	}
}

func TestDB_Backup(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	dir := t.TempDir()
	db := mustOpen(t, filepath.Join(dir, "zone.db"))
	if err := db.CorpUpsert(ctx, &openzone.Corp{CorpID: "wwcorp", Name: "Backed up"}); err != nil {
		t.Fatal(err)
	}

	dest := filepath.Join(dir, "backup.db")
	if err := db.Backup(ctx, dest); err != nil {
		t.Fatal(err)
	}
	// A write after the backup must not show up in it.
	if err := db.CorpUpsert(ctx, &openzone.Corp{CorpID: "later"}); err != nil {
		t.Fatal(err)
	}

	cp := mustOpen(t, dest)
	c, err := cp.CorpGet(ctx, "wwcorp")
	if err != nil || c.Name != "Backed up" {
		t.Fatalf("backup: CorpGet = %+v, %v", c, err)
	}
	if _, err := cp.CorpGet(ctx, "later"); openzone.ErrorCode(err) != openzone.ErrNotFound {
		t.Fatalf("backup: CorpGet(later) err = %v, want not found", err)
	}
	if got := migrationCount(t, cp); got != migrationCount(t, db) {
		t.Fatalf("backup records %d migrations, source %d", got, migrationCount(t, db))
	}

	if err := db.Backup(ctx, dest); err == nil {
		t.Fatal("Backup over an existing file succeeded")
	}
}

func benchDB(b *testing.B) *sqlite.DB {
	db := mustOpen(b, filepath.Join(b.TempDir(), "zone.db"))
	ctx := context.Background()
	for _, err := range []error{
		db.CorpUpsert(ctx, &openzone.Corp{CorpID: "wwcorp"}),
		db.AppUpsert(ctx, &openzone.App{CorpID: "wwcorp", AgentID: 1, Type: openzone.AppSelfBuilt, Secret: "s"}),
	} {
		if err != nil {
			b.Fatal(err)
		}
	}
	return db
}

func BenchmarkTokenGet(b *testing.B) {
	db := benchDB(b)
	ctx := context.Background()
	const n = 1000
	exp := time.Now().Add(time.Hour)
	err := db.InTx(ctx, func(e store.Executor) error {
		for i := range n {
			if err := e.TokenInsert(ctx, &openzone.AccessToken{Token: fmt.Sprintf("tok-%d", i), CorpID: "wwcorp", AgentID: 1, ExpiresAt: exp}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			if _, err := db.TokenGet(ctx, fmt.Sprintf("tok-%d", i%n)); err != nil {
				b.Error(err)
				return
			}
			i++
		}
	})
}

func BenchmarkTrafficInsert(b *testing.B) {
	db := benchDB(b)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		r := &openzone.TrafficRecord{Kind: openzone.TrafficCall, Route: openzone.RouteDeployed, CorpID: "wwcorp", AgentID: 1,
			ProgramID: "prog-a", AbilityID: "echo", RequestID: "req", Request: `{"text":"hello"}`, Response: `{"text":"hello"}`,
			StartedAt: time.Now(), TotalMS: 1.5}
		if err := db.TrafficInsert(ctx, r); err != nil {
			b.Fatal(err)
		}
	}
}

func TestTrafficPrune_Batches(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	db := mustOpen(t, filepath.Join(t.TempDir(), "zone.db"))
	base := time.Date(2026, 3, 14, 0, 0, 0, 0, time.UTC)
	for i := range 30 {
		if err := db.TrafficInsert(ctx, &openzone.TrafficRecord{Kind: openzone.TrafficCall, StartedAt: base.Add(time.Duration(i) * time.Second)}); err != nil {
			t.Fatal(err)
		}
	}
	// 25 records start before base+25s: two full batches of 10 and one of 5.
	for _, tc := range []struct {
		batch int
		want  int64
	}{{10, 25}, {10, 0}} {
		n, err := db.TrafficPruneBatch(ctx, base.Add(25*time.Second), tc.batch)
		if err != nil || n != tc.want {
			t.Fatalf("TrafficPruneBatch(batch %d) = %d, %v; want %d", tc.batch, n, err, tc.want)
		}
	}
	// Exactly a batch's worth: the loop must stop on the empty batch after it.
	n, err := db.TrafficPruneBatch(ctx, base.Add(30*time.Second), 5)
	if err != nil || n != 5 {
		t.Fatalf("TrafficPruneBatch = %d, %v; want 5", n, err)
	}
	recs, err := db.TrafficList(ctx, openzone.TrafficFilter{})
	if err != nil || len(recs) != 0 {
		t.Fatalf("after prune: %d records, %v; want none", len(recs), err)
	}
}

// TestOpen_UpgradeFrom0001 opens a database that has only migration 0001, as
// zones created before 0002 do, and checks 0002 is applied and data kept.
func TestOpen_UpgradeFrom0001(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "zone.db")
	db, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`DROP TABLE debug_program`, `DROP TABLE debug_session`, `DROP TABLE notification`,
		`DELETE FROM openzone_migrations WHERE version >= 2`,
		`INSERT INTO provider (id, name) VALUES ('isv', 'ISV')`,
		`INSERT INTO program (id, provider_id, kind, name) VALUES ('prog-a', 'isv', 'program', 'A')`,
	} {
		if _, err := db.SQL().ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if got := migrationCount(t, db); got != 1 {
		t.Fatalf("%d migrations recorded, want 1", got)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	db = mustOpen(t, path)
	if got := migrationCount(t, db); got < 2 {
		t.Fatalf("reopen: %d migrations recorded, want 0002 applied", got)
	}
	if _, err := db.ProgramGet(ctx, "prog-a"); err != nil {
		t.Fatalf("reopen: ProgramGet: %v", err)
	}
	if err := db.DebugProgramPut(ctx, &openzone.DebugProgram{ProgramID: "prog-a", ReceiverURL: "http://127.0.0.1:9000"}); err != nil {
		t.Fatalf("reopen: DebugProgramPut: %v", err)
	}
	if err := db.NotificationInsert(ctx, &openzone.Notification{ProviderID: "isv", Kind: "k", CreatedAt: time.Now()}); err != nil {
		t.Fatalf("reopen: NotificationInsert: %v", err)
	}
}
