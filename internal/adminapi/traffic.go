package adminapi

import (
	"cmp"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/openzone/openzone"
	"github.com/openzone/openzone/internal/apps"
	"github.com/openzone/openzone/internal/archive"
	"github.com/openzone/openzone/internal/store"
	"github.com/openzone/openzone/internal/traffic"
)

// MaxExport is the most records one fixture holds.
const MaxExport = 1000

// FixtureVersion is the version of the fixture format written by export.
const FixtureVersion = 1

func (a *API) flush(ctx context.Context) {
	// Records are written in the background; a reader expects to see the
	// call it just made.
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	a.cfg.Recorder.Flush(ctx)
	cancel()
}

func (a *API) handleTrafficList(r *http.Request) (any, error) {
	q := r.URL.Query()
	f := openzone.TrafficFilter{ProgramID: q.Get("program_id"), Kind: q.Get("kind"), Route: q.Get("route"),
		RequestID: q.Get("request_id"), Limit: 100}
	switch f.Kind {
	case "", openzone.TrafficCall, openzone.TrafficEvent, openzone.TrafficInvoke, openzone.TrafficNotify:
	default:
		return nil, openzone.Errorf(openzone.ErrInvalidParam, "kind %q is not one of call, event, invoke, notify", f.Kind)
	}
	if f.Route != "" && f.Route != openzone.RouteDeployed && f.Route != openzone.RouteDebug {
		return nil, openzone.Errorf(openzone.ErrInvalidParam, "route %q is not one of deployed, debug", f.Route)
	}
	switch q.Get("failed") {
	case "", "0", "false":
	case "1", "true":
		f.Failed = true
	default:
		return nil, openzone.Errorf(openzone.ErrInvalidParam, "failed must be true or false")
	}
	if s := q.Get("after_id"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 0 {
			return nil, openzone.Errorf(openzone.ErrInvalidParam, "after_id must be a non-negative integer")
		}
		f.AfterID = n
	}
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 1000 {
			return nil, openzone.Errorf(openzone.ErrInvalidParam, "limit must be an integer from 1 to 1000")
		}
		f.Limit = n
	}
	a.flush(r.Context())
	recs, err := a.cfg.Store.TrafficList(r.Context(), f)
	if err != nil {
		return nil, err
	}
	return map[string]any{"traffic": recs}, nil
}

func trafficID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		return 0, openzone.Errorf(openzone.ErrInvalidParam, "traffic id %q is not an integer", r.PathValue("id"))
	}
	return id, nil
}

func (a *API) handleTrafficGet(r *http.Request) (any, error) {
	id, err := trafficID(r)
	if err != nil {
		return nil, err
	}
	a.flush(r.Context())
	return a.cfg.Store.TrafficGet(r.Context(), id)
}

// ReplayResult is the outcome of a replayed call (Kind "call") or event
// (Kind "event").
type ReplayResult struct {
	ReplayOf int64  `json:"replay_of"`
	Kind     string `json:"kind"`
	Edited   bool   `json:"edited"`
	// Note warns when the recorded payload was sent with masked values.
	Note string `json:"note,omitempty"`
	// The replayed call's (or event delivery's) errcode, named apart from
	// the admin API's own errcode: the replay ran even when the call failed.
	Errcode int    `json:"result_errcode"`
	Errmsg  string `json:"result_errmsg"`
	// Call: the program's reply (masked) and where it went.
	Response  string  `json:"response,omitempty"`
	Route     string  `json:"route,omitempty"`
	Instance  string  `json:"instance,omitempty"`
	TotalMS   float64 `json:"total_ms"`
	ProgramMS float64 `json:"program_ms"`
	ZoneMS    float64 `json:"zone_ms"`
	// Event: the new event and its delivery state when the reply was made.
	EventID  string `json:"event_id,omitempty"`
	State    string `json:"state,omitempty"`
	Attempts int    `json:"attempts,omitempty"`
}

// handleTrafficReplay is POST /admin/v1/traffic/{id}/replay with an
// optional {"request": "<payload>"}: the call is made again as its app
// (same checks, route and sealing as sync_call_program), or the event is
// raised again as a new event (new event_id) to the program. The zone seals
// what it sends with the route's keys, so an edited payload is as valid as
// the original. The replayed call's errcode is result_errcode, inside a 200.
func (a *API) handleTrafficReplay(r *http.Request) (any, error) {
	id, err := trafficID(r)
	if err != nil {
		return nil, err
	}
	var b struct {
		Request *string `json:"request"`
	}
	raw, err := io.ReadAll(io.LimitReader(r.Body, 2<<20+1))
	if err != nil || len(raw) > 2<<20 {
		return nil, openzone.Errorf(openzone.ErrRequestTooLarge, "request is limited to 2 MiB")
	}
	if len(strings.TrimSpace(string(raw))) > 0 {
		r.Body = io.NopCloser(strings.NewReader(string(raw)))
		if err := decodeBody(r, int64(len(raw)), &b, `{"request": "<the payload, a JSON string>"}`); err != nil {
			return nil, err
		}
	}
	ctx := r.Context()
	a.flush(ctx)
	rec, err := a.cfg.Store.TrafficGet(ctx, id)
	if err != nil {
		return nil, err
	}
	res := &ReplayResult{ReplayOf: id, Kind: rec.Kind}
	payload := rec.Request
	if b.Request != nil {
		payload, res.Edited = *b.Request, true
	} else if strings.Contains(payload, `"***"`) {
		res.Note = `the recorded payload has masked values ("***") and was sent as recorded: edit them to send real values`
	}
	if !json.Valid([]byte(payload)) {
		return nil, openzone.Errorf(openzone.ErrInvalidParam, "request is not valid JSON")
	}
	switch {
	case rec.Kind == openzone.TrafficCall && (rec.Interface == "" || rec.Interface == "async_program_task"):
		app, err := a.cfg.Store.AppGet(ctx, rec.CorpID, rec.AgentID)
		if err != nil {
			return nil, err
		}
		data, nrec, err := a.callAs(ctx, app, rec, payload)
		res.Errcode, res.Errmsg = openzone.ErrorCode(err), openzone.ErrorMessage(err)
		if openzone.ErrorKind(err) == openzone.Internal {
			return nil, err
		}
		res.Response = traffic.Mask(data)
		res.Route, res.Instance = nrec.Route, nrec.Instance
		res.TotalMS, res.ProgramMS, res.ZoneMS = nrec.TotalMS, nrec.ProgramMS, nrec.ZoneMS
		return res, nil
	case rec.Kind == openzone.TrafficEvent:
		return a.replayEvent(ctx, rec, payload, res)
	}
	return nil, openzone.Errorf(openzone.ErrInvalidParam, "traffic record %d is %s: only an app's calls (sync_call_program, async_program_task) and events can be replayed; replay the call or event that caused it", id, kindName(rec))
}

// callAs makes a recorded app call again, as its app, through the same
// service the app API uses (same checks, route, sealing and recording). It
// returns the reply — the program's data, or {"jobid"} of the new task —
// and the new call's record.
func (a *API) callAs(ctx context.Context, app *openzone.App, rec *openzone.TrafficRecord, payload string) (string, openzone.TrafficRecord, error) {
	c := apps.Call{ProgramID: rec.ProgramID, AbilityID: rec.AbilityID, RequestData: payload}
	if rec.Interface == "async_program_task" {
		_, nrec, err := a.cfg.Apps.Async(ctx, app, c)
		if err != nil {
			return "", nrec, err
		}
		return nrec.Response, nrec, nil
	}
	return a.cfg.Apps.Sync(ctx, app, c)
}

func kindName(rec *openzone.TrafficRecord) string {
	switch rec.Kind {
	case openzone.TrafficInvoke:
		return "an SDK invoke made by the program"
	case openzone.TrafficNotify:
		return "a notification sent for the program"
	case openzone.TrafficCall:
		return "a " + rec.Interface + " delivery made for a program's task"
	}
	return "a " + rec.Kind
}

// replayEvent raises the event again and waits up to 10 s for its first
// delivery attempt.
func (a *API) replayEvent(ctx context.Context, rec *openzone.TrafficRecord, payload string, res *ReplayResult) (*ReplayResult, error) {
	if s := strings.TrimSpace(payload); !strings.HasPrefix(s, "{") {
		return nil, openzone.Errorf(openzone.ErrInvalidParam, "request must be a JSON object (the event's data)")
	}
	e := &openzone.Event{ID: archive.NewEventID(), CorpID: rec.CorpID, AgentID: rec.AgentID, ProgramID: rec.ProgramID,
		Type: rec.AbilityID, Data: json.RawMessage(payload), State: openzone.EventPending, CreatedAt: a.cfg.Now()}
	if err := a.cfg.Store.InTx(ctx, func(tx store.Executor) error { return a.cfg.Events.Enqueue(ctx, tx, e) }); err != nil {
		return nil, err
	}
	res.EventID, res.State = e.ID, e.State
	deadline := time.Now().Add(10 * time.Second)
	why := ""
	for time.Now().Before(deadline) {
		got, err := a.cfg.Store.EventGet(ctx, e.ID)
		if err != nil {
			return nil, err
		}
		res.State, res.Attempts, why = got.State, got.Attempts, got.LastError
		if got.State == openzone.EventDelivered || got.Attempts > 0 {
			if got.LastError != "" {
				res.Errcode, res.Errmsg = openzone.ErrCallProgram, got.LastError
			} else {
				res.Errmsg = "ok"
			}
			return res, nil
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
	res.Errmsg = "queued: the first delivery attempt has not finished yet"
	if why != "" { // held: the debug listener is away, or an earlier event of its corp is pending
		res.Errmsg += " (" + why + ")"
	}
	return res, nil
}

// Fixture is an exported selection of traffic: what a test replays or
// asserts against. Payloads are masked as recorded.
type Fixture struct {
	Format     string                    `json:"format"` // "openzone.traffic"
	Version    int                       `json:"version"`
	ExportedAt time.Time                 `json:"exported_at"`
	Records    []*openzone.TrafficRecord `json:"records"`
}

// handleTrafficExport is POST /admin/v1/traffic/export {"ids": [...]}: the
// records, oldest first, as a JSON fixture.
func (a *API) handleTrafficExport(r *http.Request) (any, error) {
	var b struct {
		IDs []int64 `json:"ids"`
	}
	if err := decodeBody(r, 1<<20, &b, `{"ids": [traffic id, …]}`); err != nil {
		return nil, err
	}
	if len(b.IDs) == 0 || len(b.IDs) > MaxExport {
		return nil, openzone.Errorf(openzone.ErrInvalidParam, "ids must hold 1 to %d traffic ids, got %d", MaxExport, len(b.IDs))
	}
	ctx := r.Context()
	a.flush(ctx)
	f := &Fixture{Format: "openzone.traffic", Version: FixtureVersion, ExportedAt: a.cfg.Now().UTC(), Records: []*openzone.TrafficRecord{}}
	seen := map[int64]bool{}
	for i, id := range b.IDs {
		if seen[id] {
			continue
		}
		seen[id] = true
		rec, err := a.cfg.Store.TrafficGet(ctx, id)
		if err != nil {
			if openzone.IsNotFound(err) {
				return nil, openzone.NotFound.Errorf("ids[%d]: traffic record %d not found (pruned, or never recorded)", i, id)
			}
			return nil, err
		}
		f.Records = append(f.Records, rec)
	}
	// Oldest first: a fixture reads as the flow happened.
	slices.SortFunc(f.Records, func(x, y *openzone.TrafficRecord) int {
		if c := x.StartedAt.Compare(y.StartedAt); c != 0 {
			return c
		}
		return cmp.Compare(x.ID, y.ID)
	})
	return f, nil
}
