package zonesdk

import (
	"context"
	"net/http"

	"github.com/openzone/openzone/sdk/zonewire"
)

// Call types of a Request.
const (
	CallApp   = 1 // an app called an ability (sync_call_program, async_program_task) or a task called it
	CallEvent = 2 // the zone delivers an event
	// CallProbe is the zone's pre-flight probe of a debug receiver: the
	// Program answers it itself, with empty data, once it opened it; it
	// never reaches a handler.
	CallProbe = 3
)

// Request is a call from the zone, opened and decoded: the fields of WeCom's
// SpecCallbackSDK getters, plus the request id and secret version of the
// packet.
type Request struct {
	CorpID    string // corp the call concerns
	AgentID   int64  // calling app's agentid; 0 when there is no app identity
	CallType  int    // CallApp or CallEvent
	Data      string // CallApp: the app's request_data; CallEvent: the event JSON
	IsAsync   bool   // the call came from the async path: acknowledge, then report with program_async_job_call_back
	JobInfo   string // opaque task context of an async call; Invoke passes it back on program_async_job_call_back
	AbilityID string // the ability the app targeted
	NotifyID  string // the notify_id the app put in sync_call_program
	EventID   string // CallEvent: the event's stable id, the same on every delivery attempt (deduplicate on it)
	RequestID string // the packet's ww-request-id
	SecretVer int    // the packet's ww-secret-ver: the production secret's, or a debug secret's (≥ zonewire.DebugSecretVerMin)
	Timestamp int64  // the packet's ww-timestamp (unix seconds)

	secret *secretEntry // the secret the call opened with; invokes made for it use it too
}

// header returns the packet header r arrived with, for program programID.
func (r *Request) header(programID string) zonewire.Header {
	return zonewire.Header{ProgramID: programID, SecretVer: r.SecretVer, RequestID: r.RequestID, Timestamp: r.Timestamp}
}

// ReplyHeader writes the headers of the reply to r into h: its
// ww-secret-ver, ww-request-id and ww-timestamp, under lower-case names, and
// the Content-Type of a sealed body. The body is Program.AppendReply's.
func (r *Request) ReplyHeader(h http.Header) {
	r.header("").Apply(h, false)
	h.Set("Content-Type", zonewire.ContentType)
}

// InvokeContext returns the invoke context of r: its corpid, agentid,
// ability_id and job_info.
func (r *Request) InvokeContext() InvokeContext {
	return InvokeContext{CorpID: r.CorpID, AgentID: r.AgentID, AbilityID: r.AbilityID, JobInfo: r.JobInfo}
}

// InvokeContext is the identity an invoke acts with, the arguments of WeCom's
// SpecSDK(corpid, agentid, ability_id, job_info) constructor. JobInfo is sent
// only with program_async_job_call_back.
type InvokeContext struct {
	CorpID    string
	AgentID   int64
	AbilityID string
	JobInfo   string
}

type requestKey struct{}

type invokeKey struct{}

// WithRequest returns ctx carrying req, as handlers get it: invokes made
// with it act for req's corp, app and ability, and are sealed with the
// secret req opened with (see Program.Invoke). For code that opens calls
// with Program.OpenCall.
func WithRequest(ctx context.Context, req *Request) context.Context {
	return context.WithValue(ctx, requestKey{}, req)
}

// RequestFrom returns the call carried by ctx: handlers registered with
// Program.Handle and Program.HandleEvent get a ctx that carries their call.
func RequestFrom(ctx context.Context) (*Request, bool) {
	req, ok := ctx.Value(requestKey{}).(*Request)
	return req, ok && req != nil
}

// WithInvokeContext returns ctx carrying ic, for invokes made outside a call
// (or on behalf of another one). An InvokeContext given this way takes
// precedence over the call carried by ctx.
func WithInvokeContext(ctx context.Context, ic InvokeContext) context.Context {
	return context.WithValue(ctx, invokeKey{}, ic)
}

// invokeContextFrom returns the invoke context for ctx: the one given with
// WithInvokeContext, else the carried call's, else the zero value.
func invokeContextFrom(ctx context.Context) InvokeContext {
	if ic, ok := ctx.Value(invokeKey{}).(InvokeContext); ok {
		return ic
	}
	if req, ok := RequestFrom(ctx); ok {
		return req.InvokeContext()
	}
	return InvokeContext{}
}

// Detach returns a context with the values of ctx (the call, an
// InvokeContext) but without its cancellation and deadline, for work that
// goes on after the handler has answered, such as reporting an async result.
func Detach(ctx context.Context) context.Context {
	return context.WithoutCancel(ctx)
}
