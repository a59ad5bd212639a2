package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/openzone/openzone/sdk/zonesdk"
)

// sdkInterfaces are the SDK interfaces served as invoke_<interface>
// abilities (docs/wecom.md, "SDK interfaces"). ping is OpenZone's diagnostic interface: the
// zone answers with the invoke context it saw.
var sdkInterfaces = []string{
	"sync_msg",
	"get_msg_list_by_page_id",
	"get_agree_status_single",
	"get_agree_status_room",
	"get_group_chat",
	"search_chat",
	"search_msg",
	"search_contact_or_customer",
	"create_rule",
	"get_rule_list",
	"get_rule_detail",
	"update_rule",
	"delete_rule",
	"get_hit_msg_list",
	"create_model_task",
	"get_model_task_result",
	"create_program_task",
	"get_program_task_result",
	"spec_notify_app",
	"set_hide_sensitiveinfo_config",
	"get_hide_sensitiveinfo_config",
	"ping",
}

const (
	// errDemo is the WeCom demo program's internal error code.
	errDemo = 710660

	// eventTTL is how long an event stays fetchable with get_callback_data
	// (the Java demo keeps them 20 minutes).
	eventTTL = 20 * time.Minute

	// asyncTimeout bounds one async job, its result report included.
	asyncTimeout = 2 * time.Minute

	// modelWait bounds how long summarize waits for the model's result.
	modelWait = 20 * time.Second
)

// work computes an ability's response data.
type work func(ctx context.Context, req *zonesdk.Request) (string, error)

// app is the example program: its abilities, event handling and the store
// of events waiting for get_callback_data.
type app struct {
	name   string
	p      *zonesdk.Program
	log    *slog.Logger
	events *eventStore
	jobs   sync.WaitGroup // async jobs not yet reported
	// asyncDelay is how long an async job "works" before reporting.
	asyncDelay time.Duration
}

// newApp registers the example's abilities and event handler on p.
func newApp(p *zonesdk.Program, name string, log *slog.Logger) *app {
	a := &app{name: name, p: p, log: log, events: newEventStore(eventTTL, time.Now)}
	a.handle("echo", a.echo)
	a.handle("get_callback_data", a.getCallbackData)
	a.handle("summarize", a.summarize)
	for _, iface := range sdkInterfaces {
		a.handle("invoke_"+iface, a.invoker(iface))
	}
	// Any other invoke_<interface> goes to that interface too (new ones,
	// knowledge_base_*, …); the zone answers unknown names with an errcode.
	a.p.HandleFallback(func(ctx context.Context, req *zonesdk.Request) (string, error) {
		iface, ok := strings.CutPrefix(req.AbilityID, "invoke_")
		if !ok || iface == "" {
			return "", zonesdk.ErrUnknownAbility // the SDK answers 404 and logs it
		}
		return a.wrap(a.invoker(iface))(ctx, req)
	})
	p.HandleEvent(a.onEvent)
	return a
}

// handle registers w as ability: a sync call returns its result; an async
// call is acknowledged with {} at once and its result reported later with
// program_async_job_call_back.
func (a *app) handle(ability string, w work) {
	a.p.Handle(ability, a.wrap(w))
}

// wrap returns the handler of w: sync calls return its result, async calls
// are acknowledged and run in the background; each call is logged.
func (a *app) wrap(w work) zonesdk.HandlerFunc {
	return func(ctx context.Context, req *zonesdk.Request) (string, error) {
		start := time.Now()
		if req.IsAsync {
			a.jobs.Add(1)
			go a.runAsync(zonesdk.Detach(ctx), req, w)
			a.logCall(req, start, nil)
			return "{}", nil
		}
		out, err := w(ctx, req)
		a.logCall(req, start, err)
		return out, err
	}
}

// asyncResult is the request of program_async_job_call_back.
type asyncResult struct {
	Errcode int    `json:"errcode"`
	Result  string `json:"result"`
}

// runAsync does the work of an async call and reports it; ctx is detached
// from the call, which was acknowledged already.
func (a *app) runAsync(ctx context.Context, req *zonesdk.Request, w work) {
	defer a.jobs.Done()
	ctx, cancel := context.WithTimeout(ctx, asyncTimeout)
	defer cancel()
	start := time.Now()
	if a.asyncDelay > 0 {
		select {
		case <-time.After(a.asyncDelay):
		case <-ctx.Done():
		}
	}

	res := asyncResult{}
	out, err := runWork(ctx, req, w)
	if err != nil {
		res.Errcode, res.Result = errDemo, errJSON(errDemo, err.Error())
	} else {
		res.Result = out
	}
	attrs := []any{"ability", req.AbilityID, "request_id", req.RequestID, "result_errcode", res.Errcode}
	reply, err := a.p.Invoke(ctx, zonesdk.AsyncJobCallback, res)
	if err != nil {
		a.log.Error("async job: report failed", append(attrs, "err", err)...)
		return
	}
	if code, msg := zonesdk.Errcode(reply); code != 0 {
		a.log.Error("async job: report refused", append(attrs, "errcode", code, "errmsg", msg)...)
		return
	}
	a.log.Info("async job reported", append(attrs, "duration", time.Since(start))...)
}

// runWork calls w, turning a panic into an error: an async job runs
// outside the SDK's recovery.
func runWork(ctx context.Context, req *zonesdk.Request, w work) (out string, err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("panic: %v", v)
		}
	}()
	return w(ctx, req)
}

// wait waits for the async jobs, or until ctx is done.
func (a *app) wait(ctx context.Context) error {
	done := make(chan struct{})
	go func() { a.jobs.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// logCall writes the one log line of a call: no payloads.
func (a *app) logCall(req *zonesdk.Request, start time.Time, err error) {
	attrs := []any{
		"ability", req.AbilityID,
		"call_type", req.CallType,
		"is_async", req.IsAsync,
		"duration", time.Since(start),
		"request_id", req.RequestID,
	}
	if err != nil {
		a.log.Error("call failed", append(attrs, "err", err)...)
		return
	}
	a.log.Info("call", attrs...)
}

// echo: {"text":"…"} → {"text":"…","served_by":"<name>"}.
func (a *app) echo(ctx context.Context, req *zonesdk.Request) (string, error) {
	var in struct {
		Text string `json:"text"`
	}
	if err := json.Unmarshal([]byte(req.Data), &in); err != nil {
		return "", errors.New(`request_data must be {"text":"…"}`)
	}
	out, err := json.Marshal(struct {
		Text     string `json:"text"`
		ServedBy string `json:"served_by"`
	}{in.Text, a.name})
	return string(out), err
}

// invoker returns the work of invoke_<iface>: pass request_data to the SDK
// interface and return its reply verbatim. When the invoke itself fails
// the response is {"errcode":<Invoke code>,"errmsg":…}.
func (a *app) invoker(iface string) work {
	return func(ctx context.Context, req *zonesdk.Request) (string, error) {
		data := req.Data
		if strings.TrimSpace(data) == "" {
			data = "{}"
		}
		reply, err := a.p.Invoke(ctx, iface, data)
		if err != nil {
			code, msg := zonesdk.CodeInternal, err.Error()
			var ie *zonesdk.InvokeError
			if errors.As(err, &ie) {
				code, msg = ie.Code, ie.Msg
			}
			a.log.Warn("invoke failed", "interface", iface, "code", code, "request_id", req.RequestID)
			return errJSON(code, msg), nil
		}
		return string(reply), nil
	}
}

// summarize chains to a model (自有模型) with create_model_task and waits
// for its result: request_data is create_model_task's request (msg_list
// with each message's secret_key, and debug_info in debug mode), with
// model_id defaulting to "model-summary" and ability_id to "summarize";
// the response is get_model_task_result's reply with the jobid.
func (a *app) summarize(ctx context.Context, req *zonesdk.Request) (string, error) {
	var in map[string]any
	if err := json.Unmarshal([]byte(req.Data), &in); err != nil || in == nil {
		return errJSON(errDemo, "request_data must be a JSON object: create_model_task's request"), nil
	}
	if _, ok := in["model_id"]; !ok {
		in["model_id"] = "model-summary"
	}
	if _, ok := in["ability_id"]; !ok {
		in["ability_id"] = "summarize"
	}
	reply, err := a.p.Invoke(ctx, "create_model_task", in)
	if err != nil {
		return errJSON(zonesdk.CodeInternal, err.Error()), nil
	}
	var created struct {
		Errcode int    `json:"errcode"`
		JobID   string `json:"jobid"`
	}
	json.Unmarshal(reply, &created)
	if created.Errcode != 0 {
		return string(reply), nil
	}
	ctx, cancel := context.WithTimeout(ctx, modelWait)
	defer cancel()
	for {
		res, err := a.p.Invoke(ctx, "get_model_task_result", map[string]string{"jobid": created.JobID})
		if err != nil {
			return errJSON(zonesdk.CodeInternal, err.Error()), nil
		}
		var r map[string]any
		json.Unmarshal(res, &r)
		if r["errcode"] != float64(0) || r["status"] != float64(0) {
			r["jobid"] = created.JobID
			out, _ := json.Marshal(r)
			return string(out), nil
		}
		select {
		case <-ctx.Done():
			return errJSON(errDemo, "the model did not report within "+modelWait.String()+": jobid "+created.JobID), nil
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// getCallbackData returns the event stored under the call's notify_id as
// the event's own JSON ({"event_type":…,"timestamp":…,…}), unwrapped, as
// WeCom's sample program does; a missing or unknown notify_id answers
// {"errcode":710660,"errmsg":…}.
func (a *app) getCallbackData(ctx context.Context, req *zonesdk.Request) (string, error) {
	if req.NotifyID == "" {
		return errJSON(errDemo, "notify_id is empty: call with the notify_id of the program_notify callback"), nil
	}
	ev, ok := a.events.get(req.NotifyID)
	if !ok {
		return errJSON(errDemo, "no callback data for this notify_id (unknown, expired after 20 minutes, or kept by another instance)"), nil
	}
	return string(ev), nil
}

// onEvent handles an event (call_type 2): the event is kept under a fresh
// notify_id for get_callback_data, then spec_notify_app tells the app with
// that notify_id. Storing first means the app, called back at once, never
// asks for an event that is not there yet.
func (a *app) onEvent(ctx context.Context, req *zonesdk.Request) (err error) {
	start := time.Now()
	defer func() { a.logCall(req, start, err) }()

	notifyID := zonesdk.GenerateNotifyID() // WeCom's spec_gen_notify_id
	ev := eventJSON(req.Data)
	a.events.put(notifyID, ev)
	reply, err := a.p.Invoke(ctx, "spec_notify_app", map[string]string{"notify_id": notifyID})
	if err != nil {
		a.events.drop(notifyID)
		return fmt.Errorf("spec_notify_app: %w", err)
	}
	var r struct {
		Errcode int    `json:"errcode"`
		Errmsg  string `json:"errmsg"`
	}
	if err := json.Unmarshal(reply, &r); err != nil {
		a.events.drop(notifyID)
		return errors.New("spec_notify_app: reply is not a JSON object")
	}
	if r.Errcode != 0 {
		a.events.drop(notifyID)
		return fmt.Errorf("spec_notify_app: errcode %d: %s", r.Errcode, r.Errmsg)
	}
	var head struct {
		EventType string `json:"event_type"`
	}
	json.Unmarshal(ev, &head)
	// A line of the program's logs, as WeCom's sample writes it: the zone
	// keeps it with the event call's request id (日志查询).
	a.p.Logf(ctx, zonesdk.LogInfo, "event %s stored under notify_id %s", head.EventType, notifyID)
	return nil
}

// eventJSON returns the event data as JSON: as is when it is valid JSON,
// else as a JSON string.
func eventJSON(data string) json.RawMessage {
	if json.Valid([]byte(data)) {
		return json.RawMessage(data)
	}
	b, _ := json.Marshal(data)
	return b
}

// errJSON returns {"errcode":code,"errmsg":msg}.
func errJSON(code int, msg string) string {
	b, _ := json.Marshal(struct {
		Errcode int    `json:"errcode"`
		Errmsg  string `json:"errmsg"`
	}{code, msg})
	return string(b)
}

// eventStore keeps events by notify_id for a while, in memory.
type eventStore struct {
	ttl time.Duration
	now func() time.Time

	mu     sync.Mutex
	events map[string]storedEvent
}

type storedEvent struct {
	data    json.RawMessage
	expires time.Time
}

func newEventStore(ttl time.Duration, now func() time.Time) *eventStore {
	return &eventStore{ttl: ttl, now: now, events: make(map[string]storedEvent)}
}

// put stores data under notifyID, dropping expired events.
func (s *eventStore) put(notifyID string, data json.RawMessage) {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, ev := range s.events {
		if !now.Before(ev.expires) {
			delete(s.events, id)
		}
	}
	s.events[notifyID] = storedEvent{data: data, expires: now.Add(s.ttl)}
}

// drop forgets the event stored under notifyID.
func (s *eventStore) drop(notifyID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.events, notifyID)
}

// get returns the event stored under notifyID, if it has not expired.
func (s *eventStore) get(notifyID string) (json.RawMessage, bool) {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	ev, ok := s.events[notifyID]
	if !ok || !now.Before(ev.expires) {
		return nil, false
	}
	return ev.data, true
}
