package openzone

import "time"

// Media is a file an app uploaded with upload_media (上传临时文件到专区):
// usable by zone interfaces only (a knowledge-set document), by the app that
// uploaded it, until ExpiresAt. Data is sealed with the zone's key at rest.
type Media struct {
	MediaID     string
	CorpID      string
	AgentID     int64 // the uploading app; 0 for the corp admin (console, admin API)
	Filename    string
	ContentType string
	Size        int64 // of the plaintext
	Data        []byte
	CreatedAt   time.Time
	ExpiresAt   time.Time
}

// Limits of upload_media (WeCom: 6 B to 60 MB, valid 3 days).
const (
	MediaMinBytes = 6
	MediaMaxBytes = 60 << 20
	MediaTTL      = 72 * time.Hour
)

// KnowledgeBase is a knowledge set (知识集). A set made by an app through
// the SDK (knowledge_base_create) belongs to that app (AgentID), which alone
// may change it; a set the corp admin made (AgentID 0) is used by the apps
// it is granted to (Grants). A deleted set keeps its row (DeletedAt) so a
// later use of its id answers 790034 rather than 800000.
type KnowledgeBase struct {
	KBID      string    `json:"kb_id"`
	CorpID    string    `json:"corpid"`
	AgentID   int64     `json:"agentid"`
	Name      string    `json:"kb_name"`
	Docs      int       `json:"docs"`      // documents, in any status
	Fragments int       `json:"fragments"` // learned fragments, the N of retrieval's IDF
	Grants    []int64   `json:"grants"`    // apps a corp set is granted to (授权), ascending
	CreatedAt time.Time `json:"created_at"`
	DeletedAt time.Time `json:"deleted_at"`
}

// Deleted reports whether the set was deleted.
func (k *KnowledgeBase) Deleted() bool { return !k.DeletedAt.IsZero() }

// Usable reports whether app agentID may read the set: its own, or a corp
// set granted to it.
func (k *KnowledgeBase) Usable(agentID int64) bool {
	if k.AgentID != 0 {
		return k.AgentID == agentID
	}
	for _, a := range k.Grants {
		if a == agentID {
			return true
		}
	}
	return false
}

// Document types of a knowledge set (doc_list[].type).
const (
	DocPDF  = 2   // pdf
	DocQA   = 4   // xlsx in the Q&A template: question and answer columns
	DocDOC  = 5   // legacy Word .doc (refused: docs/decisions.md)
	DocDOCX = 6   // docx
	DocWeb  = 101 // a web page (web_url)
)

// Learning states of a document (knowledge_base_detail status).
const (
	DocOK     = 0 // learned
	DocFailed = 1 // could not be learned; Reason says why
	DocAdding = 2 // being learned
)

// Limits of knowledge sets (WeCom's): sets per corp, documents per set.
const (
	MaxKnowledgeBases = 1000
	MaxKnowledgeDocs  = 1000
)

// KnowledgeDoc is one document of a set. Source is the document as
// added (sealed), kept only until it is learned.
type KnowledgeDoc struct {
	DocID     string    `json:"docid"`
	KBID      string    `json:"kb_id"`
	CorpID    string    `json:"corpid"`
	AgentID   int64     `json:"agentid"` // who added it; 0 the corp admin
	Name      string    `json:"doc_name"`
	Type      int       `json:"type"`
	WebURL    string    `json:"web_url,omitempty"`
	Source    []byte    `json:"-"`
	Status    int       `json:"status"`
	Reason    string    `json:"reason,omitempty"`
	Fragments int       `json:"fragments"`
	Chars     int       `json:"chars"` // characters of text learned
	CreatedAt time.Time `json:"created_at"`
	LearnedAt time.Time `json:"learned_at"`
}

// KnowledgeFragment is one piece of a learned document, the unit
// {knowledge} retrieves. Text is sealed with the zone's key at rest.
type KnowledgeFragment struct {
	DocID string
	Ord   int // position in its document, from 0
	Text  []byte
}

// KnowledgePosting is the inverted index of one term in one document: the
// fragments (by Ord) holding the term and the term's weight in each,
// encoded by internal/kbtext. Term is a keyed hash of the term's text, so
// the index reveals no words; N is the number of fragments listed.
type KnowledgePosting struct {
	Term     int64
	DocID    string
	N        int
	Postings []byte
}

// KnowledgeQuery is what a query retrieves from a set (the admin API's
// query route, the console's search box, openzone kb query): the terms
// it used, the fragments found with why, and the text {knowledge} would
// be given.
type KnowledgeQuery struct {
	KBID      string          `json:"kb_id"`
	Fragments int             `json:"fragments"` // in the set
	Terms     []KnowledgeTerm `json:"terms"`
	Hits      []KnowledgeHit  `json:"hits"`
	Knowledge string          `json:"knowledge"`
}

// KnowledgeTerm is a query term used, with its weight: DF fragments of
// the set hold it.
type KnowledgeTerm struct {
	Text string  `json:"text"`
	DF   int     `json:"df"`
	IDF  float64 `json:"idf"`
}

// KnowledgeHit is a fragment a query found, and why.
type KnowledgeHit struct {
	DocID   string   `json:"docid"`
	DocName string   `json:"doc_name"`
	Ord     int      `json:"ord"`
	Score   float64  `json:"score"`
	Terms   []string `json:"terms"` // the query's terms it holds, rarest first
	Text    string   `json:"text"`
}
