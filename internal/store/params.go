package store

import (
	"time"

	"github.com/openzone/openzone"
)

// Parameters of the methods that take more than a context and two
// arguments (River's rule: a struct, named after its method).

type AppSetReceiveProgramParams struct {
	CorpID    string
	AgentID   int64
	ProgramID string
}

type AppProgramsSetParams struct {
	CorpID     string
	AgentID    int64
	ProgramIDs []string
}

type AppProgramHasParams struct {
	CorpID    string
	AgentID   int64
	ProgramID string
}

type TokenFindValidParams struct {
	CorpID  string
	AgentID int64
	Now     time.Time
}

type ReplayRememberParams struct {
	Scope     string
	RequestID string
	Now       time.Time
	Expires   time.Time
}

type DebugListenerLoseParams struct {
	ProgramID  string
	ListenerID string // the connection that must still hold the listener
	At         time.Time
	Reason     string
}

type DebugListenerLoseAllParams struct {
	Node   string // "" = every node
	At     time.Time
	Reason string
}

type DebugSessionGetParams struct {
	CorpID    string
	AgentID   int64
	ProgramID string
}

type TaskDeliveredParams struct {
	JobID       string
	Attempts    int    // the attempt that was acknowledged
	DeliveredTo string // the node (process start) whose instance took it; "" outside the zone
	At          time.Time
}

type NodeHeartbeatParams struct {
	ID   string // one process start of the node
	Name string // the node
	At   time.Time
}

type TaskAttemptFailedParams struct {
	JobID     string
	Attempts  int // the attempt that failed
	ErrCode   int
	LastError string
	Final     bool // the task fails with ErrCode
	At        time.Time
}

type TaskReportParams struct {
	JobID    string
	Errcode  int
	Response []byte
	At       time.Time
}

type AgreeGetSingleParams struct {
	CorpID         string
	UserID         string
	ExternalUserID string
}

type KeywordRuleGetParams struct {
	CorpID  string
	AgentID int64
	RuleID  string
}

type KeywordRuleDeleteParams struct {
	CorpID  string
	AgentID int64
	RuleID  string
}

type KeywordHitListParams struct {
	CorpID   string
	AgentID  int64
	AfterSeq int64
	Limit    int
}

type InstancesPublishParams struct {
	Node      string
	Instances []Instance
	Now       time.Time
}

type NodePublishParams struct {
	Node string
	URL  string // "" removes the node
	Now  time.Time
}

type AuditListParams struct {
	BeforeID int64 // 0: from the newest
	Limit    int
}

type ProgramLogInsertParams struct {
	ProgramID string
	Hour      time.Time // the hour the batch counts in
	Cap       int64     // bytes per program per hour; 0: no cap
	Lines     []*openzone.ProgramLog
	// Sizes are the lines' sizes in bytes, counted against the cap.
	Sizes []int64
	// Counted with the hour besides the lines: dropped before they came
	// (the SDK's buffer was full), above the log level, not lines.
	Dropped, Filtered, Rejected int64
}

type HideConfigGetParams struct {
	CorpID  string
	AgentID int64
	UserID  string
}

type QuotaTakeParams struct {
	Scope   string // what is counted
	Subject string // whose count
	// WindowStart names the counter; WindowEnd is when it may be pruned.
	WindowStart, WindowEnd time.Time
	N, Max                 int64
}

type QuotaGetParams struct {
	Scope, Subject string
	WindowStart    time.Time
}

type KBInsertParams struct {
	KB  *openzone.KnowledgeBase
	Max int // live sets a corp may hold
}

type KBGrantParams struct {
	KBID    string
	CorpID  string
	AgentID int64
	Granted bool // false withdraws
}

type KBDocInsertParams struct {
	KBID string
	Docs []*openzone.KnowledgeDoc
	Max  int // documents the set may hold
}

type KBDocLearnedParams struct {
	DocID     string
	Status    int    // openzone.DocOK or DocFailed
	Reason    string // why it failed
	Chars     int
	Fragments []openzone.KnowledgeFragment
	Postings  []openzone.KnowledgePosting
	At        time.Time
}

type KBDocRemoveParams struct {
	KBID    string
	DocIDs  []string
	MinLeft int // documents that must remain
}

type KBTermsParams struct {
	KBID  string
	Terms []int64
}

// KBFragmentKey names one fragment.
type KBFragmentKey struct {
	DocID string
	Ord   int
}
