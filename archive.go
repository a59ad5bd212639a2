package openzone

import (
	"encoding/json"
	"time"
)

// Party is a message sender or receiver: Type 1 member (员工), 2 external
// contact (客户), 3 bot (机器人).
type Party struct {
	Type int    `json:"type"`
	ID   string `json:"id"`
}

// Party types.
const (
	PartyMember   = 1
	PartyExternal = 2
	PartyBot      = 3
)

// Chat is a group chat (群聊) of a corp.
type Chat struct {
	CorpID     string       `json:"corpid"`
	ChatID     string       `json:"chatid"`
	Name       string       `json:"name"`
	Owner      string       `json:"owner"`
	CreateTime time.Time    `json:"create_time"`
	Members    []ChatMember `json:"members"`
}

// ChatMember is one member of a group chat; Type as WeCom's get_group_chat:
// 1 member, 2 external contact, 3 member of a linked corp.
type ChatMember struct {
	MemberID string    `json:"memberid"`
	Type     int       `json:"type"`
	JoinTime time.Time `json:"jointime"`
}

// Message is one archived message (会话记录). Its content never lies in the
// store in clear: Content is sealed with the message's own random secret key
// (AES-256-GCM), and SealedKey is that key sealed with the zone's archive
// key, so that a copy of the database alone reveals no message.
type Message struct {
	CorpID    string          `json:"corpid"`
	MsgID     string          `json:"msgid"`
	Seq       int64           `json:"seq"` // store-assigned, increasing: the order of ingestion
	Sender    Party           `json:"sender"`
	Receivers []Party         `json:"receiver_list"`
	ChatID    string          `json:"chatid,omitempty"`
	SendTime  time.Time       `json:"send_time"`
	MsgType   int             `json:"msgtype"`
	Extra     json.RawMessage `json:"extra_info,omitempty"` // metadata in clear (e.g. call_duration)
	Content   []byte          `json:"-"`
	SealedKey []byte          `json:"-"`
	// KeyTag identifies the message by its secret_key without revealing
	// it (an HMAC under a key derived from the archive key): the display
	// page's one indexed lookup. Nil on messages not tagged yet.
	KeyTag []byte `json:"-"`
	// Ingested is when the zone archived it (the 5-day window of sync_msg).
	Ingested time.Time `json:"-"`
}

// MessageFilter selects messages of one corp; zero fields do not filter.
type MessageFilter struct {
	CorpID   string
	AfterSeq int64     // seq > AfterSeq
	Since    time.Time // ingested at or after
	ChatID   string
	Limit    int // default 100, max 1000
}

// AgreeStatus is a consent record (同意会话存档): for a single chat
// (UserID, ExternalUserID) or for a group (ChatID, ExternalUserID).
type AgreeStatus struct {
	CorpID         string    `json:"corpid"`
	UserID         string    `json:"userid,omitempty"`
	ChatID         string    `json:"chatid,omitempty"`
	ExternalUserID string    `json:"external_userid"`
	Status         string    `json:"agree_status"` // "Agree" or "Disagree"
	ChangeTime     time.Time `json:"status_change_time"`
}

// AppPublicKey is an app's RSA public key (set_public_key): message keys
// are delivered RSA-encrypted to it. Archiving for the app starts with the
// first key: StartSeq is the last message seq of the corp at that moment.
type AppPublicKey struct {
	CorpID   string    `json:"corpid"`
	AgentID  int64     `json:"agentid"`
	Ver      int       `json:"public_key_ver"`
	PEM      string    `json:"public_key"`
	SetAt    time.Time `json:"set_at"`
	StartSeq int64     `json:"start_seq"`
}

// KeywordRule is a keyword rule (关键词规则) of an app; Body is the rule as
// create_rule received it (name, keyword, semantics, applicable_range).
type KeywordRule struct {
	CorpID     string          `json:"corpid"`
	AgentID    int64           `json:"agentid"`
	RuleID     string          `json:"rule_id"`
	Name       string          `json:"name"`
	Body       json.RawMessage `json:"body"`
	CreateTime time.Time       `json:"create_time"`
}

// KeywordHit records that a message hit an app's rule.
type KeywordHit struct {
	CorpID        string `json:"corpid"`
	AgentID       int64  `json:"agentid"`
	Seq           int64  `json:"seq"` // store-assigned, increasing
	MsgID         string `json:"msgid"`
	RuleID        string `json:"rule_id"`
	HasHitKeyword bool   `json:"has_hit_keyword"`
	Semantics     []int  `json:"semantics_list"`
	Created       time.Time
}

// EventToken is a token carried by an event (conversation_new_message,
// hit_keyword), valid 10 minutes, that lifts sync_msg / get_hit_msg_list
// rate limits and says where new data starts.
type EventToken struct {
	Token     string
	CorpID    string
	AgentID   int64
	Kind      string // "sync_msg" or "hit"
	FromSeq   int64  // data with seq > FromSeq is new for this event
	ExpiresAt time.Time
}

// Event is one zone → program event (专区程序接收事件通知), kept until
// delivered. ID is stable across retries: receivers deduplicate on it.
//
// A program's events for one corp are delivered in the order they were
// raised: an event waits while an earlier one is pending, unless that one
// has been failing longer than the zone's hold and stepped aside
// (SteppedAsideAt): it keeps its own retries, and later events go ahead.
type Event struct {
	ID          string          `json:"id"`
	CorpID      string          `json:"corpid"`
	AgentID     int64           `json:"agentid"`
	ProgramID   string          `json:"program_id"`
	Type        string          `json:"event_type"`
	Data        json.RawMessage `json:"data"`  // the JSON the program receives
	State       string          `json:"state"` // pending, delivered, failed
	Attempts    int             `json:"attempts"`
	LastError   string          `json:"last_error,omitempty"`
	CreatedAt   time.Time       `json:"created_at"`
	DeliveredAt time.Time       `json:"delivered_at"`
	// FailingSince is when its first delivery attempt failed; zero while
	// none has.
	FailingSince time.Time `json:"failing_since,omitzero"`
	// SteppedAsideAt is when it stopped holding back the later events of
	// its program and corp; zero while it has not.
	SteppedAsideAt time.Time `json:"stepped_aside_at,omitzero"`
	// JobID is the durable job that last waited to deliver it (to wake it
	// when its turn comes); 0 when none has. Not part of the API.
	JobID int64 `json:"-"`
}

// Event states.
const (
	EventPending   = "pending"
	EventDelivered = "delivered"
	EventFailed    = "failed"
)

// Notify is a notify_id minted by spec_notify_app (专区通知应用), valid 10
// minutes. Instance is the program instance that asked, so a
// sync_call_program carrying the notify_id reaches it again.
type Notify struct {
	NotifyID  string    `json:"notify_id"`
	CorpID    string    `json:"corpid"`
	AgentID   int64     `json:"agentid"`
	ProgramID string    `json:"program_id"`
	Instance  string    `json:"instance"`
	Scene     int       `json:"notify_scene"`
	CreatedAt time.Time `json:"created_at"`
	ExpiresAt time.Time `json:"expires_at"`
}
