package postgres_test

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openzone/openzone"

	"github.com/openzone/openzone/internal/store"
	"github.com/openzone/openzone/internal/store/postgres"
	"github.com/openzone/openzone/internal/store/postgres/pgtest"
	"github.com/openzone/openzone/internal/store/storetest"
)

func TestStore(t *testing.T) {
	pgtest.Require(t)
	t.Parallel()
	storetest.Run(t, func(t *testing.T) store.Store {
		return mustOpen(t, pgtest.URL(t))
	})
}

func mustOpen(tb testing.TB, url string) *postgres.DB {
	tb.Helper()
	return storetest.MustOpen(tb, postgres.Open, url)
}

// TestOpen_Migrations: nodes starting together on a fresh schema apply
// each migration once; reopening applies nothing; a database migrated by
// a newer binary is refused.
func TestOpen_Migrations(t *testing.T) {
	pgtest.Require(t)
	t.Parallel()
	ctx := t.Context()
	url := pgtest.URL(t)
	const nodes = 4
	errs := make(chan error, nodes)
	for range nodes {
		go func() {
			db, err := postgres.Open(ctx, url)
			if err == nil {
				db.Close()
			}
			errs <- err
		}()
	}
	for range nodes {
		if err := <-errs; err != nil {
			t.Fatalf("concurrent Open: %v", err)
		}
	}
	db := mustOpen(t, url)
	var applied, distinct int
	if err := db.Pool().QueryRow(ctx, `SELECT COUNT(*), COUNT(DISTINCT version) FROM openzone_migrations`).Scan(&applied, &distinct); err != nil {
		t.Fatal(err)
	}
	if applied == 0 || applied != distinct {
		t.Fatalf("%d migrations recorded, %d distinct: want each once", applied, distinct)
	}
	if _, err := db.Pool().Exec(ctx, `INSERT INTO openzone_migrations (version, applied_at) VALUES (999, 0)`); err != nil {
		t.Fatal(err)
	}
	if db2, err := postgres.Open(ctx, url); err == nil {
		db2.Close()
		t.Fatal("Open accepted a database with a migration this binary does not know")
	}
}

// TestErrors: input PostgreSQL cannot store is the caller's error
// (40058), never a system error; a bad URL does not echo its password.
func TestErrors(t *testing.T) {
	pgtest.Require(t)
	t.Parallel()
	ctx := t.Context()
	db := mustOpen(t, pgtest.URL(t))
	for _, tc := range []struct {
		name string
		err  error
	}{
		{"NULInName", db.CorpUpsert(ctx, &openzone.Corp{CorpID: "wwcorp", Name: "a\x00b"})},
		{"NULInID", db.ProviderUpsert(ctx, &openzone.Provider{ID: "isv\x00"})},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := openzone.ErrorCode(tc.err); got != openzone.ErrInvalidParam {
				t.Fatalf("ErrorCode = %d (%v), want %d", got, tc.err, openzone.ErrInvalidParam)
			}
		})
	}
	_, err := postgres.Open(ctx, "postgres://u:s3cret@127.0.0.1:1/db?connect_timeout=nope")
	if err == nil || strings.Contains(err.Error(), "s3cret") {
		t.Fatalf("Open with a bad URL: %v, want an error without the password", err)
	}
}

// TestCluster: settings are written once by whichever node comes first;
// published instances are found until they are stale or unpublished.
func TestCluster(t *testing.T) {
	pgtest.Require(t)
	t.Parallel()
	ctx := t.Context()
	url := pgtest.URL(t)
	a, b := mustOpen(t, url), mustOpen(t, url)

	v, err := a.SettingPutIfAbsent(ctx, "admin_token", "from-a")
	if err != nil || v != "from-a" {
		t.Fatalf("first SettingPutIfAbsent = %q, %v", v, err)
	}
	if v, err := b.SettingPutIfAbsent(ctx, "admin_token", "from-b"); err != nil || v != "from-a" {
		t.Fatalf("second SettingPutIfAbsent = %q, %v; want the first value", v, err)
	}

	now := time.Now()
	inst := store.Instance{Name: "node-a/prog#1", ProgramID: "prog", URL: "http://10.0.0.1:4000"}
	if err := a.InstancesPublish(ctx, store.InstancesPublishParams{Node: "node-a", Instances: []store.Instance{inst}, Now: now}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		since time.Time
		found bool
	}{
		{"Fresh", now.Add(-time.Second), true},
		{"Stale", now.Add(time.Second), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := b.InstanceFind(ctx, inst.Name, tc.since)
			if tc.found {
				if err != nil || got.URL != inst.URL || got.Node != "node-a" {
					t.Fatalf("InstanceFind = %+v, %v", got, err)
				}
				return
			}
			if openzone.ErrorCode(err) != openzone.ErrNotFound {
				t.Fatalf("InstanceFind = %+v, %v; want not found", got, err)
			}
		})
	}
	if err := a.InstancesPublish(ctx, store.InstancesPublishParams{Node: "node-a", Instances: nil, Now: now}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.InstanceFind(ctx, inst.Name, now.Add(-time.Second)); openzone.ErrorCode(err) != openzone.ErrNotFound {
		t.Fatalf("after unpublishing: %v, want not found", err)
	}
}

// TestInTx_SerializableRetry: read-modify-write transactions on two pools
// (two nodes) never lose an update: each increments a counter it read,
// and the serialization failures PostgreSQL raises are retried.
func TestInTx_SerializableRetry(t *testing.T) {
	pgtest.Require(t)
	t.Parallel()
	ctx := t.Context()
	url := pgtest.URL(t)
	a, b := mustOpen(t, url), mustOpen(t, url)
	if err := a.CorpUpsert(ctx, &openzone.Corp{CorpID: "wwcorp", RetentionDays: 1}); err != nil {
		t.Fatal(err)
	}
	const each = 10
	var wg sync.WaitGroup
	errs := make(chan error, 2*each)
	for _, db := range []*postgres.DB{a, b} {
		for range each {
			wg.Go(func() {
				errs <- db.InTx(ctx, func(e store.Executor) error {
					c, err := e.CorpGet(ctx, "wwcorp")
					if err != nil {
						return err
					}
					c.RetentionDays++
					return e.CorpUpsert(ctx, c)
				})
			})
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("InTx: %v", err)
		}
	}
	c, err := a.CorpGet(ctx, "wwcorp")
	if err != nil || c.RetentionDays != 1+2*each {
		t.Fatalf("counter = %+v, %v; want %d (no lost update)", c, err, 1+2*each)
	}
}

// TestKnowledgeLocks: adding documents to a set and renaming it do not wait
// for a document being learned into it (its transaction holds the set's
// row from its start, with the weakest lock), so knowledge_base_add_doc
// answers at once while large documents are learned. The counts hold
// after.
func TestKnowledgeLocks(t *testing.T) {
	pgtest.Require(t)
	t.Parallel()
	ctx := t.Context()
	db := mustOpen(t, pgtest.URL(t))
	now := time.Now()
	if err := db.CorpUpsert(ctx, &openzone.Corp{CorpID: "wwcorp"}); err != nil {
		t.Fatal(err)
	}
	kb := &openzone.KnowledgeBase{KBID: "kb", CorpID: "wwcorp", Name: "kb", CreatedAt: now}
	if err := db.KBInsert(ctx, store.KBInsertParams{KB: kb}); err != nil {
		t.Fatal(err)
	}
	doc := func(id string) *openzone.KnowledgeDoc {
		return &openzone.KnowledgeDoc{DocID: id, KBID: "kb", CorpID: "wwcorp", Name: id, Type: openzone.DocDOCX, Status: openzone.DocAdding, CreatedAt: now}
	}
	if err := db.KBDocInsert(ctx, store.KBDocInsertParams{KBID: "kb", Docs: []*openzone.KnowledgeDoc{doc("d0")}}); err != nil {
		t.Fatal(err)
	}

	// While d0's learning transaction is open, another connection adds d1
	// and renames the set. (The learning transaction may run twice: the
	// set's row changed under it.)
	var once sync.Once
	done := make(chan error, 1)
	err := db.InTx(ctx, func(e store.Executor) error {
		if _, err := e.KBDocLearned(ctx, store.KBDocLearnedParams{DocID: "d0", Status: openzone.DocOK, At: now,
			Fragments: []openzone.KnowledgeFragment{{Ord: 0, Text: []byte("x")}},
			Postings:  []openzone.KnowledgePosting{{Term: 7, N: 1, Postings: []byte{0, 1}}}}); err != nil {
			return err
		}
		once.Do(func() {
			go func() {
				err := db.KBDocInsert(ctx, store.KBDocInsertParams{KBID: "kb", Docs: []*openzone.KnowledgeDoc{doc("d1")}})
				if err == nil {
					err = db.KBRename(ctx, "kb", "renamed")
				}
				done <- err
			}()
			// A guard against a hang, not a timing: an add that waits for
			// this transaction would wait for ever.
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("add during learning: %v", err)
				}
			case <-time.After(time.Minute):
				t.Error("adding a document waited for a document being learned")
			}
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if t.Failed() {
		// The add is still waiting: let it finish before the test ends.
		<-done
		t.FailNow()
	}
	if err := db.KBDocRemove(ctx, store.KBDocRemoveParams{KBID: "kb", DocIDs: []string{"d1"}, MinLeft: 1}); err != nil {
		t.Fatal(err)
	}
	got, err := db.KBGet(ctx, "kb")
	if err != nil || got.Name != "renamed" || got.Docs != 1 || got.Fragments != 1 {
		t.Fatalf("set %+v, %v: want renamed, 1 document, 1 fragment", got, err)
	}
}
