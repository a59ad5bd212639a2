package wire

import "encoding/json"

// Call is the plaintext of a zone → program request (purpose call).
type Call struct {
	CorpID    string `json:"corpid"`
	AgentID   int64  `json:"agentid"`
	CallType  int    `json:"call_type"` // 1 app call, 2 event
	Data      string `json:"data"`      // the app's request_data, or the event JSON
	IsAsync   bool   `json:"is_async"`
	JobInfo   string `json:"job_info"` // set on async calls; passed back with the result
	AbilityID string `json:"ability_id"`
	NotifyID  string `json:"notify_id"`
	// EventID is an event's stable id (call_type 2): the same on every
	// delivery attempt, so a program can drop duplicates.
	EventID string `json:"event_id,omitempty"`
}

// Call types.
const (
	CallTypeApp   = 1 // an app's sync_call_program or async_program_task
	CallTypeEvent = 2 // an event for the program
)

// Reply is the plaintext of a program's answer to a Call (purpose reply).
type Reply struct {
	Data string `json:"data"`
}

// Invoke is the plaintext of a program → zone SDK interface request
// (purpose invoke). Request is the interface's JSON request object. The
// answer (purpose result) is the interface's JSON reply, with its own
// errcode and errmsg.
type Invoke struct {
	Interface string          `json:"interface"`
	CorpID    string          `json:"corpid"`
	AgentID   int64           `json:"agentid"`
	AbilityID string          `json:"ability_id"`
	JobInfo   string          `json:"job_info"`
	Request   json.RawMessage `json:"request"`
	// Instance names the deployed instance that invokes (OPENZONE_INSTANCE),
	// so a notify_id it mints routes back to it; empty elsewhere.
	Instance string `json:"instance,omitempty"`
}
