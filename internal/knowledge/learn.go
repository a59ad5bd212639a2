package knowledge

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/riverqueue/river"

	"github.com/openzone/openzone"
	"github.com/openzone/openzone/internal/docparse"
	"github.com/openzone/openzone/internal/kbtext"
	"github.com/openzone/openzone/internal/store"
	"github.com/openzone/openzone/internal/webfetch"
)

// Learning runs as a River job per document. A document that cannot be
// read fails at once (status 1, with the reason); a failure that may pass
// (the database, a web page's server) is retried LearnAttempts times on
// internal/jobs' schedule before the document fails with it.
const (
	LearnAttempts = 5
	// LearnTimeout bounds one attempt (a 60 MB document is parsed and
	// indexed well within it).
	LearnTimeout = 5 * time.Minute
	// maxQARunes cuts a Q&A row longer than this: one row is one fragment.
	maxQARunes = 4 * kbtext.ChunkRunes
)

// LearnArgs is the job that learns one document. Its kind never changes.
type LearnArgs struct {
	DocID string `json:"doc_id"`
}

// Kind implements river.JobArgs.
func (LearnArgs) Kind() string { return "kb_learn" }

// InsertOpts implements river.JobArgsWithInsertOpts.
func (LearnArgs) InsertOpts() river.InsertOpts { return river.InsertOpts{MaxAttempts: LearnAttempts} }

type learnWorker struct {
	river.WorkerDefaults[LearnArgs]
	s *Service
}

// Timeout implements river.Worker.
func (w *learnWorker) Timeout(*river.Job[LearnArgs]) time.Duration { return LearnTimeout }

// Work learns the document, then raises knowledge_base_learn_done. Both
// steps are idempotent, so a job run again (after a crash) finishes what
// the last run left: a document already learned is not learned again,
// and the event, whose id is fixed by the document, is raised once.
func (w *learnWorker) Work(ctx context.Context, job *river.Job[LearnArgs]) error {
	s := w.s
	d, err := s.cfg.Store.KBDocGet(ctx, job.Args.DocID)
	if openzone.IsNotFound(err) {
		return nil // removed meanwhile
	}
	if err != nil {
		return err
	}
	if d.Status == openzone.DocAdding {
		p, err := s.learn(ctx, d)
		var retry *retryable
		if errors.As(err, &retry) {
			if job.Attempt < job.MaxAttempts {
				return err
			}
			p = &store.KBDocLearnedParams{Status: openzone.DocFailed, Reason: retry.reason}
		} else if err != nil {
			return err
		}
		p.DocID, p.At = d.DocID, s.cfg.Now()
		if _, err := s.cfg.Store.KBDocLearned(ctx, *p); err != nil {
			return err
		}
		if p.Status == openzone.DocFailed {
			s.cfg.Logger.Info("knowledge: document failed", "doc_id", d.DocID, "kb_id", d.KBID, "reason", p.Reason)
		}
	}
	return s.learnDone(ctx, d.DocID)
}

// retryable is a learning failure that may pass.
type retryable struct{ reason string }

func (r *retryable) Error() string { return r.reason }

// learn reads a document being learned and returns what KBDocLearned
// stores: its fragments and index, or its failure.
func (s *Service) learn(ctx context.Context, d *openzone.KnowledgeDoc) (*store.KBDocLearnedParams, error) {
	failed := func(reason string) (*store.KBDocLearnedParams, error) {
		return &store.KBDocLearnedParams{Status: openzone.DocFailed, Reason: reason}, nil
	}
	var texts []string
	chars := 0
	switch d.Type {
	case openzone.DocWeb:
		body, ct, err := s.cfg.Fetcher.Fetch(ctx, d.WebURL)
		if err != nil {
			var fe *webfetch.Error
			if errors.As(err, &fe) && fe.Permanent {
				return failed(fe.Reason)
			}
			return nil, &retryable{reason: fmt.Sprintf("%v", err)}
		}
		_, text, err := docparse.HTML(body, ct)
		if err != nil {
			return failed(reason(err))
		}
		texts, chars = split(text)
	default:
		sealed, err := s.cfg.Store.KBDocSource(ctx, d.DocID)
		if err != nil {
			return nil, err
		}
		data, err := s.box.Open(sourceAAD(d.DocID), sealed)
		if err != nil {
			return nil, fmt.Errorf("knowledge: source of %s: %w", d.DocID, err)
		}
		switch d.Type {
		case openzone.DocQA:
			rows, err := docparse.QASheet(data)
			if err != nil {
				return failed(reason(err))
			}
			for _, r := range rows {
				t := cut("问题："+r.Question+"，回答："+r.Answer, maxQARunes)
				texts = append(texts, t)
				chars += kbtext.Len(t)
			}
		case openzone.DocPDF, openzone.DocDOCX:
			parse := docparse.PDF
			if d.Type == openzone.DocDOCX {
				parse = docparse.DOCX
			}
			text, err := parse(data)
			if err != nil {
				return failed(reason(err))
			}
			texts, chars = split(text)
		default:
			return failed(fmt.Sprintf("type %d cannot be learned", d.Type))
		}
	}
	if len(texts) == 0 {
		return failed("the document has no text")
	}
	p := &store.KBDocLearnedParams{Status: openzone.DocOK, Chars: chars}
	for ord, t := range texts {
		p.Fragments = append(p.Fragments, openzone.KnowledgeFragment{Ord: ord, Text: s.box.Seal(fragmentAAD(d.DocID, ord), []byte(t))})
	}
	for _, tp := range kbtext.Index(s.hasher, texts) {
		p.Postings = append(p.Postings, openzone.KnowledgePosting{Term: tp.Term, N: len(tp.Entries), Postings: kbtext.Encode(tp.Entries)})
	}
	return p, nil
}

// split cleans text and cuts it into fragments; chars counts the text.
func split(text string) ([]string, int) {
	clean := kbtext.Clean(text)
	return kbtext.Split(clean), kbtext.Len(clean)
}

func cut(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n])
	}
	return s
}

// reason is what a parse failure tells the document's owner.
func reason(err error) string {
	var de *docparse.Error
	if errors.As(err, &de) {
		return de.Reason
	}
	return strings.TrimSpace(err.Error())
}

// learnDone raises knowledge_base_learn_done for a learned (or failed)
// document to its set's recipients, once: the event id is the document's.
func (s *Service) learnDone(ctx context.Context, docID string) error {
	d, err := s.cfg.Store.KBDocGet(ctx, docID)
	if openzone.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if d.Status == openzone.DocAdding {
		return nil
	}
	kb, err := s.cfg.Store.KBGet(ctx, d.KBID)
	if err != nil || kb.Deleted() {
		return err
	}
	apps, err := recipients(ctx, s.cfg.Store, kb)
	if err != nil {
		return err
	}
	payload := map[string]any{"knowledge_base_id": kb.KBID, "knowledge_base_name": kb.Name, "doc_id": d.DocID, "learn_status": d.Status}
	for _, app := range apps {
		err := s.cfg.Store.InTx(ctx, func(tx store.Executor) error {
			return s.emitTo(ctx, tx, app, "knowledge_base_learn_done", fmt.Sprintf("ev_learn_%s_%d", d.DocID, app.AgentID), payload)
		})
		if openzone.ErrorKind(err) == openzone.Conflict {
			continue // raised by an earlier run of this job
		}
		if err != nil {
			return err
		}
	}
	return nil
}
