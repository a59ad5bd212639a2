package sqlite_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/openzone/openzone"
	"github.com/openzone/openzone/internal/store"
	"github.com/openzone/openzone/internal/store/sqlite"
	"github.com/openzone/openzone/internal/store/storetest"
)

func mustOpen(tb testing.TB, path string) *sqlite.DB {
	tb.Helper()
	return storetest.MustOpen(tb, sqlite.Open, path)
}

func TestStore(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T) store.Store {
		return mustOpen(t, filepath.Join(t.TempDir(), "zone.db"))
	})
}

// migrationVersion is the newest migration db records (versions may have
// gaps: a number is kept for a migration another branch adds).
func migrationVersion(t *testing.T, db *sqlite.DB) int {
	t.Helper()
	var n int
	if err := db.SQL().QueryRowContext(t.Context(), `SELECT coalesce(MAX(version), 0) FROM openzone_migrations`).Scan(&n); err != nil {
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
	first := migrationVersion(t, db)
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
	if got := migrationVersion(t, db); got != first {
		t.Fatalf("reopen: newest migration %d, want %d", got, first)
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
	if got := migrationVersion(t, cp); got != migrationVersion(t, db) {
		t.Fatalf("backup records %d migrations, source %d", got, migrationVersion(t, db))
	}

	if err := db.Backup(ctx, dest); err == nil {
		t.Fatal("Backup over an existing file succeeded")
	}
}

func benchDB(b *testing.B) *sqlite.DB {
	db := mustOpen(b, filepath.Join(b.TempDir(), "zone.db"))
	ctx := context.Background()
	for _, err := range []error{
		func() error { // the corp table of 0002 has no retention_days yet
			_, err := db.SQL().ExecContext(ctx, `INSERT INTO corp (corp_id, name) VALUES ('wwcorp', '')`)
			return err
		}(),
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

// migrationTables are the tables each migration after 0001 creates, children
// first, so a test can turn a fresh database back into an older one.
var migrationTables = map[int][]string{
	2: {"debug_program", "debug_session", "notification"},
	3: {"chat_member", "chat", "message", "agree_status", "app_public_key", "keyword_rule", "keyword_hit",
		"event_token", "event", "notify"},
	5:  {"task", "node"},
	8:  {"kb_df", "kb_posting", "kb_fragment", "kb_doc", "kb_grant", "kb", "media"},
	11: {"audit"},
	20: {"program_log_level", "program_log", "program_log_hour"},
	21: {"hide_config"},
	12: {"ww_model", "tag_group", "quota"},
}

// migrationUndo undoes migrations that change tables rather than add them.
var migrationUndo = map[int][]string{
	4: {`ALTER TABLE corp DROP COLUMN retention_days`},
	6: {`DROP INDEX event_program_state`, `ALTER TABLE debug_program DROP COLUMN listener_state`,
		`ALTER TABLE debug_program DROP COLUMN listener_id`, `ALTER TABLE debug_program DROP COLUMN listener_node`,
		`ALTER TABLE debug_program DROP COLUMN listener_connected_at`, `ALTER TABLE debug_program DROP COLUMN listener_lost_at`,
		`ALTER TABLE debug_program DROP COLUMN listener_reason`, `ALTER TABLE debug_program DROP COLUMN probe`},
	7: {`DROP INDEX debug_program_token`},
	8: {`ALTER TABLE app DROP COLUMN knowledge_permission`},
	9: {`DROP INDEX message_key_tag`, `DROP INDEX message_untagged`, `ALTER TABLE message DROP COLUMN key_tag`},
	10: {`DROP INDEX event_line`, `ALTER TABLE event DROP COLUMN failing_since`,
		`ALTER TABLE event DROP COLUMN stepped_aside_at`, `ALTER TABLE event DROP COLUMN job_id`},
	20: {`DROP INDEX traffic_request`},
	22: {`ALTER TABLE corp DROP COLUMN auth_status`, `ALTER TABLE corp DROP COLUMN auth_begin`,
		`ALTER TABLE corp DROP COLUMN auth_end`, `ALTER TABLE member DROP COLUMN editions`},
}

// latestMigration is the highest version; numbers may skip one (0008 is
// another branch's).
const latestMigration = 22

// downgrade drops what the migrations after version created and forgets
// them, as if db had been created by a binary at that version.
func downgrade(t *testing.T, db *sqlite.DB, version int) {
	t.Helper()
	for v := latestMigration; v > version; v-- {
		for _, q := range migrationUndo[v] {
			if _, err := db.SQL().ExecContext(t.Context(), q); err != nil {
				t.Fatalf("undo migration %d: %v", v, err)
			}
		}
		for _, table := range migrationTables[v] {
			if _, err := db.SQL().ExecContext(t.Context(), `DROP TABLE `+table); err != nil {
				t.Fatalf("drop %s: %v", table, err)
			}
		}
	}
	if _, err := db.SQL().ExecContext(t.Context(), `DELETE FROM openzone_migrations WHERE version > ?`, version); err != nil {
		t.Fatal(err)
	}
	if got := migrationVersion(t, db); got != version {
		t.Fatalf("%d migrations recorded after downgrade, want %d", got, version)
	}
}

// TestOpen_UpgradeFrom0001 opens a database that has only migration 0001, as
// zones created before 0002 do, and checks the later ones are applied and
// data kept.
func TestOpen_UpgradeFrom0001(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "zone.db")
	db, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	downgrade(t, db, 1)
	for _, q := range []string{
		`INSERT INTO provider (id, name) VALUES ('isv', 'ISV')`,
		`INSERT INTO program (id, provider_id, kind, name) VALUES ('prog-a', 'isv', 'program', 'A')`,
	} {
		if _, err := db.SQL().ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	db = mustOpen(t, path)
	if got := migrationVersion(t, db); got != latestMigration {
		t.Fatalf("reopen: %d migrations recorded, want all applied", got)
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

// TestOpen_UpgradeFrom0002 opens a database at migration 0002 with data in
// it and checks 0003 is applied and the data kept.
func TestOpen_UpgradeFrom0002(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "zone.db")
	db, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	downgrade(t, db, 2)
	for _, err := range []error{
		db.ProviderUpsert(ctx, &openzone.Provider{ID: "isv"}),
		db.ProgramUpsert(ctx, &openzone.Program{ID: "prog-a", ProviderID: "isv", Kind: openzone.KindProgram}),
		db.DebugProgramPut(ctx, &openzone.DebugProgram{ProgramID: "prog-a", ReceiverURL: "http://r"}),
		func() error { // the corp table of 0002 has no retention_days yet
			_, err := db.SQL().ExecContext(ctx, `INSERT INTO corp (corp_id, name) VALUES ('wwcorp', '')`)
			return err
		}(),
		func() error { // nor has its app table knowledge_permission
			_, err := db.SQL().ExecContext(ctx, `INSERT INTO app (corp_id, agent_id, type, secret) VALUES ('wwcorp', 1, 'self_built', 's')`)
			return err
		}(),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	db = mustOpen(t, path)
	if got := migrationVersion(t, db); got != latestMigration {
		t.Fatalf("reopen: %d migrations recorded, want %d", got, latestMigration)
	}
	if d, err := db.DebugProgramGet(ctx, "prog-a"); err != nil || d.ReceiverURL != "http://r" {
		t.Fatalf("reopen: DebugProgramGet = %+v, %v", d, err)
	}
	m := &openzone.Message{CorpID: "wwcorp", MsgID: "m1", Content: []byte("c"), SealedKey: []byte("k"), Ingested: time.Now()}
	if err := db.MessageInsert(ctx, m); err != nil || m.Seq != 1 {
		t.Fatalf("reopen: MessageInsert seq %d, %v; want seq 1", m.Seq, err)
	}
	if err := db.AppPublicKeyPut(ctx, &openzone.AppPublicKey{CorpID: "wwcorp", AgentID: 1, Ver: 1, PEM: "pem"}); err != nil {
		t.Fatalf("reopen: AppPublicKeyPut: %v", err)
	}
}

// TestSQLTx checks the raw transaction InTx exposes for River: what is
// written through it commits and rolls back with the store's own writes.
func TestSQLTx(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	db := mustOpen(t, filepath.Join(t.TempDir(), "zone.db"))
	type sqlTxer interface{ SQLTx() *sql.Tx }
	if tx := store.Store(db).(sqlTxer).SQLTx(); tx != nil {
		t.Fatal("DB.SQLTx() is not nil outside a transaction")
	}
	errStop := errors.New("stop")
	for _, tc := range []struct {
		name   string
		ret    error
		exists bool
	}{{"Rollback", errStop, false}, {"Commit", nil, true}} {
		err := db.InTx(ctx, func(e store.Executor) error {
			x, ok := e.(sqlTxer)
			if !ok || x.SQLTx() == nil {
				return fmt.Errorf("executor in InTx has no SQLTx (%T)", e)
			}
			if err := e.CorpUpsert(ctx, &openzone.Corp{CorpID: "wwcorp"}); err != nil {
				return err
			}
			if _, err := x.SQLTx().ExecContext(ctx, `INSERT INTO corp (corp_id, name) VALUES ('raw', 'Raw')`); err != nil {
				return err
			}
			// The store sees the raw write, and the raw tx the store's.
			if _, err := e.CorpGet(ctx, "raw"); err != nil {
				return err
			}
			m := &openzone.Message{CorpID: "wwcorp", MsgID: "m", Ingested: time.Now()}
			if err := e.MessageInsert(ctx, m); err != nil {
				return err
			}
			var n int
			if err := x.SQLTx().QueryRowContext(ctx, `SELECT COUNT(*) FROM message WHERE seq = ?`, m.Seq).Scan(&n); err != nil || n != 1 {
				return fmt.Errorf("raw tx sees %d messages with seq %d (%v), want 1", n, m.Seq, err)
			}
			return tc.ret
		})
		if !errors.Is(err, tc.ret) {
			t.Fatalf("%s: InTx = %v, want %v", tc.name, err, tc.ret)
		}
		for _, id := range []string{"wwcorp", "raw"} {
			_, err := db.CorpGet(ctx, id)
			if got := err == nil; got != tc.exists {
				t.Fatalf("%s: corp %s exists = %v (%v), want %v", tc.name, id, got, err, tc.exists)
			}
		}
	}
}

func TestMessagePrune_Batches(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	db := mustOpen(t, filepath.Join(t.TempDir(), "zone.db"))
	base := time.Date(2026, 3, 14, 0, 0, 0, 0, time.UTC)
	for _, id := range []string{"wwa", "wwb"} {
		if err := db.CorpUpsert(ctx, &openzone.Corp{CorpID: id}); err != nil {
			t.Fatal(err)
		}
	}
	err := db.InTx(ctx, func(e store.Executor) error {
		for i := range 30 {
			for _, corp := range []string{"wwa", "wwb"} {
				if err := e.MessageInsert(ctx, &openzone.Message{CorpID: corp, MsgID: fmt.Sprint("m", i),
					Ingested: base.Add(time.Duration(i) * time.Second)}); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// 25 of wwa's messages are older than base+25s: two full batches of 10
	// and one of 5. wwb's stay.
	for _, tc := range []struct {
		batch int
		want  int64
	}{{10, 25}, {10, 0}} {
		n, err := db.MessagePruneBatch(ctx, "wwa", base.Add(25*time.Second), tc.batch)
		if err != nil || n != tc.want {
			t.Fatalf("MessagePruneBatch(batch %d) = %d, %v; want %d", tc.batch, n, err, tc.want)
		}
	}
	// Exactly a batch's worth: the loop must stop on the empty batch after it.
	n, err := db.MessagePruneBatch(ctx, "wwa", base.Add(30*time.Second), 5)
	if err != nil || n != 5 {
		t.Fatalf("MessagePruneBatch = %d, %v; want 5", n, err)
	}
	for _, tc := range []struct {
		corp string
		want int
	}{{"wwa", 0}, {"wwb", 30}} {
		msgs, err := db.MessageList(ctx, openzone.MessageFilter{CorpID: tc.corp})
		if err != nil || len(msgs) != tc.want {
			t.Fatalf("after prune: %s has %d messages, %v; want %d", tc.corp, len(msgs), err, tc.want)
		}
	}
}

// TestMessageSeq_NotReusedAcrossReopenAndBackup: the seq high-water mark is
// part of the file, so neither a restart nor a restored backup hands out a
// pruned seq again.
func TestMessageSeq_NotReusedAcrossReopenAndBackup(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	dir := t.TempDir()
	path := filepath.Join(dir, "zone.db")
	db, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	insert := func(db *sqlite.DB, msgID string) int64 {
		t.Helper()
		m := &openzone.Message{CorpID: "wwcorp", MsgID: msgID, Ingested: now}
		if err := db.MessageInsert(ctx, m); err != nil {
			t.Fatal(err)
		}
		return m.Seq
	}
	if err := db.CorpUpsert(ctx, &openzone.Corp{CorpID: "wwcorp"}); err != nil {
		t.Fatal(err)
	}
	insert(db, "m1")
	last := insert(db, "m2")
	if n, err := db.MessagePrune(ctx, "wwcorp", now.Add(time.Second)); err != nil || n != 2 {
		t.Fatalf("MessagePrune = %d, %v; want 2", n, err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	db = mustOpen(t, path)
	if seq := insert(db, "m3"); seq <= last {
		t.Fatalf("after reopen: seq %d, want above the pruned %d", seq, last)
	}
	last, err = db.MessageLastSeq(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.MessagePrune(ctx, "wwcorp", now.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	dest := filepath.Join(dir, "backup.db")
	if err := db.Backup(ctx, dest); err != nil {
		t.Fatal(err)
	}
	cp := mustOpen(t, dest)
	if seq := insert(cp, "m4"); seq <= last {
		t.Fatalf("in backup: seq %d, want above the pruned %d", seq, last)
	}
}

// TestOpen_Exclusive: one process (one DB) per SQLite file at a time; the
// lock goes with Close.
func TestOpen_Exclusive(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "zone.db")
	db := mustOpen(t, path)
	if _, err := sqlite.Open(t.Context(), path); err == nil || !strings.Contains(err.Error(), "in use by another openzone process") {
		t.Fatalf("second Open: %v, want the in-use error", err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db2, err := sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatalf("Open after Close: %v", err)
	}
	db2.Close()
}
