package bench

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	mrand "math/rand/v2"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/openzone/openzone/internal/docparse/docgen"
	"github.com/openzone/openzone/internal/store/postgres/pgtest"
)

// KBSeed is one corp and one app holding the knowledge-set permission.
const KBSeed = `
corps:
  - {corpid: wwbench, name: Bench Corp}
apps:
  - {corpid: wwbench, agentid: 1000002, type: self_built, secret: bench-secret, knowledge_permission: true}
`

// kbLearnWait bounds the wait for one add to be learned: a guard against
// a hang, not a target (10 MB took over 10 minutes on a loaded machine).
const kbLearnWait = time.Hour

// runKB measures knowledge sets (知识集) on each database (SQLite, and
// PostgreSQL when Options.Postgres is set), on an in-process zone:
//
//	learn     a set of mixed documents (.docx, .xlsx Q&A, web pages served
//	          on loopback) totalling ~10 MB, uploaded and added in one
//	          knowledge set; documents and MB learned per second, from the
//	          create call until no document is being learned
//	retrieve  a set grown by synthetic Chinese .docx documents (words
//	          drawn from a Zipf-distributed vocabulary) to 10,000 and then
//	          100,000 fragments; at each size, chat-like queries one after
//	          another through the admin API's query route (the retrieval
//	          {knowledge} makes, plus one loopback HTTP round trip)
func runKB(ctx context.Context, r *runner) (*Section, error) {
	learnMB := pick(r, 10.0, 0.3)
	sizes := pick(r, []int{10_000, 100_000}, []int{300, 600})
	queries := pick(r, 500, 30)
	growBytes := pick(r, 200_000, 20_000)
	var dbs []struct{ name, url string }
	if !r.opts.KBPostgresOnly {
		dbs = append(dbs, struct{ name, url string }{"sqlite", ""})
	}
	if r.opts.Postgres != "" {
		dbs = append(dbs, struct{ name, url string }{"postgres", r.opts.Postgres})
	}
	sec := &Section{Settings: fmt.Sprintf("learn: %.1f MB of .docx, .xlsx Q&A and web pages in one set; retrieve: %d queries one at a time at %v fragments (synthetic Chinese, fragments of ≤400 characters, K=5)",
		learnMB, queries, sizes)}
	if r.opts.Postgres == "" {
		sec.Notes = append(sec.Notes, "PostgreSQL not measured: give --pg URL (a database the bench may create a schema in)")
	}
	web := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, docgen.Page(strings.TrimPrefix(req.URL.Path, "/"), 30_000))
	}))
	defer web.Close()
	for _, db := range dbs {
		url, drop, err := r.kbDatabase(ctx, db.url)
		if err != nil {
			return nil, err
		}
		err = r.kbOn(ctx, sec, db.name, url, web.URL, learnMB, sizes, queries, growBytes)
		drop()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", db.name, err)
		}
	}
	return sec, nil
}

// kbDatabase returns the zone's database: "" (SQLite in the zone's data
// directory), or a new schema of the PostgreSQL database base, dropped by
// drop.
func (r *runner) kbDatabase(ctx context.Context, base string) (string, func(), error) {
	if base == "" {
		return "", func() {}, nil
	}
	var b [6]byte
	rand.Read(b[:])
	schema := "ozbench_" + hex.EncodeToString(b[:])
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		return "", nil, fmt.Errorf("postgres: %w", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `CREATE SCHEMA `+schema); err != nil {
		return "", nil, fmt.Errorf("postgres: %w", err)
	}
	drop := func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if conn, err := pgx.Connect(ctx, base); err == nil {
			conn.Exec(ctx, `DROP SCHEMA `+schema+` CASCADE`)
			conn.Close(ctx)
		}
	}
	return pgtest.WithParam(base, "search_path", schema), drop, nil
}

func (r *runner) kbOn(ctx context.Context, sec *Section, dbName, dbURL, webURL string, learnMB float64, sizes []int, queries, growBytes int) error {
	z, stop, err := r.startZoneOn(ctx, "kb-"+dbName, KBSeed, dbURL)
	if err != nil {
		return err
	}
	defer stop()
	rng := mrand.New(mrand.NewPCG(1, 2))
	gen := docgen.New(rng)

	// Learning: mixed documents, ~learnMB in all.
	var docs []map[string]any
	total, n := 0, 0
	for float64(total) < learnMB*(1<<20) {
		var name string
		var data []byte
		switch n % 5 {
		case 0, 1:
			name, data = fmt.Sprintf("doc%d.docx", n), gen.DOCX(200_000)
		case 2:
			name, data = fmt.Sprintf("qa%d.xlsx", n), gen.XLSX(300)
		default:
			docs = append(docs, map[string]any{"doc_name": fmt.Sprintf("page%d", n), "type": 101, "web_url": fmt.Sprintf("%s/p%d", webURL, n)})
			total += len(docgen.Page(fmt.Sprintf("p%d", n), 30_000))
			n++
			continue
		}
		id, err := z.kbUpload(ctx, name, data)
		if err != nil {
			return err
		}
		typ := 6
		if strings.HasSuffix(name, ".xlsx") {
			typ = 4
		}
		docs = append(docs, map[string]any{"doc_name": name, "type": typ, "file_media_id": id})
		total += len(data)
		n++
	}
	start := time.Now()
	kbID := ""
	for i := 0; i < len(docs); i += 100 {
		if kbID, err = z.kbAdd(ctx, kbID, "learn", docs[i:min(len(docs), i+100)]); err != nil {
			return err
		}
	}
	frags, err := z.kbLearned(ctx, kbID, kbLearnWait)
	if err != nil {
		return err
	}
	el := time.Since(start).Seconds()
	sec.Values = append(sec.Values,
		Value{Name: dbName + " learn: documents/s", Value: float64(len(docs)) / el, Unit: "docs/s"},
		Value{Name: dbName + " learn: MB/s (source files)", Value: float64(total) / (1 << 20) / el, Unit: "MB/s"},
		Value{Name: dbName + " learn: fragments/s", Value: float64(frags) / el, Unit: "fragments/s"})
	r.progressf("   %-8s learn  %d documents, %.1f MB, %d fragments in %.1f s", dbName, len(docs), float64(total)/(1<<20), frags, el)

	// Retrieval: grow one set to each size, then query it.
	big := ""
	have := 0
	for _, size := range sizes {
		for have < size {
			var batch []map[string]any
			for range 10 {
				// ~220 fragments: 100,000 stay within a set's 1,000
				// documents (at 80 KB, ~87 each, they did not).
				id, err := z.kbUpload(ctx, "big.docx", gen.DOCX(growBytes))
				if err != nil {
					return err
				}
				batch = append(batch, map[string]any{"doc_name": "big.docx", "type": 6, "file_media_id": id})
			}
			if big, err = z.kbAdd(ctx, big, "retrieve", batch); err != nil {
				return err
			}
			if have, err = z.kbLearned(ctx, big, kbLearnWait); err != nil {
				return err
			}
			r.progressf("   %-8s grow   %d fragments", dbName, have)
		}
		lat := make([]time.Duration, 0, queries)
		t0 := time.Now()
		for range queries {
			q := gen.Chat()
			s := time.Now()
			if err := z.kbQuery(ctx, big, q); err != nil {
				return err
			}
			lat = append(lat, time.Since(s))
		}
		p := Summarize(fmt.Sprintf("%s %dk fragments", dbName, (have+500)/1000), 1, lat, time.Since(t0))
		if have < 1000 {
			p.Variant = fmt.Sprintf("%s %d fragments", dbName, have)
		}
		sec.Points = append(sec.Points, p)
		r.progressf("   %-8s query  %d fragments: p50 %.2f ms  p99 %.2f ms", dbName, have, p.P50ms, p.P99ms)
		if dbName == "sqlite" && size == 100_000 {
			sec.Targets = append(sec.Targets, target("retrieval p99 at 100,000 fragments, SQLite", p.P99ms, "<=", 20, "ms"))
		}
	}
	return nil
}

// kbUpload uploads a file for the corp admin and returns its media_id.
func (z *zone) kbUpload(ctx context.Context, name string, data []byte) (string, error) {
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	fw, _ := mw.CreateFormFile("media", name)
	fw.Write(data)
	mw.Close()
	var m struct {
		MediaID string `json:"media_id"`
	}
	if err := z.admin(ctx, "POST", "/admin/v1/corps/wwbench/media", rawBody{mw.FormDataContentType(), &body}, &m); err != nil {
		return "", err
	}
	return m.MediaID, nil
}

// kbAdd creates a corp set (kbID "") with docs, or adds docs to kbID.
func (z *zone) kbAdd(ctx context.Context, kbID, name string, docs []map[string]any) (string, error) {
	var out struct {
		KBID string `json:"kb_id"`
	}
	path := "/admin/v1/corps/wwbench/knowledge_bases"
	if kbID != "" {
		path += "/" + kbID + "/docs"
	}
	if err := z.admin(ctx, "POST", path, map[string]any{"kb_name": name, "doc_list": docs}, &out); err != nil {
		return "", err
	}
	if kbID != "" {
		return kbID, nil
	}
	return out.KBID, nil
}

// kbLearned waits until no document of the set is being learned and
// returns its fragment count; a failed document is an error.
func (z *zone) kbLearned(ctx context.Context, kbID string, within time.Duration) (int, error) {
	var frags int
	var failed error
	err := eventually(ctx, within, "the documents of "+kbID+" to be learned", func() bool {
		var set struct {
			Fragments int `json:"fragments"`
			DocList   []struct {
				Status int    `json:"status"`
				Reason string `json:"reason"`
			} `json:"doc_list"`
		}
		if z.admin(ctx, "GET", "/admin/v1/corps/wwbench/knowledge_bases/"+kbID, nil, &set) != nil {
			return false
		}
		for _, d := range set.DocList {
			if d.Status == 1 && failed == nil {
				failed = fmt.Errorf("a document could not be learned: %s", d.Reason)
			}
			if d.Status == 2 {
				return failed != nil
			}
		}
		frags = set.Fragments
		return true
	})
	if failed != nil {
		return 0, failed
	}
	return frags, err
}

func (z *zone) kbQuery(ctx context.Context, kbID, text string) error {
	var out struct {
		Hits []json.RawMessage `json:"hits"`
	}
	if err := z.admin(ctx, "POST", "/admin/v1/corps/wwbench/knowledge_bases/"+kbID+"/query", map[string]any{"text": text}, &out); err != nil {
		return err
	}
	if len(out.Hits) == 0 {
		return fmt.Errorf("query %q retrieved nothing", text)
	}
	return nil
}
