// Package store is the storage seam of the zone. Two drivers implement
// Store, sqlite/ and postgres/, over one SQL body (sqlstore/): each brings
// its connections, transactions, error classes, migrations and bulk copy;
// storetest/ is the conformance suite both run. Methods are named noun first (River style) and return
// *openzone.Error values: not found is openzone.ErrNotFound, a uniqueness
// clash openzone.ErrConflict. Driver text never reaches callers.
package store

import (
	"context"
	"time"

	"github.com/openzone/openzone"
	"github.com/openzone/openzone/internal/atrest"
)

// Executor is everything a caller can do, on the pool or inside a
// transaction.
type Executor interface {
	ProviderUpsert(ctx context.Context, p *openzone.Provider) error
	ProviderGet(ctx context.Context, id string) (*openzone.Provider, error)
	ProviderList(ctx context.Context) ([]*openzone.Provider, error)

	CorpUpsert(ctx context.Context, c *openzone.Corp) error
	CorpGet(ctx context.Context, corpID string) (*openzone.Corp, error)
	CorpList(ctx context.Context) ([]*openzone.Corp, error)
	MemberUpsert(ctx context.Context, m *openzone.Member) error
	MemberList(ctx context.Context, corpID string) ([]*openzone.Member, error)
	ExternalContactUpsert(ctx context.Context, c *openzone.ExternalContact) error
	ExternalContactList(ctx context.Context, corpID string) ([]*openzone.ExternalContact, error)

	// AppUpsert creates or replaces an app's settings. It keeps the app's
	// ReceiveProgramID (set only by AppSetReceiveProgram).
	AppUpsert(ctx context.Context, a *openzone.App) error
	AppGet(ctx context.Context, corpID string, agentID int64) (*openzone.App, error)
	AppList(ctx context.Context, corpID string) ([]*openzone.App, error)
	// AppFindBySecret returns the app of corpID whose secret is secret.
	AppFindBySecret(ctx context.Context, corpID, secret string) (*openzone.App, error)
	AppSetReceiveProgram(ctx context.Context, p AppSetReceiveProgramParams) error
	// AppProgramsSet replaces the set of programs the app may use.
	AppProgramsSet(ctx context.Context, p AppProgramsSetParams) error
	AppProgramsList(ctx context.Context, corpID string, agentID int64) ([]string, error)
	AppProgramHas(ctx context.Context, p AppProgramHasParams) (bool, error)

	// ProgramUpsert creates or replaces a program and its abilities.
	ProgramUpsert(ctx context.Context, p *openzone.Program) error
	ProgramGet(ctx context.Context, id string) (*openzone.Program, error)
	ProgramList(ctx context.Context) ([]*openzone.Program, error)
	// ProgramSecretGet returns the program's current secret.
	ProgramSecretGet(ctx context.Context, programID string) (*openzone.ProgramSecret, error)
	// ProgramSecretPut stores a secret; a higher Ver replaces the current one.
	ProgramSecretPut(ctx context.Context, s *openzone.ProgramSecret) error

	TokenInsert(ctx context.Context, t *openzone.AccessToken) error
	TokenGet(ctx context.Context, token string) (*openzone.AccessToken, error)
	// TokenFindValid returns the app's newest token still valid at now.
	TokenFindValid(ctx context.Context, p TokenFindValidParams) (*openzone.AccessToken, error)

	// ReplayRemember records a request id seen in a scope until it
	// expires. It returns false when the id was already recorded and has
	// not expired at Now.
	ReplayRemember(ctx context.Context, p ReplayRememberParams) (bool, error)

	// DebugProgramGet returns a program's debug page state; ErrNotFound
	// when neither a receiver nor a credential was ever set.
	DebugProgramGet(ctx context.Context, programID string) (*openzone.DebugProgram, error)
	// DebugProgramByToken returns the id of the program whose current debug
	// credential is token; ErrNotFound when none. (The SDK half of debug
	// mode is opened with the two tokens alone: the credential names the
	// program.)
	DebugProgramByToken(ctx context.Context, token string) (string, error)
	// DebugProgramPut creates or replaces it.
	DebugProgramPut(ctx context.Context, d *openzone.DebugProgram) error

	// DebugListenerSet replaces the program's listener state (and only
	// that).
	DebugListenerSet(ctx context.Context, programID string, l *openzone.DebugListener) error
	// DebugListenerLose marks the listener lost if connection ListenerID
	// still holds it; it reports whether it did.
	DebugListenerLose(ctx context.Context, p DebugListenerLoseParams) (bool, error)
	// DebugListenerLoseAll marks lost every connected listener of Node
	// ("" = every node) and returns how many.
	DebugListenerLoseAll(ctx context.Context, p DebugListenerLoseAllParams) (int64, error)
	// DebugProbeSet replaces the program's last probe result (and only that).
	DebugProbeSet(ctx context.Context, programID string, p *openzone.DebugProbe) error

	DebugSessionGet(ctx context.Context, p DebugSessionGetParams) (*openzone.DebugSession, error)
	// DebugSessionPut creates or replaces a session.
	DebugSessionPut(ctx context.Context, s *openzone.DebugSession) error
	// DebugSessionList returns a program's sessions ordered by corpid, agentid.
	DebugSessionList(ctx context.Context, programID string) ([]*openzone.DebugSession, error)
	// DebugSessionBySecretVer finds the session whose debug secret has ver.
	DebugSessionBySecretVer(ctx context.Context, programID string, ver int) (*openzone.DebugSession, error)

	// NotificationInsert stores n and sets its ID.
	NotificationInsert(ctx context.Context, n *openzone.Notification) error
	// NotificationList returns a provider's notifications, newest first
	// (all providers when providerID is ""); limit default 100, max 1000.
	NotificationList(ctx context.Context, providerID string, limit int) ([]*openzone.Notification, error)

	// AuditAppend records an admin action (its ID is assigned); AuditList
	// returns them newest first, before BeforeID when set (limit default
	// 100, max 1000).
	AuditAppend(ctx context.Context, a *openzone.AuditEntry) error
	AuditList(ctx context.Context, p AuditListParams) ([]*openzone.AuditEntry, error)

	// ChatUpsert creates or replaces a group chat and its member list.
	ChatUpsert(ctx context.Context, c *openzone.Chat) error
	ChatGet(ctx context.Context, corpID, chatID string) (*openzone.Chat, error)
	// ChatList returns a corp's chats ordered by chatid.
	ChatList(ctx context.Context, corpID string) ([]*openzone.Chat, error)

	// MessageInsert archives a message and sets its Seq (increasing across
	// the whole store). A msgid already archived in the corp is ErrConflict.
	MessageInsert(ctx context.Context, m *openzone.Message) error
	MessageGet(ctx context.Context, corpID, msgID string) (*openzone.Message, error)
	// MessageGetByKeyTag finds the message of any corp whose KeyTag is tag
	// and whose msgid is msgID (the display page); ErrNotFound when none.
	MessageGetByKeyTag(ctx context.Context, tag []byte, msgID string) (*openzone.Message, error)
	// MessageListUntagged returns up to limit (max 1000) messages without
	// a KeyTag, in Seq order; MessageSetKeyTag tags one.
	MessageListUntagged(ctx context.Context, limit int) ([]*openzone.Message, error)
	MessageSetKeyTag(ctx context.Context, seq int64, tag []byte) error
	// MessageList returns a corp's messages in ascending Seq.
	MessageList(ctx context.Context, f openzone.MessageFilter) ([]*openzone.Message, error)
	// MessageLastSeq returns the largest Seq in the store (0 when empty).
	MessageLastSeq(ctx context.Context) (int64, error)
	// TaskInsert stores a new task; a job id already stored is ErrConflict.
	TaskInsert(ctx context.Context, t *openzone.Task) error
	TaskGet(ctx context.Context, jobID string) (*openzone.Task, error)
	// TaskList returns tasks newest first, of one callee program (all when
	// programID is ""); limit default 100, max 1000.
	TaskList(ctx context.Context, programID string, limit int) ([]*openzone.Task, error)
	// TaskListPending returns a callee's pending (undelivered) tasks oldest
	// first, in the order they were created.
	TaskListPending(ctx context.Context, programID string, limit int) ([]*openzone.Task, error)
	// TaskDelivered records that an attempt was acknowledged (by an
	// instance of node DeliveredTo, or "" outside the zone): a pending task
	// becomes running. It reports false, changing nothing but the attempt
	// count, when the task is no longer pending (its report came first).
	TaskDelivered(ctx context.Context, p TaskDeliveredParams) (bool, error)
	// TaskOrphans returns running tasks acknowledged by instances of nodes
	// whose last heartbeat is before aliveSince (or that have no row).
	TaskOrphans(ctx context.Context, aliveSince time.Time, limit int) ([]*openzone.Task, error)
	// TaskRequeue turns a running task acknowledged by node deliveredTo
	// back to pending; false when it changed meanwhile (reported, requeued).
	TaskRequeue(ctx context.Context, jobID, deliveredTo string) (bool, error)
	// NodeHeartbeat records that node ID (a process start of node Name) is
	// alive at At.
	NodeHeartbeat(ctx context.Context, p NodeHeartbeatParams) error
	// NodeForget deletes the other process starts of node name: they are
	// dead, since name runs as id now.
	NodeForget(ctx context.Context, name, exceptID string) error
	// TaskAttemptFailed records a failed delivery attempt of a pending
	// task; when Final the task becomes failed with ErrCode. A task that is no
	// longer pending is left as it is.
	TaskAttemptFailed(ctx context.Context, p TaskAttemptFailedParams) error
	// TaskReport stores the callee's report: a pending or running task
	// becomes done. One that already ended is ErrConflict, unchanged.
	TaskReport(ctx context.Context, p TaskReportParams) error
	// TaskPrune deletes tasks whose ExpiresAt is at or before now.
	TaskPrune(ctx context.Context, now time.Time) (int64, error)

	// MessagePrune deletes a corp's messages ingested before before.
	MessagePrune(ctx context.Context, corpID string, before time.Time) (int64, error)

	// AgreeUpsert creates or replaces a consent record, keyed by (corp,
	// userid, external_userid) or (corp, chatid, external_userid).
	AgreeUpsert(ctx context.Context, a *openzone.AgreeStatus) error
	AgreeGetSingle(ctx context.Context, p AgreeGetSingleParams) (*openzone.AgreeStatus, error)
	// AgreeListRoom returns a group's records ordered by external_userid.
	AgreeListRoom(ctx context.Context, corpID, chatID string) ([]*openzone.AgreeStatus, error)

	AppPublicKeyGet(ctx context.Context, corpID string, agentID int64) (*openzone.AppPublicKey, error)
	// AppPublicKeyPut stores an app's key. A Ver not above the stored one
	// is ErrConflict; StartSeq and SetAt of the first key are kept.
	AppPublicKeyPut(ctx context.Context, k *openzone.AppPublicKey) error
	// AppPublicKeyList returns the corp's apps that have a key.
	AppPublicKeyList(ctx context.Context, corpID string) ([]*openzone.AppPublicKey, error)

	// KeywordRuleInsert adds r unless its app already has max rules (max
	// <= 0: no limit); the count and the insert are one atomic step, so
	// concurrent inserts never pass the limit. Over it: ErrTooManyRules.
	KeywordRuleInsert(ctx context.Context, r *openzone.KeywordRule, max int) error
	KeywordRuleGet(ctx context.Context, p KeywordRuleGetParams) (*openzone.KeywordRule, error)
	// KeywordRuleList returns an app's rules ordered by create_time, rule_id.
	KeywordRuleList(ctx context.Context, corpID string, agentID int64) ([]*openzone.KeywordRule, error)
	// KeywordRuleUpdate replaces Name and Body of an existing rule.
	KeywordRuleUpdate(ctx context.Context, r *openzone.KeywordRule) error
	KeywordRuleDelete(ctx context.Context, p KeywordRuleDeleteParams) error
	// KeywordHitInsert records a hit and sets its Seq.
	KeywordHitInsert(ctx context.Context, h *openzone.KeywordHit) error
	// KeywordHitList returns an app's hits with Seq > AfterSeq, ascending.
	KeywordHitList(ctx context.Context, p KeywordHitListParams) ([]*openzone.KeywordHit, error)

	EventTokenInsert(ctx context.Context, t *openzone.EventToken) error
	EventTokenGet(ctx context.Context, token string) (*openzone.EventToken, error)

	EventInsert(ctx context.Context, e *openzone.Event) error
	EventGet(ctx context.Context, id string) (*openzone.Event, error)
	// EventUpdate replaces State, Attempts, LastError, DeliveredAt and
	// FailingSince. A non-empty LastError of an event that stepped aside
	// is stored after "stepped aside: ".
	EventUpdate(ctx context.Context, e *openzone.Event) error
	// EventAhead returns the head of e's line ahead of it: the first event
	// of e's program and corp raised before e (created_at, then insertion
	// order) that is pending and has not stepped aside; ErrNotFound when
	// there is none. EventBehind returns the first such event raised after
	// e.
	EventAhead(ctx context.Context, e *openzone.Event) (*openzone.Event, error)
	EventBehind(ctx context.Context, e *openzone.Event) (*openzone.Event, error)
	// EventStepAside sets SteppedAsideAt and LastError of a pending event
	// not yet stepped aside, and says whether it did.
	EventStepAside(ctx context.Context, id string, at time.Time, lastError string) (bool, error)
	// EventWait sets JobID and LastError of a pending event (one no longer
	// pending is left as it is).
	EventWait(ctx context.Context, id string, jobID int64, lastError string) error
	// EventListPending returns a program's pending events oldest first, in
	// the order they were raised.
	EventListPending(ctx context.Context, programID string, limit int) ([]*openzone.Event, error)
	// EventList returns a program's events newest first ("" = all).
	EventList(ctx context.Context, programID string, limit int) ([]*openzone.Event, error)

	NotifyInsert(ctx context.Context, n *openzone.Notify) error
	NotifyGet(ctx context.Context, notifyID string) (*openzone.Notify, error)

	// ProgramLogLevel returns a program's log level (set_log_level),
	// DefaultLogLevel when none was set.
	ProgramLogLevel(ctx context.Context, programID string) (int, error)
	ProgramLogLevelSet(ctx context.Context, programID string, level int) error
	// ProgramLogInsert keeps as many of Lines, in order, as the hour's cap
	// allows (bytes of the lines, Cap in all for the program's Hour; 0: no
	// cap) and adds the batch's counts to the hour, in one step; it returns
	// how many lines it kept. The rest count as dropped.
	ProgramLogInsert(ctx context.Context, p ProgramLogInsertParams) (int, error)
	// ProgramLogList returns lines newest first.
	ProgramLogList(ctx context.Context, f openzone.ProgramLogFilter) ([]*openzone.ProgramLog, error)
	// ProgramLogHours returns a program's hours from since on, newest first.
	ProgramLogHours(ctx context.Context, programID string, since time.Time) ([]*openzone.ProgramLogHour, error)

	// HideConfigGet returns what the display component hides from a member
	// viewing through an app; ErrNotFound when nothing was set.
	HideConfigGet(ctx context.Context, p HideConfigGetParams) (*openzone.HideConfig, error)
	// HideConfigPut creates or replaces it.
	HideConfigPut(ctx context.Context, c *openzone.HideConfig) error

	// QuotaTake adds N to the counter of (Scope, Subject, WindowStart)
	// unless the sum would pass Max, in one atomic step (concurrent takes
	// on any node never pass it). It returns the count after the take, or
	// as it stands when refused, and whether it was taken.
	QuotaTake(ctx context.Context, p QuotaTakeParams) (used int64, ok bool, err error)
	// QuotaGet returns a counter: 0 when nothing was taken in the window.
	QuotaGet(ctx context.Context, p QuotaGetParams) (int64, error)

	// TagGroupsSet replaces a corp's customer tag groups (客户标签), in
	// the order given; an unknown corp is ErrNotFound.
	TagGroupsSet(ctx context.Context, corpID string, groups []openzone.TagGroup) error
	// TagGroupList returns a corp's tag groups in their order.
	TagGroupList(ctx context.Context, corpID string) ([]openzone.TagGroup, error)

	// WWModelUpsert sets the backend of a WeCom model id; WWModelGet of
	// an id with none set is ErrNotFound.
	WWModelUpsert(ctx context.Context, m *openzone.WWModel) error
	WWModelGet(ctx context.Context, modelID string) (*openzone.WWModel, error)
	WWModelList(ctx context.Context) ([]*openzone.WWModel, error)
	WWModelDelete(ctx context.Context, modelID string) error

	// MediaInsert stores an uploaded file.
	MediaInsert(ctx context.Context, m *openzone.Media) error
	// MediaGet returns a file, expired or not (its reader judges).
	MediaGet(ctx context.Context, mediaID string) (*openzone.Media, error)

	// KBInsert creates a knowledge set unless its corp already has Max
	// live sets (the count and the insert are one step): ErrKBTooMany.
	KBInsert(ctx context.Context, p KBInsertParams) error
	// KBGet returns a set, deleted or not, with its grants.
	KBGet(ctx context.Context, kbID string) (*openzone.KnowledgeBase, error)
	// KBList returns a corp's live sets, oldest first, with their grants.
	KBList(ctx context.Context, corpID string) ([]*openzone.KnowledgeBase, error)
	// KBRename renames a live set.
	KBRename(ctx context.Context, kbID, name string) error
	// KBDelete marks a set deleted and drops its grants, documents,
	// fragments and index in one transaction; a set already deleted is
	// left as it is (false).
	KBDelete(ctx context.Context, kbID string, at time.Time) (bool, error)
	// KBGrant grants a corp set to an app or withdraws it; it reports
	// whether that changed anything.
	KBGrant(ctx context.Context, p KBGrantParams) (bool, error)
	// KBDocInsert adds documents to a live set, refusing (all of them)
	// when the set would hold more than Max documents (ErrKBTooManyDocs)
	// or a web_url it already has (ErrKBDupWebURL).
	KBDocInsert(ctx context.Context, p KBDocInsertParams) error
	// KBDocGet returns a document without its Source.
	KBDocGet(ctx context.Context, docID string) (*openzone.KnowledgeDoc, error)
	// KBDocSource returns the sealed source of a document still being
	// learned (nil once learned).
	KBDocSource(ctx context.Context, docID string) ([]byte, error)
	// KBDocList returns a set's documents, oldest first, without Source.
	KBDocList(ctx context.Context, kbID string) ([]*openzone.KnowledgeDoc, error)
	// KBDocLearned ends the learning of a document still being learned:
	// its fragments and index go in, the set's counts and document
	// frequencies grow, its status becomes Status and its source is
	// dropped — all or nothing. false: the document is gone or no longer
	// being learned (nothing changed).
	KBDocLearned(ctx context.Context, p KBDocLearnedParams) (bool, error)
	// KBDocRemove removes documents of a set with their fragments and
	// index, unless fewer than MinLeft would remain (ErrKBRemoveAllDocs).
	// Ids not in the set are ErrNotFound naming the first.
	KBDocRemove(ctx context.Context, p KBDocRemoveParams) error
	// KBDF returns the document frequency of each of Terms in a set that
	// has it (terms no fragment holds are absent).
	KBDF(ctx context.Context, p KBTermsParams) (map[int64]int, error)
	// KBPostings returns the index rows of Terms in a set.
	KBPostings(ctx context.Context, p KBTermsParams) ([]openzone.KnowledgePosting, error)
	// KBFragments returns the fragments named by Keys (those that exist).
	KBFragments(ctx context.Context, keys []KBFragmentKey) ([]openzone.KnowledgeFragment, error)

	TrafficInsert(ctx context.Context, r *openzone.TrafficRecord) error
	TrafficGet(ctx context.Context, id int64) (*openzone.TrafficRecord, error)
	// TrafficList returns records newest first (AfterID: only ids above it).
	TrafficList(ctx context.Context, f openzone.TrafficFilter) ([]*openzone.TrafficRecord, error)
}

// Store is a database: an Executor plus transactions and lifecycle.
type Store interface {
	Executor
	// InTx runs fn in one transaction; it commits when fn returns nil. A
	// driver may run fn more than once (PostgreSQL retries a transaction a
	// concurrent one aborted), so fn must have no effect outside the
	// transaction, or must set it afresh each time it runs.
	InTx(ctx context.Context, fn func(Executor) error) error
	// Prune deletes expired tokens and replay ids older than now.
	Prune(ctx context.Context, now time.Time) error
	// TrafficPrune deletes traffic records that started before before and
	// returns how many it deleted.
	TrafficPrune(ctx context.Context, before time.Time) (int64, error)
	// SealSecrets makes the store seal secrets at rest with box from now
	// on and seals those stored before; it returns how many it sealed.
	// Called once, before the store serves.
	SealSecrets(ctx context.Context, box *atrest.Box) (int, error)
	// ProgramLogPrune deletes log lines received, and hours that ended,
	// before before, and returns how many lines it deleted.
	ProgramLogPrune(ctx context.Context, before time.Time) (int64, error)
	Close() error
}

// Cluster is what a store shared by several zone nodes offers
// (PostgreSQL): settings every node must agree on and the address book of
// program instances, so a node can reach an instance another node runs.
// The SQLite store, one process by construction, does not implement it.
type Cluster interface {
	// SettingPutIfAbsent stores value under name unless a value is stored
	// already, and returns the stored value (the first writer wins).
	SettingPutIfAbsent(ctx context.Context, name, value string) (string, error)
	// SettingReplace changes a setting from old to value (a setting that
	// is no longer old is left alone).
	SettingReplace(ctx context.Context, name, old, value string) error
	// InstancesPublish replaces Node's published instances with
	// Instances, stamped Now.
	InstancesPublish(ctx context.Context, p InstancesPublishParams) error
	// InstanceFind returns the published instance called name if it was
	// stamped at or after since; ErrNotFound otherwise.
	InstanceFind(ctx context.Context, name string, since time.Time) (*Instance, error)
	// NodePublish records where Node is reached (its zone URL), stamped
	// Now; URL "" removes it.
	NodePublish(ctx context.Context, p NodePublishParams) error
	// NodeURL returns where node is reached if it was stamped at or after
	// since; ErrNotFound otherwise.
	NodeURL(ctx context.Context, node string, since time.Time) (string, error)
}

// Instance is a program instance as published for other nodes.
type Instance struct {
	Name      string
	Node      string
	Host      string // the publishing node's hostname
	ProgramID string
	URL       string
}
