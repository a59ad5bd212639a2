// Package specapi serves the program-facing API (/spec/v1/…), spoken only by
// the zone SDK with sealed packets (docs/protocol.md). It authenticates the
// program, refuses stale and replayed packets, checks the invoke context
// (the corp and app a program acts for), and dispatches to a registry of SDK
// interfaces (专区程序调用SDK接口).
package specapi

import (
	"context"
	"encoding/json"
	"errors"
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
	"github.com/openzone/openzone/internal/guard"
	"github.com/openzone/openzone/internal/logs"
	"github.com/openzone/openzone/internal/store"
	"github.com/openzone/openzone/internal/traffic"
	"github.com/openzone/openzone/internal/wire"
)

// MaxInvokeBytes bounds a sealed invoke body: above WeCom's own limits on
// what an SDK interface carries, and read only up to it (413 past it,
// judged from Content-Length before anything is read).
const MaxInvokeBytes = 8 << 20

// MaxDebugOpenBytes bounds the body of /spec/v1/debug/open: two tokens and
// a key, well under 1 KiB.
const MaxDebugOpenBytes = 64 << 10

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

// Interface is one SDK interface. It returns its reply, a struct that
// embeds openzone.Base (openzone.OK), or an *openzone.Error whose errcode
// and errmsg become the reply.
type Interface func(ctx context.Context, c *Context, request json.RawMessage) (openzone.Reply, error)

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

type pingReply struct {
	openzone.Base
	ProgramID  string          `json:"program_id"`
	CorpID     string          `json:"corpid"`
	AgentID    int64           `json:"agentid"`
	AbilityID  string          `json:"ability_id"`
	HasJobInfo bool            `json:"has_job_info"`
	Request    json.RawMessage `json:"request"`
}

func ping(_ context.Context, c *Context, request json.RawMessage) (openzone.Reply, error) {
	return &pingReply{Base: openzone.OK, ProgramID: c.ProgramID, CorpID: c.CorpID, AgentID: c.AgentID,
		AbilityID: c.AbilityID, HasJobInfo: c.JobInfo != "", Request: request}, nil
}

// API is the program-facing HTTP face.
type API struct{ cfg Config }

// Config configures the API.
type Config struct {
	Store store.Store
	// Keys finds the keys of a program's secret by version (gateway).
	Keys Keys
	// Debug opens the SDK half of debug mode (debugmode.Service).
	Debug Debug
	// Logs keeps the log lines programs send (logs.Service).
	Logs     Logs
	Registry *Registry
	Recorder *traffic.Recorder
	Now      func() time.Time
	Logger   *slog.Logger
	// Door limits failed /spec/v1/debug/open attempts per source; nil:
	// no limit.
	Door *guard.Door
}

// Keys finds the keys of the program's secret with version ver, and the
// debug session when it is a debug secret. It returns nil keys (and a nil
// error) when the program has no live secret of that version, and a
// NotFound error when there is no such program.
type Keys interface {
	InvokeKeys(ctx context.Context, programID string, ver int) (*wire.Keys, *openzone.DebugSession, error)
}

// Debug opens the SDK half of debug mode.
type Debug interface {
	SDKOpen(ctx context.Context, p debugmode.SDKOpenParams) (*debugmode.SDKOpenResult, error)
}

// Logs keeps a program's log batch.
type Logs interface {
	Ingest(ctx context.Context, b *logs.Batch) (*wire.LogAnswer, error)
}

// New returns the program API.
func New(cfg Config) *API { return &API{cfg: cfg} }

// Register adds the /spec/v1 routes to mux.
func (a *API) Register(mux *http.ServeMux) {
	mux.HandleFunc("POST /spec/v1/invoke", a.handleInvoke)
	mux.HandleFunc("POST /spec/v1/debug/open", a.handleDebugOpen)
	mux.HandleFunc("POST "+wire.LogPath, a.handleLogs)
}

// refusal is the answer to a packet the zone cannot open: there is no key
// to seal a reply with, so it is HTTP 401 with the ww-exception code and a
// plain JSON errcode/errmsg that carries nothing secret.
type refusal struct {
	exc     int
	errcode int
	msg     string
}

func (a *API) refuse(w http.ResponseWriter, f *refusal) {
	w.Header()[wire.HeaderException] = []string{strconv.Itoa(f.exc)} // lower case on the wire, as the protocol says
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(http.StatusUnauthorized)
	b, _ := json.Marshal(openzone.Base{Errcode: f.errcode, Errmsg: f.msg})
	w.Write(b)
}

// tooLarge answers an invoke over MaxInvokeBytes: 413 with errcode 45002,
// nothing more read.
func (a *API) tooLarge(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.Header().Set("Connection", "close")
	w.WriteHeader(http.StatusRequestEntityTooLarge)
	b, _ := json.Marshal(openzone.Base{Errcode: openzone.ErrRequestTooLarge, Errmsg: "invoke body over " + strconv.Itoa(MaxInvokeBytes) + " bytes"})
	w.Write(b)
}

// packet is an invoke the zone opened: its program is authenticated.
type packet struct {
	hd      wire.Header
	keys    *wire.Keys
	session *openzone.DebugSession // the debug session whose secret sealed it; nil for the program secret
	body    []byte                 // the plaintext
}

func (a *API) handleInvoke(w http.ResponseWriter, r *http.Request) {
	if r.ContentLength > MaxInvokeBytes {
		a.tooLarge(w)
		return
	}
	span := a.cfg.Recorder.Begin(openzone.TrafficRecord{Kind: openzone.TrafficInvoke, StartedAt: a.cfg.Now()})
	r.Body = http.MaxBytesReader(w, r.Body, MaxInvokeBytes)
	p, refused := a.open(r, wire.PurposeInvoke, MaxInvokeBytes)
	if refused != nil && refused.errcode == openzone.ErrRequestTooLarge {
		a.tooLarge(w)
		return
	}
	if refused != nil {
		a.refuse(w, refused)
		return
	}
	// From here on the program is authenticated: every answer is sealed.
	var inv wire.Invoke
	var reply openzone.Reply
	if err := json.Unmarshal(p.body, &inv); err != nil {
		reply = errReply(openzone.Errorf(openzone.ErrInvalidParam, "invoke envelope is not valid JSON"))
	} else {
		reply = a.run(r.Context(), p, &inv)
	}
	out, err := json.Marshal(reply)
	if err != nil {
		reply = openzone.Base{Errcode: openzone.ErrSystem, Errmsg: "system busy"}
		out, _ = json.Marshal(reply)
	}
	w.Header().Set("Content-Type", wire.ContentType)
	p.hd.Apply(w.Header(), true)
	w.WriteHeader(http.StatusOK)
	w.Write(p.keys.Seal(wire.PurposeResult, p.hd, out))

	span.Rec.ProgramID, span.Rec.RequestID, span.Rec.Route = p.hd.ProgramID, p.hd.RequestID, openzone.RouteDeployed
	if p.session != nil {
		span.Rec.Route = openzone.RouteDebug
	}
	span.Rec.Interface, span.Rec.CorpID, span.Rec.AgentID, span.Rec.AbilityID = inv.Interface, inv.CorpID, inv.AgentID, inv.AbilityID
	span.Rec.Request, span.Rec.Response = traffic.Mask(string(inv.Request)), traffic.Mask(string(out))
	span.EndWith(reply.ReplyBase())
}

// open authenticates a request of purpose p (an invoke or a log batch) of
// at most max bytes: its header, the program's live secret of the version
// it names, the seal, freshness and replay.
func (a *API) open(r *http.Request, p wire.Purpose, max int) (*packet, *refusal) {
	ctx := r.Context()
	hd, err := wire.ReadHeader(r.Header, "")
	if err != nil {
		return nil, &refusal{wire.ExceptionCode(err), openzone.ErrProgramDecrypt, err.Error()}
	}
	if hd.ProgramID == "" {
		return nil, &refusal{wire.ExcMalformed, openzone.ErrProgramDecrypt, "header ww-program-id missing"}
	}
	keys, session, err := a.cfg.Keys.InvokeKeys(ctx, hd.ProgramID, hd.SecretVer)
	if err == nil && keys == nil {
		return nil, &refusal{wire.ExcSecretVer, openzone.ErrProgramDecrypt, "secret version " + strconv.Itoa(hd.SecretVer) + " is not a live secret of this program (in debug mode: the debug credential expired, debug mode was closed, or the SDK opened it again)"}
	}
	if err != nil {
		if openzone.IsNotFound(err) {
			return nil, &refusal{wire.ExcUnknownPrg, openzone.ErrBadProgramID, "unknown program " + strconv.Quote(hd.ProgramID)}
		}
		a.cfg.Logger.Error("spec api: program keys", "program_id", hd.ProgramID, "err", err)
		return nil, &refusal{wire.ExcMalformed, openzone.ErrSystem, "system busy"}
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, int64(max)+1))
	var mbe *http.MaxBytesError
	if len(body) > max || errors.As(err, &mbe) {
		return nil, &refusal{wire.ExcMalformed, openzone.ErrRequestTooLarge, "body over " + strconv.Itoa(max) + " bytes"}
	}
	if err != nil {
		return nil, &refusal{wire.ExcMalformed, openzone.ErrProgramDecrypt, "body unreadable"}
	}
	pt, err := keys.Open(p, hd, body)
	if err != nil {
		return nil, &refusal{wire.ExceptionCode(err), openzone.ErrProgramDecrypt, err.Error()}
	}
	// Freshness and replay are judged on the wall clock: the program's
	// clock is real, whatever the zone's injectable clock says.
	now := time.Now()
	if err := wire.CheckTimestamp(hd.Timestamp, now); err != nil {
		return nil, &refusal{wire.ExceptionCode(err), openzone.ErrProgramDecrypt, err.Error()}
	}
	fresh, err := a.cfg.Store.ReplayRemember(ctx, store.ReplayRememberParams{Scope: "invoke:" + hd.ProgramID, RequestID: hd.RequestID, Now: now, Expires: now.Add(2 * wire.Window)})
	if err != nil {
		a.cfg.Logger.Error("spec api: replay window", "err", err)
		return nil, &refusal{wire.ExcMalformed, openzone.ErrSystem, "system busy"}
	}
	if !fresh {
		return nil, &refusal{wire.ExcReplay, openzone.ErrProgramDecrypt, "request id " + hd.RequestID + " was already used"}
	}
	return &packet{hd: hd, keys: keys, session: session, body: pt}, nil
}

// run runs an opened invoke for the corp and app its SDK context names: a
// debug secret acts only for its own session's.
func (a *API) run(ctx context.Context, p *packet, inv *wire.Invoke) openzone.Reply {
	c := &Context{ProgramID: p.hd.ProgramID, CorpID: inv.CorpID, AgentID: inv.AgentID, AbilityID: inv.AbilityID,
		JobInfo: inv.JobInfo, Instance: inv.Instance, Debug: p.session != nil}
	if s := p.session; s != nil && (inv.CorpID != s.CorpID || inv.AgentID != s.AgentID) {
		return errReply(openzone.Errorf(openzone.ErrNotInDebugMode, "this debug secret belongs to corp %s app %d: program %q is not in debug mode for corp %s app %d", s.CorpID, s.AgentID, p.hd.ProgramID, inv.CorpID, inv.AgentID))
	}
	return a.dispatch(ctx, c, inv)
}

// dispatch checks the invoke context and runs the interface.
func (a *API) dispatch(ctx context.Context, c *Context, inv *wire.Invoke) openzone.Reply {
	f, known, agentless := a.cfg.Registry.lookup(inv.Interface)
	if !known {
		return errReply(openzone.Errorf(openzone.ErrUnknownInterface, "unknown SDK interface %q (this zone has: %s)", inv.Interface, strings.Join(a.cfg.Registry.Names(), ", ")))
	}
	if inv.CorpID == "" {
		return errReply(openzone.Errorf(openzone.ErrInvalidParam, "corpid missing from the SDK context"))
	}
	if inv.AgentID == 0 {
		if !agentless {
			return errReply(openzone.Errorf(openzone.ErrInvalidParam, "agentid missing from the SDK context: only program_async_job_call_back may run without an app"))
		}
	} else {
		app, err := a.cfg.Store.AppGet(ctx, inv.CorpID, inv.AgentID)
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
		has, err := a.cfg.Store.AppProgramHas(ctx, store.AppProgramHasParams{CorpID: inv.CorpID, AgentID: inv.AgentID, ProgramID: c.ProgramID})
		if err != nil {
			return errReply(a.internal(err))
		}
		if !has {
			return errReply(openzone.Errorf(openzone.ErrNotAssociated, "program %q is not configured for app %d of corp %s", c.ProgramID, inv.AgentID, inv.CorpID))
		}
		prog, err := a.cfg.Store.ProgramGet(ctx, c.ProgramID)
		if err != nil {
			return errReply(a.internal(err))
		}
		// An unreleased program acts for an app only in a test scenario,
		// as it stands now (710672).
		if err := debugmode.CheckUse(ctx, a.cfg.Store, app, prog); err != nil {
			return errReply(a.internal(err))
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
		a.cfg.Logger.Error("spec api: interface failed", "err", err)
	}
	return err
}

func errReply(err error) openzone.Reply { return openzone.BaseOf(err) }

// handleLogs serves POST /spec/v1/logs: a batch of the program's log lines
// (docs/protocol.md §16), answered with a sealed wire.LogAnswer. Batches are
// not recorded as traffic: they are the program's logs, not its calls.
func (a *API) handleLogs(w http.ResponseWriter, r *http.Request) {
	p, refused := a.open(r, wire.PurposeLog, wire.MaxLogBatchBytes)
	if refused != nil {
		a.refuse(w, refused)
		return
	}
	var ans *wire.LogAnswer
	b := &logs.Batch{ProgramID: p.hd.ProgramID, Debug: p.session != nil}
	err := json.Unmarshal(p.body, &b.LogBatch)
	if err != nil {
		err = openzone.Errorf(openzone.ErrInvalidParam, "log batch is not the JSON of a batch (docs/protocol.md §16)")
	} else {
		ans, err = a.cfg.Logs.Ingest(r.Context(), b)
	}
	if err != nil {
		base := openzone.BaseOf(a.internal(err))
		ans = &wire.LogAnswer{Errcode: base.Errcode, Errmsg: base.Errmsg}
	}
	out, _ := json.Marshal(ans) // plain fields always marshal
	w.Header().Set("Content-Type", wire.ContentType)
	p.hd.Apply(w.Header(), true)
	w.WriteHeader(http.StatusOK)
	w.Write(p.keys.Seal(wire.PurposeResult, p.hd, out))
}
