package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/openzone/openzone"
	"github.com/openzone/openzone/internal/store"
)

// Uploaded media (upload_media).

func (e *Executor) MediaInsert(ctx context.Context, m *openzone.Media) error {
	_, err := e.w.Exec(ctx, `INSERT INTO media (media_id, corp_id, agent_id, filename, content_type, size, data, created_at, expires_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, m.MediaID, m.CorpID, m.AgentID, m.Filename, m.ContentType, m.Size,
		nonNilBytes(m.Data), m.CreatedAt.UnixMilli(), m.ExpiresAt.UnixMilli())
	switch {
	case e.eng.IsUnique(err):
		return openzone.Conflict.Wrap(err, "media %q already exists", m.MediaID)
	case e.eng.IsForeignKey(err):
		return e.missingRef(ctx, "media insert", err, corpRef(m.CorpID))
	case err != nil:
		return e.internal("media insert", err)
	}
	return nil
}

func (e *Executor) MediaGet(ctx context.Context, mediaID string) (*openzone.Media, error) {
	var m openzone.Media
	var created, expires int64
	err := e.r.QueryRow(ctx, `SELECT media_id, corp_id, agent_id, filename, content_type, size, data, created_at, expires_at
		FROM media WHERE media_id = ?`, mediaID).Scan(&m.MediaID, &m.CorpID, &m.AgentID, &m.Filename, &m.ContentType,
		&m.Size, &m.Data, &created, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, openzone.NotFound.Errorf("media %q not found", mediaID)
	}
	if err != nil {
		return nil, e.internal("media get", err)
	}
	m.CreatedAt, m.ExpiresAt = fromMillis(created), fromMillis(expires)
	return &m, nil
}

// Knowledge sets (知识集). Every write to a set's documents, fragments
// and index first locks the set's row (kbLock says how strongly), so its
// counts never drift on any node. The fragment count is the sum over the
// set's documents (an index holds it), so learning writes nothing in the
// set's row.

const kbCols = `kb_id, corp_id, agent_id, name, docs,
	(SELECT COALESCE(SUM(d.fragments), 0) FROM kb_doc d WHERE d.kb_id = kb.kb_id), created_at, deleted_at`

func scanKB(s Row) (*openzone.KnowledgeBase, error) {
	var k openzone.KnowledgeBase
	var created int64
	var deleted sql.NullInt64
	if err := s.Scan(&k.KBID, &k.CorpID, &k.AgentID, &k.Name, &k.Docs, &k.Fragments, &created, &deleted); err != nil {
		return nil, err
	}
	k.CreatedAt, k.DeletedAt = fromMillis(created), fromNullMillis(deleted)
	k.Grants = []int64{}
	return &k, nil
}

// kbLock is how a writer locks a set's row (PostgreSQL; SQLite serializes
// every writer). Learning a document holds the set's row the whole
// transaction, so it takes the weakest lock: adding documents, renaming
// and granting do not wait for it (they change the set's own columns,
// which learning never writes), while removing documents and deleting the
// set wait until no document is being written into it.
type kbLock int

const (
	kbLockLearn  kbLock = iota // FOR KEY SHARE: learning a document
	kbLockChange               // FOR NO KEY UPDATE: add documents, rename, grant
	kbLockRemove               // FOR UPDATE: remove documents, delete the set
)

// lockKB locks a set's row until the transaction ends: ErrNotFound when
// there is none, ErrKBDeleted when it was deleted.
func (e *Executor) lockKB(ctx context.Context, op, kbID string, l kbLock) error {
	clause := e.eng.ForUpdate()
	switch l {
	case kbLockLearn:
		clause = e.eng.ForKeyShare()
	case kbLockChange:
		clause = e.eng.ForNoKeyUpdate()
	}
	var deleted sql.NullInt64
	err := e.w.QueryRow(ctx, `SELECT deleted_at FROM kb WHERE kb_id = ?`+clause, kbID).Scan(&deleted)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return openzone.NotFound.Errorf("knowledge set %q not found", kbID)
	case err != nil:
		return e.internal(op, err)
	case deleted.Valid:
		return openzone.Errorf(openzone.ErrKBDeleted, "knowledge set %q was deleted", kbID)
	}
	return nil
}

func (e *Executor) KBInsert(ctx context.Context, p store.KBInsertParams) error {
	k := p.KB
	return e.inTx(ctx, true, func(e *Executor) error {
		// Inserts for one corp queue on its row, so the count holds.
		var n int
		err := e.w.QueryRow(ctx, `SELECT count(*) FROM (SELECT 1 FROM corp WHERE corp_id = ?`+e.eng.ForUpdate()+`) c`, k.CorpID).Scan(&n)
		if err != nil {
			return e.internal("kb insert", err)
		}
		if n == 0 {
			return openzone.NotFound.Errorf("corp %q not found", k.CorpID)
		}
		if err := e.w.QueryRow(ctx, `SELECT count(*) FROM kb WHERE corp_id = ? AND deleted_at IS NULL`, k.CorpID).Scan(&n); err != nil {
			return e.internal("kb insert", err)
		}
		if p.Max > 0 && n >= p.Max {
			return openzone.Errorf(openzone.ErrKBTooMany, "corp %s already has %d knowledge sets, the limit", k.CorpID, p.Max)
		}
		_, err = e.w.Exec(ctx, `INSERT INTO kb (kb_id, corp_id, agent_id, name, docs, created_at, deleted_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			k.KBID, k.CorpID, k.AgentID, k.Name, k.Docs, k.CreatedAt.UnixMilli(), nullMillis(k.DeletedAt))
		switch {
		case e.eng.IsUnique(err):
			return openzone.Conflict.Wrap(err, "knowledge set %q already exists", k.KBID)
		case err != nil:
			return e.internal("kb insert", err)
		}
		return nil
	})
}

func (e *Executor) KBGet(ctx context.Context, kbID string) (*openzone.KnowledgeBase, error) {
	k, err := scanKB(e.r.QueryRow(ctx, `SELECT `+kbCols+` FROM kb WHERE kb_id = ?`, kbID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, openzone.NotFound.Errorf("knowledge set %q not found", kbID)
	}
	if err != nil {
		return nil, e.internal("kb get", err)
	}
	grants, err := list(ctx, e, e.r, "kb get", scanInt64, `SELECT agent_id FROM kb_grant WHERE kb_id = ? ORDER BY agent_id`, kbID)
	if err != nil {
		return nil, err
	}
	k.Grants = append(k.Grants, grants...)
	return k, nil
}

func scanInt64(s Row) (int64, error) {
	var v int64
	err := s.Scan(&v)
	return v, err
}

func (e *Executor) KBList(ctx context.Context, corpID string) ([]*openzone.KnowledgeBase, error) {
	kbs, err := list(ctx, e, e.r, "kb list", scanKB, `SELECT `+kbCols+` FROM kb
		WHERE corp_id = ? AND deleted_at IS NULL ORDER BY created_at, kb_id`, corpID)
	if err != nil {
		return nil, err
	}
	type grant struct {
		kbID    string
		agentID int64
	}
	grants, err := list(ctx, e, e.r, "kb list", func(s Row) (grant, error) {
		var g grant
		err := s.Scan(&g.kbID, &g.agentID)
		return g, err
	}, `SELECT kb_id, agent_id FROM kb_grant WHERE corp_id = ? ORDER BY agent_id`, corpID)
	if err != nil {
		return nil, err
	}
	byID := make(map[string]*openzone.KnowledgeBase, len(kbs))
	for _, k := range kbs {
		byID[k.KBID] = k
	}
	for _, g := range grants {
		if k := byID[g.kbID]; k != nil {
			k.Grants = append(k.Grants, g.agentID)
		}
	}
	return kbs, nil
}

func (e *Executor) KBRename(ctx context.Context, kbID, name string) error {
	return e.inTx(ctx, true, func(e *Executor) error {
		if err := e.lockKB(ctx, "kb rename", kbID, kbLockChange); err != nil {
			return err
		}
		if _, err := e.w.Exec(ctx, `UPDATE kb SET name = ? WHERE kb_id = ?`, name, kbID); err != nil {
			return e.internal("kb rename", err)
		}
		return nil
	})
}

func (e *Executor) KBDelete(ctx context.Context, kbID string, at time.Time) (bool, error) {
	var deleted bool
	err := e.inTx(ctx, true, func(e *Executor) error {
		deleted = false
		err := e.lockKB(ctx, "kb delete", kbID, kbLockRemove)
		if openzone.ErrorCode(err) == openzone.ErrKBDeleted {
			return nil
		}
		if err != nil {
			return err
		}
		// Documents take their fragments and index with them (cascade).
		for _, q := range []string{
			`DELETE FROM kb_grant WHERE kb_id = ?`,
			`DELETE FROM kb_doc WHERE kb_id = ?`,
			`DELETE FROM kb_df WHERE kb_id = ?`,
		} {
			if _, err := e.w.Exec(ctx, q, kbID); err != nil {
				return e.internal("kb delete", err)
			}
		}
		if _, err := e.w.Exec(ctx, `UPDATE kb SET docs = 0, deleted_at = ? WHERE kb_id = ?`, at.UnixMilli(), kbID); err != nil {
			return e.internal("kb delete", err)
		}
		deleted = true
		return nil
	})
	return deleted, err
}

func (e *Executor) KBGrant(ctx context.Context, p store.KBGrantParams) (bool, error) {
	var changed bool
	err := e.inTx(ctx, true, func(e *Executor) error {
		changed = false
		if err := e.lockKB(ctx, "kb grant", p.KBID, kbLockChange); err != nil {
			return err
		}
		q := `DELETE FROM kb_grant WHERE kb_id = ? AND corp_id = ? AND agent_id = ?`
		if p.Granted {
			q = `INSERT INTO kb_grant (kb_id, corp_id, agent_id) VALUES (?, ?, ?) ON CONFLICT (kb_id, agent_id) DO NOTHING`
		}
		n, err := e.w.Exec(ctx, q, p.KBID, p.CorpID, p.AgentID)
		switch {
		case e.eng.IsForeignKey(err):
			return e.missingRef(ctx, "kb grant", err, appRef(p.CorpID, p.AgentID))
		case err != nil:
			return e.internal("kb grant", err)
		}
		changed = n > 0
		return nil
	})
	return changed, err
}

const kbDocCols = `doc_id, kb_id, corp_id, agent_id, name, type, web_url, status, reason, fragments, chars, created_at, learned_at`

func scanKBDoc(s Row) (*openzone.KnowledgeDoc, error) {
	var d openzone.KnowledgeDoc
	var created int64
	var learned sql.NullInt64
	if err := s.Scan(&d.DocID, &d.KBID, &d.CorpID, &d.AgentID, &d.Name, &d.Type, &d.WebURL, &d.Status, &d.Reason,
		&d.Fragments, &d.Chars, &created, &learned); err != nil {
		return nil, err
	}
	d.CreatedAt, d.LearnedAt = fromMillis(created), fromNullMillis(learned)
	return &d, nil
}

func (e *Executor) KBDocInsert(ctx context.Context, p store.KBDocInsertParams) error {
	return e.inTx(ctx, true, func(e *Executor) error {
		if err := e.lockKB(ctx, "kb doc insert", p.KBID, kbLockChange); err != nil {
			return err
		}
		var n int
		if err := e.w.QueryRow(ctx, `SELECT docs FROM kb WHERE kb_id = ?`, p.KBID).Scan(&n); err != nil {
			return e.internal("kb doc insert", err)
		}
		if p.Max > 0 && n+len(p.Docs) > p.Max {
			return openzone.Errorf(openzone.ErrKBTooManyDocs, "knowledge set %q holds %d documents: %d more would pass the limit of %d", p.KBID, n, len(p.Docs), p.Max)
		}
		for _, d := range p.Docs {
			if d.WebURL != "" {
				if err := e.w.QueryRow(ctx, `SELECT count(*) FROM kb_doc WHERE kb_id = ? AND web_url = ?`, p.KBID, d.WebURL).Scan(&n); err != nil {
					return e.internal("kb doc insert", err)
				}
				if n > 0 {
					return openzone.Errorf(openzone.ErrKBDupWebURL, "web_url %q is already a document of knowledge set %q", d.WebURL, p.KBID)
				}
			}
			_, err := e.w.Exec(ctx, `INSERT INTO kb_doc (doc_id, kb_id, corp_id, agent_id, name, type, web_url, source, status, reason,
				fragments, chars, created_at, learned_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
				d.DocID, p.KBID, d.CorpID, d.AgentID, d.Name, d.Type, d.WebURL, nullBytes(d.Source), d.Status, d.Reason,
				d.Fragments, d.Chars, d.CreatedAt.UnixMilli(), nullMillis(d.LearnedAt))
			switch {
			case e.eng.IsUnique(err):
				return openzone.Conflict.Wrap(err, "document %q already exists", d.DocID)
			case err != nil:
				return e.internal("kb doc insert", err)
			}
		}
		if _, err := e.w.Exec(ctx, `UPDATE kb SET docs = docs + ? WHERE kb_id = ?`, len(p.Docs), p.KBID); err != nil {
			return e.internal("kb doc insert", err)
		}
		return nil
	})
}

func (e *Executor) KBDocGet(ctx context.Context, docID string) (*openzone.KnowledgeDoc, error) {
	d, err := scanKBDoc(e.r.QueryRow(ctx, `SELECT `+kbDocCols+` FROM kb_doc WHERE doc_id = ?`, docID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, openzone.NotFound.Errorf("document %q not found", docID)
	}
	if err != nil {
		return nil, e.internal("kb doc get", err)
	}
	return d, nil
}

func (e *Executor) KBDocSource(ctx context.Context, docID string) ([]byte, error) {
	var src []byte
	err := e.r.QueryRow(ctx, `SELECT source FROM kb_doc WHERE doc_id = ?`, docID).Scan(&src)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, openzone.NotFound.Errorf("document %q not found", docID)
	}
	if err != nil {
		return nil, e.internal("kb doc source", err)
	}
	return src, nil
}

func (e *Executor) KBDocList(ctx context.Context, kbID string) ([]*openzone.KnowledgeDoc, error) {
	return list(ctx, e, e.r, "kb doc list", scanKBDoc, `SELECT `+kbDocCols+` FROM kb_doc WHERE kb_id = ? ORDER BY created_at, doc_id`, kbID)
}

// Rows per multi-row INSERT: well under both databases' limits on bound
// parameters (SQLite 32,766, PostgreSQL 65,535).
const insertBatch = 400

// insertRows inserts rows of cols into table, insertBatch at a time;
// suffix follows each statement (an ON CONFLICT clause).
func (e *Executor) insertRows(ctx context.Context, op, table, cols, suffix string, n int, row func(i int) []any) error {
	width := strings.Count(cols, ",") + 1
	tuple := "(" + strings.TrimSuffix(strings.Repeat("?, ", width), ", ") + ")"
	for start := 0; start < n; start += insertBatch {
		end := min(n, start+insertBatch)
		args := make([]any, 0, (end-start)*width)
		for i := start; i < end; i++ {
			args = append(args, row(i)...)
		}
		q := `INSERT INTO ` + table + ` (` + cols + `) VALUES ` + strings.TrimSuffix(strings.Repeat(tuple+", ", end-start), ", ") + suffix
		if _, err := e.w.Exec(ctx, q, args...); err != nil {
			return e.internal(op, err)
		}
	}
	return nil
}

func (e *Executor) KBDocLearned(ctx context.Context, p store.KBDocLearnedParams) (bool, error) {
	// The set of a document never changes: read it before taking locks,
	// which go set first, then document, as every writer of a set does.
	d, err := e.KBDocGet(ctx, p.DocID)
	if openzone.IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	var done bool
	err = e.inTx(ctx, true, func(e *Executor) error {
		done = false
		err := e.lockKB(ctx, "kb doc learned", d.KBID, kbLockLearn)
		if openzone.ErrorKind(err) == openzone.NotFound || openzone.ErrorCode(err) == openzone.ErrKBDeleted {
			return nil
		}
		if err != nil {
			return err
		}
		// The document's row keeps a second run of its job (after a
		// crash) from writing it twice.
		var status int
		err = e.w.QueryRow(ctx, `SELECT status FROM kb_doc WHERE doc_id = ?`+e.eng.ForNoKeyUpdate(), p.DocID).Scan(&status)
		if errors.Is(err, sql.ErrNoRows) || err == nil && status != openzone.DocAdding {
			return nil
		}
		if err != nil {
			return e.internal("kb doc learned", err)
		}
		if err := e.insertRows(ctx, "kb doc learned", "kb_fragment", "doc_id, ord, text", "", len(p.Fragments), func(i int) []any {
			f := p.Fragments[i]
			return []any{p.DocID, f.Ord, nonNilBytes(f.Text)}
		}); err != nil {
			return err
		}
		// Terms in ascending order, so concurrent upserts of one set's
		// frequencies take their row locks in the same order.
		ps := slices.Clone(p.Postings)
		slices.SortFunc(ps, func(a, b openzone.KnowledgePosting) int { return cmp.Compare(a.Term, b.Term) })
		if err := e.insertRows(ctx, "kb doc learned", "kb_posting", "kb_id, term, doc_id, n, postings", "", len(ps), func(i int) []any {
			return []any{d.KBID, ps[i].Term, p.DocID, ps[i].N, nonNilBytes(ps[i].Postings)}
		}); err != nil {
			return err
		}
		if err := e.insertRows(ctx, "kb doc learned", "kb_df", "kb_id, term, df",
			` ON CONFLICT (kb_id, term) DO UPDATE SET df = kb_df.df + excluded.df`, len(ps), func(i int) []any {
				return []any{d.KBID, ps[i].Term, ps[i].N}
			}); err != nil {
			return err
		}
		if _, err := e.w.Exec(ctx, `UPDATE kb_doc SET status = ?, reason = ?, fragments = ?, chars = ?, source = NULL, learned_at = ?
			WHERE doc_id = ?`, p.Status, p.Reason, len(p.Fragments), p.Chars, p.At.UnixMilli(), p.DocID); err != nil {
			return e.internal("kb doc learned", err)
		}
		done = true
		return nil
	})
	return done, err
}

func (e *Executor) KBDocRemove(ctx context.Context, p store.KBDocRemoveParams) error {
	return e.inTx(ctx, true, func(e *Executor) error {
		if err := e.lockKB(ctx, "kb doc remove", p.KBID, kbLockRemove); err != nil {
			return err
		}
		ids := slices.Compact(slices.Sorted(slices.Values(p.DocIDs)))
		for _, id := range ids {
			var n int
			if err := e.w.QueryRow(ctx, `SELECT count(*) FROM kb_doc WHERE doc_id = ? AND kb_id = ?`, id, p.KBID).Scan(&n); err != nil {
				return e.internal("kb doc remove", err)
			}
			if n == 0 {
				return openzone.NotFound.Errorf("document %q is not in knowledge set %q", id, p.KBID)
			}
		}
		var docs int
		if err := e.w.QueryRow(ctx, `SELECT docs FROM kb WHERE kb_id = ?`, p.KBID).Scan(&docs); err != nil {
			return e.internal("kb doc remove", err)
		}
		if docs-len(ids) < p.MinLeft {
			return openzone.Errorf(openzone.ErrKBRemoveAllDocs, "knowledge set %q holds %d documents: removing %d would leave fewer than %d (delete the set instead)", p.KBID, docs, len(ids), p.MinLeft)
		}
		for _, id := range ids {
			// The document's terms leave the set's frequencies; then the
			// document takes its fragments and index with it (cascade).
			if _, err := e.w.Exec(ctx, `UPDATE kb_df SET df = df - (SELECT p.n FROM kb_posting p
				WHERE p.kb_id = kb_df.kb_id AND p.term = kb_df.term AND p.doc_id = ?)
				WHERE kb_id = ? AND term IN (SELECT term FROM kb_posting WHERE doc_id = ?)`, id, p.KBID, id); err != nil {
				return e.internal("kb doc remove", err)
			}
			if _, err := e.w.Exec(ctx, `DELETE FROM kb_df WHERE kb_id = ? AND df <= 0
				AND term IN (SELECT term FROM kb_posting WHERE doc_id = ?)`, p.KBID, id); err != nil {
				return e.internal("kb doc remove", err)
			}
			if _, err := e.w.Exec(ctx, `DELETE FROM kb_doc WHERE doc_id = ?`, id); err != nil {
				return e.internal("kb doc remove", err)
			}
		}
		if _, err := e.w.Exec(ctx, `UPDATE kb SET docs = docs - ? WHERE kb_id = ?`, len(ids), p.KBID); err != nil {
			return e.internal("kb doc remove", err)
		}
		return nil
	})
}

// inTerms runs query, which ends in "term IN (", on the terms a chunk at
// a time, after the leading args.
func inTerms[T any](ctx context.Context, e *Executor, op, query string, terms []int64, scan func(Row) (T, error), args ...any) ([]T, error) {
	var out []T
	for start := 0; start < len(terms); start += insertBatch {
		chunk := terms[start:min(len(terms), start+insertBatch)]
		a := append(slices.Clone(args), make([]any, 0, len(chunk))...)
		for _, t := range chunk {
			a = append(a, t)
		}
		rows, err := list(ctx, e, e.r, op, scan, query+strings.TrimSuffix(strings.Repeat("?, ", len(chunk)), ", ")+`)`, a...)
		if err != nil {
			return nil, err
		}
		out = append(out, rows...)
	}
	return out, nil
}

func (e *Executor) KBDF(ctx context.Context, p store.KBTermsParams) (map[int64]int, error) {
	type df struct {
		term int64
		n    int
	}
	rows, err := inTerms(ctx, e, "kb df", `SELECT term, df FROM kb_df WHERE kb_id = ? AND term IN (`, p.Terms, func(s Row) (df, error) {
		var d df
		err := s.Scan(&d.term, &d.n)
		return d, err
	}, p.KBID)
	if err != nil {
		return nil, err
	}
	out := make(map[int64]int, len(rows))
	for _, r := range rows {
		out[r.term] = r.n
	}
	return out, nil
}

func (e *Executor) KBPostings(ctx context.Context, p store.KBTermsParams) ([]openzone.KnowledgePosting, error) {
	return inTerms(ctx, e, "kb postings", `SELECT term, doc_id, n, postings FROM kb_posting WHERE kb_id = ? AND term IN (`, p.Terms,
		func(s Row) (openzone.KnowledgePosting, error) {
			var kp openzone.KnowledgePosting
			err := s.Scan(&kp.Term, &kp.DocID, &kp.N, &kp.Postings)
			return kp, err
		}, p.KBID)
}

func (e *Executor) KBFragments(ctx context.Context, keys []store.KBFragmentKey) ([]openzone.KnowledgeFragment, error) {
	if len(keys) == 0 {
		return nil, nil
	}
	var where []string
	var args []any
	for _, k := range keys {
		where = append(where, `(doc_id = ? AND ord = ?)`)
		args = append(args, k.DocID, k.Ord)
	}
	return list(ctx, e, e.r, "kb fragments", func(s Row) (openzone.KnowledgeFragment, error) {
		var f openzone.KnowledgeFragment
		err := s.Scan(&f.DocID, &f.Ord, &f.Text)
		return f, err
	}, `SELECT doc_id, ord, text FROM kb_fragment WHERE `+strings.Join(where, " OR ")+` ORDER BY doc_id, ord`, args...)
}
