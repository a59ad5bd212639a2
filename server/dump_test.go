package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/openzone/openzone"
	"github.com/openzone/openzone/internal/docparse/doctest"
	"github.com/openzone/openzone/internal/store"
	"github.com/openzone/openzone/internal/store/postgres"
	"github.com/openzone/openzone/internal/store/postgres/pgtest"
	"github.com/openzone/openzone/internal/store/sqlite"
	"github.com/openzone/openzone/internal/testenv"
	"github.com/openzone/openzone/server"
)

// normalize turns a dump into table → sorted rows, each row its columns
// sorted by name, so dumps of two drivers compare whatever their row
// order. Job args are compared as JSON values (PostgreSQL's jsonb
// rewrites their spacing).
func normalize(t *testing.T, dump []byte) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	dec := json.NewDecoder(bytes.NewReader(dump))
	for {
		var r store.DumpRow
		if err := dec.Decode(&r); err != nil {
			break
		}
		m := map[string]any{}
		for i, c := range r.Cols {
			v := r.Vals[i]
			if r.Table == store.DumpJobs && c == "args" {
				var a any
				json.Unmarshal([]byte(v.(string)), &a)
				v = a
			}
			m[c] = v
		}
		b, _ := json.Marshal(m) // map keys sort
		out[r.Table] = append(out[r.Table], string(b))
	}
	for _, rows := range out {
		sort.Strings(rows)
	}
	return out
}

// TestExportImport populates a zone on SQLite through its APIs, stops it,
// exports it, imports the export into PostgreSQL, and checks the two
// databases hold the same rows, then runs the zone on PostgreSQL.
func TestExportImport(t *testing.T) {
	t.Parallel()
	pg := pgtest.URL(t)
	ctx := context.Background()
	appSide := newAppSide(t)
	// prog-work's URL answers nothing: its deliveries stay queued, so the
	// export carries unfinished jobs.
	dead := fmt.Sprintf("http://127.0.0.1:%d", freePort(t))
	z := testenv.Start(t, testenv.Options{Seed: fmt.Sprintf(multiSeed, appSide.srv.URL, dead)})
	tok2, tok3 := z.Token("wwarc", "s2"), z.Token("wwarc", "s3")
	_, pub := rsaKey(t)
	for _, c := range []struct {
		tok, path string
		body      map[string]any
	}{
		{tok2, "set_public_key", map[string]any{"public_key": pub, "public_key_ver": 1}},
		{tok2, "set_receive_callback", map[string]any{"program_id": "prog-echo"}},
		{tok3, "set_public_key", map[string]any{"public_key": pub, "public_key_ver": 1}},
		{tok3, "set_receive_callback", map[string]any{"program_id": "prog-work"}},
		{tok2, "sync_call_program", syncCall("prog-echo", "echo", `{"text":"一"}`)},
	} {
		if r := z.PostApp("/cgi-bin/chatdata/"+c.path, c.tok, c.body); testenv.Errcode(r) != 0 {
			t.Fatalf("%s: %s", c.path, testenv.Describe(r))
		}
	}
	for i := range 3 {
		msg := fmt.Sprintf(`{"sender":{"type":1,"id":"zhangsan"},"receiver_list":[{"type":2,"id":"wmcustomer1"}],"msgtype":1,"text":{"content":"消息%d"}}`, i)
		if st := z.Admin("POST", "/admin/v1/corps/wwarc/messages", strings.NewReader(msg), nil); st != 200 {
			t.Fatalf("ingest: HTTP %d", st)
		}
	}
	appSide.next(t) // the example program received an event and notified the app
	r := z.PostApp("/cgi-bin/chatdata/async_program_task", tok2, map[string]any{"program_id": "prog-echo", "ability_id": "echo", "request_data": `{"text":"异步"}`})
	jobID, _ := r["jobid"].(string)
	testenv.Eventually(t, "the task's result", func() bool {
		return testenv.Errcode(z.PostApp("/cgi-bin/chatdata/async_program_result", tok2, map[string]any{"jobid": jobID})) == 0
	})
	// A knowledge set, learned: its fragments and index move too.
	var media struct {
		MediaID string `json:"media_id"`
	}
	if st := z.AdminUpload("/admin/v1/corps/wwarc/media", "p.docx", doctest.DOCX(t, "退货政策：签收后七天内可以无理由退货。"), &media); st != 200 {
		t.Fatalf("media upload: HTTP %d", st)
	}
	var set struct {
		KBID string `json:"kb_id"`
	}
	if st := z.Admin("POST", "/admin/v1/corps/wwarc/knowledge_bases", strings.NewReader(`{"kb_name":"售后","doc_list":[{"doc_name":"p","type":6,"file_media_id":"`+media.MediaID+`"}]}`), &set); st != 200 {
		t.Fatalf("create a knowledge set: HTTP %d", st)
	}
	testenv.Eventually(t, "the knowledge set learned", func() bool {
		var kb struct {
			Fragments int `json:"fragments"`
		}
		z.Admin("GET", "/admin/v1/corps/wwarc/knowledge_bases/"+set.KBID, nil, &kb)
		return kb.Fragments == 1
	})
	var dt map[string]any
	z.Admin("POST", "/admin/v1/programs/prog-dbg/debug/token", nil, &dt)
	z.FlushTraffic(ctx)
	if err := z.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}

	var sqliteDump bytes.Buffer
	stats, err := server.Export(ctx, "", z.DataDir(), &sqliteDump)
	if err != nil {
		t.Fatal(err)
	}
	for _, table := range []string{"provider", "corp", "app", "program", "program_secret", "access_token", "traffic", "message",
		"event", "notify", "task", "debug_program", "notification", "app_public_key", "media", "kb", "kb_doc", "kb_fragment",
		"kb_posting", "kb_df", store.DumpSequences, store.DumpJobs} {
		if stats.Rows[table] == 0 {
			t.Errorf("the export has no %s rows: the populated zone should have some", table)
		}
	}
	if _, err := server.Import(ctx, pg, "", bytes.NewReader(sqliteDump.Bytes())); err != nil {
		t.Fatal(err)
	}
	var pgDump bytes.Buffer
	if _, err := server.Export(ctx, pg, "", &pgDump); err != nil {
		t.Fatal(err)
	}
	want, got := normalize(t, sqliteDump.Bytes()), normalize(t, pgDump.Bytes())
	for _, table := range slices.Sorted(func(yield func(string) bool) {
		for k := range want {
			if !yield(k) {
				return
			}
		}
	}) {
		if !reflect.DeepEqual(got[table], want[table]) {
			t.Errorf("table %s differs after the move:\nsqlite   %v\npostgres %v", table, want[table], got[table])
		}
	}
	if len(got) != len(want) {
		t.Errorf("postgres has %d tables with rows, sqlite %d", len(got), len(want))
	}
	if _, err := server.Import(ctx, pg, "", bytes.NewReader(sqliteDump.Bytes())); openzone.ErrorCode(err) != openzone.ErrConflict {
		t.Errorf("a second import into the same database: %v, want ErrConflict", err)
	}

	// The zone runs on PostgreSQL with the old archive key: the old token
	// works and the task's result is there.
	key, err := os.ReadFile(filepath.Join(z.DataDir(), "archive.key"))
	if err != nil {
		t.Fatal(err)
	}
	z2 := testenv.Start(t, testenv.Options{DB: pg, ArchiveKey: strings.TrimSpace(string(key))})
	if r := z2.PostApp("/cgi-bin/chatdata/async_program_result", tok2, map[string]any{"jobid": jobID}); testenv.Errcode(r) != 0 ||
		!strings.Contains(fmt.Sprint(r["response_data"]), "异步") {
		t.Fatalf("the moved task through the moved token: %s", testenv.Describe(r))
	}
	// The moved set answers the same query: its sealed fragments open
	// with the old key, its term hashes match.
	var q struct {
		Knowledge string `json:"knowledge"`
	}
	if st := z2.Admin("POST", "/admin/v1/corps/wwarc/knowledge_bases/"+set.KBID+"/query", strings.NewReader(`{"text":"怎么退货"}`), &q); st != 200 ||
		q.Knowledge != "文档1：退货政策：签收后七天内可以无理由退货。" {
		t.Fatalf("the moved knowledge set: HTTP %d %q", st, q.Knowledge)
	}
	// New ids continue above the moved ones.
	if err := z2.Store().TrafficInsert(ctx, &openzone.TrafficRecord{Kind: openzone.TrafficCall, StartedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
}

// TestDumpTablesComplete: every table of the schema, on both drivers, is
// in store.DumpTables, so an export never silently drops one.
func TestDumpTablesComplete(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	type tabler interface {
		Tables(context.Context) ([]string, error)
		Close() error
	}
	opens := []func() (tabler, error){
		func() (tabler, error) { return sqlite.Open(ctx, filepath.Join(t.TempDir(), "zone.db")) },
	}
	if pgtest.Enabled() {
		url := pgtest.URL(t)
		opens = append(opens, func() (tabler, error) { return postgres.Open(ctx, url) })
	}
	for _, open := range opens {
		db, err := open()
		if err != nil {
			t.Fatal(err)
		}
		tables, err := db.Tables(ctx)
		db.Close()
		if err != nil {
			t.Fatal(err)
		}
		for _, table := range tables {
			if !slices.Contains(store.DumpTables, table) {
				t.Errorf("table %s (%T) is not in store.DumpTables", table, db)
			}
		}
	}
}

// TestLoadBatches moves more rows than one COPY takes (5,000) from SQLite
// to PostgreSQL, through the stores directly, and checks every row and the
// id high-water mark arrived.
func TestLoadBatches(t *testing.T) {
	t.Parallel()
	pg := pgtest.URL(t)
	ctx := context.Background()
	src, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "zone.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	const n = 12_001
	err = src.InTx(ctx, func(e store.Executor) error {
		for i := range n {
			if err := e.TrafficInsert(ctx, &openzone.TrafficRecord{Kind: openzone.TrafficCall, RequestID: fmt.Sprint(i), StartedAt: time.UnixMilli(int64(i))}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var rows []store.DumpRow
	if err := src.Dump(ctx, func(r store.DumpRow) error { rows = append(rows, r); return nil }); err != nil {
		t.Fatal(err)
	}
	dst, err := postgres.Open(ctx, pg)
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Close()
	if err := dst.Load(ctx, func(yield func(store.DumpRow, error) bool) {
		for _, r := range rows {
			if !yield(r, nil) {
				return
			}
		}
	}); err != nil {
		t.Fatal(err)
	}
	var count, maxID int64
	if err := dst.Pool().QueryRow(ctx, `SELECT COUNT(*), MAX(id) FROM traffic`).Scan(&count, &maxID); err != nil {
		t.Fatal(err)
	}
	if count != n || maxID != n {
		t.Fatalf("postgres has %d traffic rows up to id %d, want %d", count, maxID, n)
	}
	r := &openzone.TrafficRecord{Kind: openzone.TrafficCall, StartedAt: time.Now()}
	if err := dst.TrafficInsert(ctx, r); err != nil || r.ID != n+1 {
		t.Fatalf("next traffic id %d (%v), want %d", r.ID, err, n+1)
	}
}
