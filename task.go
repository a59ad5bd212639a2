package openzone

import (
	"encoding/json"
	"time"
)

// TaskKind tells what started a task (异步任务).
type TaskKind string

const (
	TaskAppAsync TaskKind = "app_async" // an app's async_program_task (应用异步调用专区程序)
	TaskProgram  TaskKind = "program"   // a program's create_program_task (异步调用自有分析程序)
	TaskModel    TaskKind = "model"     // a program's create_model_task (自有模型分析)
)

// TaskState is where a task is. Pending: not yet acknowledged by the
// callee; running: acknowledged, its report not yet in; done: the callee
// reported (with errcode 0 or not); failed: the zone gave up delivering it.
type TaskState string

const (
	TaskPending TaskState = "pending"
	TaskRunning TaskState = "running"
	TaskDone    TaskState = "done"
	TaskFailed  TaskState = "failed"
)

// Task is one asynchronous call of a program or model: the app's
// async_program_task or a program's create_program_task /
// create_model_task. Request and Response are sealed with the zone's key
// at rest (they may hold chat content); the store keeps them as bytes.
type Task struct {
	JobID     string
	Kind      TaskKind
	CorpID    string
	AgentID   int64
	CallerID  string // the program that created a program or model task; "" for app tasks
	ProgramID string // the callee: program or model
	AbilityID string
	Request   []byte          // sealed request_data (after placeholder expansion)
	FailList  json.RawMessage // msg_list items that could not be used (program and model tasks)
	Debug     bool            // created in debug mode: filled from debug_info
	State     TaskState
	Attempts  int    // delivery attempts so far
	LastError string // last delivery failure, "errcode N: message"
	// ErrCode is the delivery failure that failed the task (State failed).
	ErrCode         int
	ResponseErrcode int    // the errcode the callee reported
	Response        []byte // sealed result the callee reported
	CreatedAt       time.Time
	DeliveredAt     time.Time // acknowledged by the callee; zero until then
	// DeliveredTo is the zone node (process) whose supervised instance
	// acknowledged the task; "" when the callee lives outside the zone
	// (a debug receiver, a deploy.url program).
	DeliveredTo string
	DoneAt      time.Time // reported or failed; zero until then
	ExpiresAt   time.Time // the task and its result are deleted after this
}
