// Package knowledge is the zone's knowledge sets (知识集): the SDK's
// knowledge_base_* interfaces (and their old name document_list), the
// corp admin's sets and grants, learning documents as durable River jobs,
// the knowledge events programs receive, and retrieval — the fragments
// {knowledge} brings into a model's prompt. Text handling is in
// internal/kbtext and internal/docparse; the rules are in docs/decisions.md
// ("Knowledge sets").
package knowledge

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/openzone/openzone"
	"github.com/openzone/openzone/internal/jobs"
	"github.com/openzone/openzone/internal/kbtext"
	"github.com/openzone/openzone/internal/outbound"
	"github.com/openzone/openzone/internal/sealbox"
	"github.com/openzone/openzone/internal/store"
	"github.com/openzone/openzone/internal/webfetch"
)

// Config wires the service.
type Config struct {
	Store store.Store
	Jobs  *jobs.Runner
	// Media opens uploaded files (media.Service).
	Media Media
	// Events stores an event and enqueues its delivery in the caller's
	// transaction (events.Service).
	Events Events
	// Fetcher fetches web_url documents; default webfetch.New under
	// the default outbound policy (the zone passes its own).
	Fetcher Fetcher
	// Key is the zone's 32-byte key: document sources and fragments are
	// sealed, and index terms hashed, with keys derived from it.
	Key    []byte
	Now    func() time.Time
	Logger *slog.Logger
}

// Media opens a file an app uploaded.
type Media interface {
	Open(ctx context.Context, corpID string, agentID int64, mediaID string) (*openzone.Media, []byte, error)
}

// Events raises events in a transaction.
type Events interface {
	Enqueue(ctx context.Context, tx store.Executor, e *openzone.Event) error
}

// Fetcher fetches a web page: its body and Content-Type. An error that
// is a *webfetch.Error with Permanent set is not retried.
type Fetcher interface {
	Fetch(ctx context.Context, url string) ([]byte, string, error)
}

// Service is the knowledge sets of the zone.
type Service struct {
	cfg    Config
	box    *sealbox.Box
	hasher *kbtext.Hasher
}

// New returns the service and registers its learning worker (call before
// the runner starts).
func New(cfg Config) *Service {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Fetcher == nil {
		cfg.Fetcher = webfetch.New(outbound.Policy{}, 0, 0)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	s := &Service{cfg: cfg, box: sealbox.New(cfg.Key, "knowledge"), hasher: kbtext.NewHasher(deriveTermKey(cfg.Key))}
	jobs.Register(cfg.Jobs, &learnWorker{s: s})
	return s
}

// Actor is who changes sets: an app (AgentID > 0), or the corp admin
// (AgentID 0: the console and the admin API).
type Actor struct {
	CorpID  string
	AgentID int64
}

func (a Actor) String() string {
	if a.AgentID == 0 {
		return "the corp admin of " + a.CorpID
	}
	return fmt.Sprintf("app %d of corp %s", a.AgentID, a.CorpID)
}

// deriveTermKey is the key of the index's term hashes.
func deriveTermKey(key []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("openzone knowledge terms v1"))
	return m.Sum(nil)
}

func newID(prefix string) string {
	var b [12]byte
	rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

// set returns the set kbID for actor: change asks to modify it, which only
// its maker may (790024); reading needs it usable (own or granted).
func (s *Service) set(ctx context.Context, a Actor, kbID string, change bool) (*openzone.KnowledgeBase, error) {
	if kbID == "" {
		return nil, openzone.Errorf(openzone.ErrInvalidParam, "missing required parameter kb_id")
	}
	kb, err := s.cfg.Store.KBGet(ctx, kbID)
	if openzone.IsNotFound(err) || err == nil && kb.CorpID != a.CorpID {
		return nil, openzone.Errorf(openzone.ErrBadKnowledgeBase, "illegal kb_id %q: no knowledge set with this id in corp %s", kbID, a.CorpID)
	}
	if err != nil {
		return nil, err
	}
	if kb.Deleted() {
		return nil, openzone.Errorf(openzone.ErrKBDeleted, "knowledge set %q was deleted", kbID)
	}
	switch {
	case a.AgentID == 0:
		// The corp admin sees and changes every set of the corp.
	case change && kb.AgentID != a.AgentID:
		return nil, openzone.Errorf(openzone.ErrKBOtherApp, "knowledge set %q was not created by %s through the API: only its creator may change it", kbID, a)
	case !change && !kb.Usable(a.AgentID):
		return nil, openzone.Errorf(openzone.ErrKBOtherApp, "knowledge set %q belongs to another app and is not granted to %s", kbID, a)
	}
	return kb, nil
}

// Name limits (WeCom's): a set's name 1 to 20 characters, a document's
// 1 to 200 bytes.
const (
	maxKBNameRunes   = 20
	maxDocNameBytes  = 200
	maxDocsPerCreate = 100
	// maxCallBytes bounds the files one call adds: they are held in
	// memory, sealed, until the call's transaction commits.
	maxCallBytes = 256 << 20
)

// invisible reports whether r is a character that shows nothing: control
// and format characters (zero-width spaces and joiners, direction marks,
// BOM), and unassigned code points.
func invisible(r rune) bool {
	return unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || r == utf8.RuneError ||
		!unicode.IsGraphic(r) && !unicode.IsSpace(r)
}

func checkName(field, name string, maxRunes, maxBytes int) (string, error) {
	if strings.ContainsFunc(name, invisible) {
		return "", openzone.Errorf(openzone.ErrKBInvisibleChars, "%s holds invisible characters", field)
	}
	name = strings.TrimSpace(name)
	n := utf8.RuneCountInString(name)
	switch {
	case n == 0:
		return "", openzone.Errorf(openzone.ErrInvalidParam, "missing required parameter %s", field)
	case maxRunes > 0 && n > maxRunes:
		return "", openzone.Errorf(openzone.ErrInvalidParam, "%s is %d characters, at most %d", field, n, maxRunes)
	case maxBytes > 0 && len(name) > maxBytes:
		return "", openzone.Errorf(openzone.ErrKBBadDocName, "%s is %d bytes, at most %d", field, len(name), maxBytes)
	}
	return name, nil
}

// DocSpec is one document to add (doc_list[] of knowledge_base_create and
// knowledge_base_add_doc).
type DocSpec struct {
	DocName     string `json:"doc_name"`
	Type        int    `json:"type"`
	FileMediaID string `json:"file_media_id,omitempty"`
	WebURL      string `json:"web_url,omitempty"`
	DocID       string `json:"docid,omitempty"`
}

// docs checks a doc_list and turns it into documents being learned, their
// sources opened from the actor's media and sealed.
func (s *Service) docs(ctx context.Context, a Actor, kbID string, specs []DocSpec) ([]*openzone.KnowledgeDoc, error) {
	if len(specs) == 0 {
		return nil, openzone.Errorf(openzone.ErrInvalidParam, "missing required parameter doc_list: give at least one document")
	}
	if len(specs) > maxDocsPerCreate {
		return nil, openzone.Errorf(openzone.ErrInvalidParam, "doc_list has %d documents, at most %d in one call", len(specs), maxDocsPerCreate)
	}
	urls := map[string]bool{}
	now := s.cfg.Now()
	size := 0
	out := make([]*openzone.KnowledgeDoc, 0, len(specs))
	for i := range specs {
		sp := &specs[i]
		field := fmt.Sprintf("doc_list[%d]", i)
		name, err := checkName(field+".doc_name", sp.DocName, 0, maxDocNameBytes)
		if openzone.ErrorCode(err) == openzone.ErrInvalidParam {
			err = openzone.Errorf(openzone.ErrKBBadDocName, "%s", openzone.ErrorMessage(err))
		}
		if err != nil {
			return nil, err
		}
		d := &openzone.KnowledgeDoc{DocID: newID("ozd_"), KBID: kbID, CorpID: a.CorpID, AgentID: a.AgentID, Name: name,
			Type: sp.Type, Status: openzone.DocAdding, CreatedAt: now}
		switch sp.Type {
		case openzone.DocPDF, openzone.DocQA, openzone.DocDOCX:
			if sp.WebURL != "" {
				return nil, openzone.Errorf(openzone.ErrInvalidParam, "%s: type %d takes file_media_id, not web_url", field, sp.Type)
			}
			if sp.FileMediaID == "" {
				return nil, openzone.Errorf(openzone.ErrInvalidParam, "missing required parameter %s.file_media_id (type %d is an uploaded file: upload_media first)", field, sp.Type)
			}
			_, data, err := s.cfg.Media.Open(ctx, a.CorpID, a.AgentID, sp.FileMediaID)
			if err != nil {
				return nil, openzone.Errorf(openzone.ErrorCode(err), "%s.file_media_id: %s", field, openzone.ErrorMessage(err))
			}
			if size += len(data); size > maxCallBytes {
				return nil, openzone.Errorf(openzone.ErrInvalidParam, "doc_list: the files add up to more than %d MB in one call; add them in several calls", maxCallBytes>>20)
			}
			d.Source = s.box.Seal(sourceAAD(d.DocID), data)
		case openzone.DocWeb:
			if sp.FileMediaID != "" {
				return nil, openzone.Errorf(openzone.ErrInvalidParam, "%s: type 101 takes web_url, not file_media_id", field)
			}
			if sp.WebURL == "" {
				return nil, openzone.Errorf(openzone.ErrInvalidParam, "missing required parameter %s.web_url (type 101 is a web page)", field)
			}
			if err := openzone.CheckURL(field+".web_url", sp.WebURL); err != nil {
				return nil, openzone.Errorf(openzone.ErrKBBadWebURL, "%s", openzone.ErrorMessage(err))
			}
			if urls[sp.WebURL] {
				return nil, openzone.Errorf(openzone.ErrKBDupWebURL, "%s.web_url %q is given twice", field, sp.WebURL)
			}
			urls[sp.WebURL] = true
			d.WebURL = sp.WebURL
		case openzone.DocDOC:
			return nil, openzone.Errorf(openzone.ErrInvalidParam, "%s.type 5 (legacy Word .doc) is not supported by this zone: save the document as .docx (type 6)", field)
		default:
			return nil, openzone.Errorf(openzone.ErrInvalidParam, "%s.type %d is not one of 2 (pdf), 4 (xlsx Q&A), 6 (docx), 101 (web page)", field, sp.Type)
		}
		sp.DocID = d.DocID
		out = append(out, d)
	}
	return out, nil
}

func sourceAAD(docID string) string { return "source\x00" + docID }

func fragmentAAD(docID string, ord int) string {
	return fmt.Sprintf("fragment\x00%s\x00%d", docID, ord)
}

// addDocs stores documents being learned and enqueues their learning, in
// one transaction: a document exists if and only if it will be learned.
func (s *Service) addDocs(ctx context.Context, tx store.Executor, kbID string, docs []*openzone.KnowledgeDoc) error {
	if err := tx.KBDocInsert(ctx, store.KBDocInsertParams{KBID: kbID, Docs: docs, Max: openzone.MaxKnowledgeDocs}); err != nil {
		return err
	}
	for _, d := range docs {
		if err := s.cfg.Jobs.InsertTx(ctx, tx, LearnArgs{DocID: d.DocID}, nil); err != nil {
			return err
		}
	}
	return nil
}

// Create makes a set with documents for actor and starts learning them.
func (s *Service) Create(ctx context.Context, a Actor, name string, specs []DocSpec) (*openzone.KnowledgeBase, []DocSpec, error) {
	name, err := checkName("kb_name", name, maxKBNameRunes, 0)
	if err != nil {
		return nil, nil, err
	}
	kb := &openzone.KnowledgeBase{KBID: newID("ozkb_"), CorpID: a.CorpID, AgentID: a.AgentID, Name: name, CreatedAt: s.cfg.Now()}
	docs, err := s.docs(ctx, a, kb.KBID, specs)
	if err != nil {
		return nil, nil, err
	}
	err = s.cfg.Store.InTx(ctx, func(tx store.Executor) error {
		if err := tx.KBInsert(ctx, store.KBInsertParams{KB: kb, Max: openzone.MaxKnowledgeBases}); err != nil {
			return err
		}
		return s.addDocs(ctx, tx, kb.KBID, docs)
	})
	if err != nil {
		return nil, nil, err
	}
	kb.Docs = len(docs)
	return kb, specs, nil
}

// AddDocs adds documents to a set actor may change.
func (s *Service) AddDocs(ctx context.Context, a Actor, kbID string, specs []DocSpec) ([]DocSpec, error) {
	if _, err := s.set(ctx, a, kbID, true); err != nil {
		return nil, err
	}
	docs, err := s.docs(ctx, a, kbID, specs)
	if err != nil {
		return nil, err
	}
	if err := s.cfg.Store.InTx(ctx, func(tx store.Executor) error { return s.addDocs(ctx, tx, kbID, docs) }); err != nil {
		return nil, err
	}
	return specs, nil
}

// RemoveDocs removes documents of a set actor may change; the last one
// stays (790028: delete the set instead).
func (s *Service) RemoveDocs(ctx context.Context, a Actor, kbID string, docIDs []string) error {
	if _, err := s.set(ctx, a, kbID, true); err != nil {
		return err
	}
	if len(docIDs) == 0 {
		return openzone.Errorf(openzone.ErrInvalidParam, "missing required parameter docid_list")
	}
	err := s.cfg.Store.KBDocRemove(ctx, store.KBDocRemoveParams{KBID: kbID, DocIDs: docIDs, MinLeft: 1})
	if openzone.IsNotFound(err) {
		return openzone.Errorf(openzone.ErrInvalidParam, "docid_list: %s", openzone.ErrorMessage(err))
	}
	return err
}

// Rename renames a set actor may change.
func (s *Service) Rename(ctx context.Context, a Actor, kbID, name string) error {
	if _, err := s.set(ctx, a, kbID, true); err != nil {
		return err
	}
	name, err := checkName("kb_name", name, maxKBNameRunes, 0)
	if err != nil {
		return err
	}
	return s.cfg.Store.KBRename(ctx, kbID, name)
}

// Delete deletes a set actor may change. When the corp admin deletes one,
// the apps that used it get delete_knowledge_base, in the same transaction.
func (s *Service) Delete(ctx context.Context, a Actor, kbID string) error {
	kb, err := s.set(ctx, a, kbID, true)
	if err != nil {
		return err
	}
	return s.cfg.Store.InTx(ctx, func(tx store.Executor) error {
		deleted, err := tx.KBDelete(ctx, kbID, s.cfg.Now())
		if err != nil || !deleted || a.AgentID != 0 {
			return err
		}
		return s.emit(ctx, tx, kb, "delete_knowledge_base", map[string]any{"knowledge_base_id": kb.KBID, "knowledge_base_name": kb.Name})
	})
}

// Grant grants the corp set kbID to an app (授权) or withdraws it; the app
// gets auth_knowledge_base or unauth_knowledge_base when that changed
// something, in the same transaction. Only the corp admin's sets are
// granted: an app's own set is its own.
func (s *Service) Grant(ctx context.Context, corpID, kbID string, agentID int64, granted bool) error {
	kb, err := s.set(ctx, Actor{CorpID: corpID}, kbID, true)
	if err != nil {
		return err
	}
	if kb.AgentID != 0 {
		return openzone.Errorf(openzone.ErrInvalidParam, "knowledge set %q was created by app %d through the API: it is that app's, and is not granted", kbID, kb.AgentID)
	}
	return s.cfg.Store.InTx(ctx, func(tx store.Executor) error {
		changed, err := tx.KBGrant(ctx, store.KBGrantParams{KBID: kbID, CorpID: corpID, AgentID: agentID, Granted: granted})
		if err != nil || !changed {
			return err
		}
		typ := "unauth_knowledge_base"
		if granted {
			typ = "auth_knowledge_base"
		}
		app, err := tx.AppGet(ctx, corpID, agentID)
		if err != nil {
			return err
		}
		return s.emitTo(ctx, tx, app, typ, "", map[string]any{"knowledge_base_id": kb.KBID, "knowledge_base_name": kb.Name})
	})
}

// Sets returns the live sets of a corp an actor may read: every set for
// the corp admin, the app's own and granted ones for an app.
func (s *Service) Sets(ctx context.Context, a Actor) ([]*openzone.KnowledgeBase, error) {
	all, err := s.cfg.Store.KBList(ctx, a.CorpID)
	if err != nil {
		return nil, err
	}
	if a.AgentID == 0 {
		return all, nil
	}
	out := all[:0]
	for _, kb := range all {
		if kb.Usable(a.AgentID) {
			out = append(out, kb)
		}
	}
	return out, nil
}

// Detail returns a set the actor may read and its documents.
func (s *Service) Detail(ctx context.Context, a Actor, kbID string) (*openzone.KnowledgeBase, []*openzone.KnowledgeDoc, error) {
	kb, err := s.set(ctx, a, kbID, false)
	if err != nil {
		return nil, nil, err
	}
	docs, err := s.cfg.Store.KBDocList(ctx, kbID)
	if err != nil {
		return nil, nil, err
	}
	return kb, docs, nil
}

// recipients are the apps a set's events go to: its maker, or the apps a
// corp set is granted to — those that may hear of knowledge sets.
func recipients(ctx context.Context, tx store.Executor, kb *openzone.KnowledgeBase) ([]*openzone.App, error) {
	ids := kb.Grants
	if kb.AgentID != 0 {
		ids = []int64{kb.AgentID}
	}
	var out []*openzone.App
	for _, id := range ids {
		app, err := tx.AppGet(ctx, kb.CorpID, id)
		if openzone.IsNotFound(err) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, app)
	}
	return out, nil
}

// emit raises an event about kb to each of its recipients.
func (s *Service) emit(ctx context.Context, tx store.Executor, kb *openzone.KnowledgeBase, typ string, payload map[string]any) error {
	apps, err := recipients(ctx, tx, kb)
	if err != nil {
		return err
	}
	for _, app := range apps {
		if err := s.emitTo(ctx, tx, app, typ, "", payload); err != nil {
			return err
		}
	}
	return nil
}

// emitTo raises one event for the app's receiving program, if the app
// may hear of knowledge sets: zone and knowledge permissions, and a
// program chosen with set_receive_callback. id "" mints one.
func (s *Service) emitTo(ctx context.Context, tx store.Executor, app *openzone.App, typ, id string, payload map[string]any) error {
	if s.cfg.Events == nil || !app.ZonePermission || !app.KnowledgePermission || app.ReceiveProgramID == "" {
		return nil
	}
	now := s.cfg.Now()
	data, err := json.Marshal(map[string]any{"event_type": typ, "timestamp": now.Unix(), typ: payload})
	if err != nil {
		return err
	}
	if id == "" {
		id = newID("ev_")
	}
	return s.cfg.Events.Enqueue(ctx, tx, &openzone.Event{ID: id, CorpID: app.CorpID, AgentID: app.AgentID,
		ProgramID: app.ReceiveProgramID, Type: typ, Data: data, State: openzone.EventPending, CreatedAt: now})
}
