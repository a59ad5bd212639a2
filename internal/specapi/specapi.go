// Package specapi serves the program-facing API (/spec/v1/…), spoken only by
// the zone SDK with sealed packets (docs/protocol.md). It authenticates the
// program, refuses stale and replayed packets, checks the invoke context
// (the corp and app a program acts for), and dispatches to a registry of SDK
// interfaces (专区程序调用SDK接口).
package specapi

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/openzone/openzone"
	"github.com/openzone/openzone/internal/debugmode"
	"github.com/openzone/openzone/internal/store"
	"github.com/openzone/openzone/internal/traffic"
	"github.com/openzone/openzone/internal/wire"
)

// MaxInvokeBytes bounds a sealed invoke body.
const MaxInvokeBytes = 8 << 20

// Context is who an SDK interface runs for: the program that invoked it and
// the corp, app, ability and job from the SDK's context.
type Context struct {
	ProgramID string
	CorpID    string
	AgentID   int64
	AbilityID string
	JobInfo   string
	// Instance is the deployed instance that invoked ("" in debug mode).
	Instance string
	// Debug is true when the invoke was sealed with a debug secret: the
	// program runs in debug mode for CorpID and AgentID.
	Debug bool
	App   *openzone.App // nil when AgentID is 0
}

// Interface is one SDK interface. It returns the reply object, which is
// marshalled with errcode 0 / errmsg "ok" added when it has none, or an
// *openzone.Error whose errcode and errmsg become the reply.
type Interface func(ctx context.Context, c *Context, request json.RawMessage) (any, error)

// Registry maps interface names to implementations.
type Registry struct {
	mu sync.RWMutex
	m  map[string]Interface
	// agentless lists interfaces that may run with agentid 0 (WeCom allows
	// it only for program_async_job_call_back of tasks without an app).
	agentless map[string]bool
}

// NewRegistry returns a registry holding the built-in diagnostic interface
// "ping" (an OpenZone extension: it echoes the context the zone saw).
func NewRegistry() *Registry {
	r := &Registry{m: map[string]Interface{}, agentless: map[string]bool{}}
	r.Register("ping", ping)
	return r
}

// Register adds an interface; registering a name twice panics (start-up bug).
func (r *Registry) Register(name string, f Interface) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, dup := r.m[name]; dup {
		panic("specapi: interface registered twice: " + name)
	}
	r.m[name] = f
}

// AllowAgentless lets name run with agentid 0.
func (r *Registry) AllowAgentless(name string) {
	r.mu.Lock()
	r.agentless[name] = true
	r.mu.Unlock()
}

func (r *Registry) lookup(name string) (Interface, bool, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	f, ok := r.m[name]
	return f, ok, r.agentless[name]
}

// Names returns the registered interface names, sorted.
func (r *Registry) Names() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	names := make([]string, 0, len(r.m))
	for n := range r.m {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func ping(_ context.Context, c *Context, request json.RawMessage) (any, error) {
	return map[string]any{
		"errcode": 0, "errmsg": "ok",
		"program_id": c.ProgramID, "corpid": c.CorpID, "agentid": c.AgentID,
		"ability_id": c.AbilityID, "has_job_info": c.JobInfo != "",
		"request": request,
	}, nil
}

// KeysFunc returns the keys of the program's secret with version ver, and
// the debug session when it is a debug secret. It returns nil keys (and a
// nil error) when the program has no live secret of that version, and an
// openzone.ErrNotFound error when there is no such program.
type KeysFunc func(ctx context.Context, programID string, ver int) (*wire.Keys, *openzone.DebugSession, error)

// API is the program-facing HTTP face.
type API struct {
	store    store.Store
	keys     KeysFunc
	debug    *debugmode.Service
	auth     func(ctx context.Context, accessToken string) (*openzone.App, error)
	registry *Registry
	recorder *traffic.Recorder
	now      func() time.Time
	log      *slog.Logger
}

// Config configures the API.
type Config struct {
	Store store.Store
	// Keys finds the keys of a program's secret with version ver: its
	// production secret, or a live debug secret (then with its session).
	Keys KeysFunc
	// Debug serves /spec/v1/debug/open; AuthFunc checks the access_token
	// the SDK presents there.
	Debug    *debugmode.Service
	AuthFunc func(ctx context.Context, accessToken string) (*openzone.App, error)
	Registry *Registry
	Recorder *traffic.Recorder
	Now      func() time.Time
	Logger   *slog.Logger
}

// New returns the program API.
func New(cfg Config) *API {
	return &API{store: cfg.Store, keys: cfg.Keys, debug: cfg.Debug, auth: cfg.AuthFunc, registry: cfg.Registry, recorder: cfg.Recorder, now: cfg.Now, log: cfg.Logger}
}

// Register adds the /spec/v1 routes to mux.
func (a *API) Register(mux *http.ServeMux) {
	mux.HandleFunc("POST /spec/v1/invoke", a.handleInvoke)
	mux.HandleFunc("POST /spec/v1/debug/open", a.handleDebugOpen)
}

// refuse answers a packet the zone cannot open: there is no key to seal a
// reply with, so the answer is HTTP 401 with the ww-exception code and a
// plain JSON errcode/errmsg that carries nothing secret.
func (a *API) refuse(w http.ResponseWriter, exc int, errcode int, msg string) {
	w.Header()[wire.HeaderException] = []string{strconv.Itoa(exc)} // lower case on the wire, as the protocol says
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(http.StatusUnauthorized)
	b, _ := json.Marshal(map[string]any{"errcode": errcode, "errmsg": msg})
	w.Write(b)
}

func (a *API) handleInvoke(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	ctx := r.Context()
	hd, err := wire.ReadHeader(r.Header, "")
	if err != nil {
		a.refuse(w, wire.ExceptionCode(err), openzone.ErrProgramDecrypt, err.Error())
		return
	}
	if hd.ProgramID == "" {
		a.refuse(w, wire.ExcMalformed, openzone.ErrProgramDecrypt, "header ww-program-id missing")
		return
	}
	keys, session, err := a.keys(ctx, hd.ProgramID, hd.SecretVer)
	if err == nil && keys == nil {
		a.refuse(w, wire.ExcSecretVer, openzone.ErrProgramDecrypt, "secret version "+strconv.Itoa(hd.SecretVer)+" is not a live secret of this program (in debug mode: the debug credential expired, debug mode was closed, or the SDK opened it again)")
		return
	}
	if err != nil {
		if openzone.IsNotFound(err) {
			a.refuse(w, wire.ExcUnknownPrg, openzone.ErrBadProgramID, "unknown program "+strconv.Quote(hd.ProgramID))
			return
		}
		a.log.Error("spec api: program keys", "program_id", hd.ProgramID, "err", err)
		a.refuse(w, wire.ExcMalformed, openzone.ErrSystem, "system busy")
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxInvokeBytes+1))
	if err != nil || len(body) > MaxInvokeBytes {
		a.refuse(w, wire.ExcMalformed, openzone.ErrRequestTooLarge, "invoke body unreadable or over "+strconv.Itoa(MaxInvokeBytes)+" bytes")
		return
	}
	pt, err := keys.Open(wire.PurposeInvoke, hd, body)
	if err != nil {
		a.refuse(w, wire.ExceptionCode(err), openzone.ErrProgramDecrypt, err.Error())
		return
	}
	// Freshness and replay are judged on the wall clock: the program's
	// clock is real, whatever the zone's injectable clock says.
	now := time.Now()
	if err := wire.CheckTimestamp(hd.Timestamp, now); err != nil {
		a.refuse(w, wire.ExceptionCode(err), openzone.ErrProgramDecrypt, err.Error())
		return
	}
	fresh, err := a.store.ReplayRemember(ctx, store.ReplayRememberParams{Scope: "invoke:" + hd.ProgramID, RequestID: hd.RequestID, Now: now, Expires: now.Add(2 * wire.Window)})
	if err != nil {
		a.log.Error("spec api: replay window", "err", err)
		a.refuse(w, wire.ExcMalformed, openzone.ErrSystem, "system busy")
		return
	}
	if !fresh {
		a.refuse(w, wire.ExcReplay, openzone.ErrProgramDecrypt, "request id "+hd.RequestID+" was already used")
		return
	}

	// From here on the program is authenticated: every answer is sealed.
	var inv wire.Invoke
	var reply any
	var c *Context
	if err := json.Unmarshal(pt, &inv); err != nil {
		reply = errReply(openzone.Errorf(openzone.ErrInvalidParam, "invoke envelope is not valid JSON"))
	} else {
		c = &Context{ProgramID: hd.ProgramID, CorpID: inv.CorpID, AgentID: inv.AgentID, AbilityID: inv.AbilityID, JobInfo: inv.JobInfo, Instance: inv.Instance, Debug: session != nil}
		if session != nil && (inv.CorpID != session.CorpID || inv.AgentID != session.AgentID) {
			reply = errReply(openzone.Errorf(openzone.ErrNotInDebugMode, "this debug secret belongs to corp %s app %d: program %q is not in debug mode for corp %s app %d", session.CorpID, session.AgentID, hd.ProgramID, inv.CorpID, inv.AgentID))
		} else {
			reply = a.dispatch(ctx, c, &inv)
		}
	}
	out, err := json.Marshal(reply)
	if err != nil {
		out = []byte(`{"errcode":-1,"errmsg":"system busy"}`)
	}
	w.Header().Set("Content-Type", wire.ContentType)
	hd.Apply(w.Header(), true)
	w.WriteHeader(http.StatusOK)
	w.Write(keys.Seal(wire.PurposeResult, hd, out))

	rec := &openzone.TrafficRecord{
		Kind: openzone.TrafficInvoke, ProgramID: hd.ProgramID, RequestID: hd.RequestID,
		Interface: inv.Interface, CorpID: inv.CorpID, AgentID: inv.AgentID, AbilityID: inv.AbilityID,
		Request: traffic.Mask(string(inv.Request)), Response: traffic.Mask(string(out)),
		StartedAt: a.now(), TotalMS: float64(time.Since(start).Microseconds()) / 1000,
	}
	rec.ZoneMS = rec.TotalMS
	rec.Route = openzone.RouteDeployed
	if session != nil {
		rec.Route = openzone.RouteDebug
	}
	rec.Errcode, rec.Errmsg = replyCode(out)
	a.recorder.Record(rec)
}

// dispatch checks the invoke context and runs the interface.
func (a *API) dispatch(ctx context.Context, c *Context, inv *wire.Invoke) any {
	f, known, agentless := a.registry.lookup(inv.Interface)
	if !known {
		return errReply(openzone.Errorf(openzone.ErrUnknownInterface, "unknown SDK interface %q (this zone has: %s)", inv.Interface, strings.Join(a.registry.Names(), ", ")))
	}
	if inv.CorpID == "" {
		return errReply(openzone.Errorf(openzone.ErrInvalidParam, "corpid missing from the SDK context"))
	}
	if inv.AgentID == 0 {
		if !agentless {
			return errReply(openzone.Errorf(openzone.ErrInvalidParam, "agentid missing from the SDK context: only program_async_job_call_back may run without an app"))
		}
	} else {
		app, err := a.store.AppGet(ctx, inv.CorpID, inv.AgentID)
		if err != nil {
			if openzone.IsNotFound(err) {
				return errReply(openzone.Errorf(openzone.ErrInvalidParam, "no app %d in corp %s", inv.AgentID, inv.CorpID))
			}
			return errReply(a.internal(err))
		}
		// The app's 数据与智能专区 permission gates the program's data access
		// as it gates the app's calls: revoking it stops both at once.
		if !app.ZonePermission {
			return errReply(openzone.Errorf(openzone.ErrZonePermission, "app %d of corp %s lacks the 数据与智能专区 (data & intelligence zone) permission", app.AgentID, app.CorpID))
		}
		has, err := a.store.AppProgramHas(ctx, store.AppProgramHasParams{CorpID: inv.CorpID, AgentID: inv.AgentID, ProgramID: c.ProgramID})
		if err != nil {
			return errReply(a.internal(err))
		}
		if !has {
			return errReply(openzone.Errorf(openzone.ErrNotAssociated, "program %q is not configured for app %d of corp %s", c.ProgramID, inv.AgentID, inv.CorpID))
		}
		c.App = app
	}
	req := inv.Request
	if len(req) == 0 || string(req) == "null" {
		req = json.RawMessage("{}")
	}
	res, err := f(ctx, c, req)
	if err != nil {
		return errReply(a.internal(err))
	}
	return res
}

func (a *API) internal(err error) error {
	if openzone.ErrorCode(err) == openzone.ErrSystem {
		a.log.Error("spec api: interface failed", "err", err)
	}
	return err
}

func errReply(err error) map[string]any {
	return map[string]any{"errcode": openzone.ErrorCode(err), "errmsg": openzone.ErrorMessage(err)}
}

func replyCode(out []byte) (int, string) {
	var b struct {
		Errcode int    `json:"errcode"`
		Errmsg  string `json:"errmsg"`
	}
	json.Unmarshal(out, &b)
	return b.Errcode, b.Errmsg
}
