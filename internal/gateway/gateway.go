// Package gateway routes a call or event to a program: to one of its
// deployed instances (through the supervisor), on this node or another, or
// in debug mode to the developer's receiver URL or debug listener. It seals
// the request with packet protocol v2, opens the reply, and turns every
// transport failure into the WeCom errcode documented in docs/decisions.md.
package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/openzone/openzone"
	"github.com/openzone/openzone/internal/debugmode"
	"github.com/openzone/openzone/internal/listener"
	"github.com/openzone/openzone/internal/listener/frame"
	"github.com/openzone/openzone/internal/outbound"
	"github.com/openzone/openzone/internal/store"
	"github.com/openzone/openzone/internal/supervisor"
	"github.com/openzone/openzone/internal/traffic"
	"github.com/openzone/openzone/internal/wire"
)

// HeaderRetryNotify is the reply header of a program that asks the zone to
// deliver the call again later (WeCom SDKs' get_retry_notify_header).
const HeaderRetryNotify = "ww-retry-notify"

// The reply headers' names as net/http keeps them: looking them up in that
// form spares Header.Get a canonicalising allocation on every call.
var (
	canonicalException   = http.CanonicalHeaderKey(wire.HeaderException)
	canonicalRetryNotify = http.CanonicalHeaderKey(HeaderRetryNotify)
)

// headerGet is Header.Get for a name already in canonical form.
func headerGet(h http.Header, canonical string) string {
	if v := h[canonical]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// MaxReplyBytes bounds a program's reply; a larger one is refused (790013).
const MaxReplyBytes = 16 << 20

// Gateway delivers calls to programs.
type Gateway struct {
	cfg Config

	mu      sync.Mutex
	secrets map[string]*wire.Keys // program id → keys of its current secret
}

// Config configures a Gateway.
type Config struct {
	Store      store.Executor
	Supervisor *supervisor.Supervisor
	// Timeout bounds one call to a program, connect to last byte of the
	// reply (710675 when it passes). Default 30 s.
	Timeout time.Duration
	// Debug says whether a call goes to a debug receiver, and finds debug
	// secrets; nil: never.
	Debug Debug
	// Listeners reaches programs' debug listeners, on this node or
	// another; nil: calls in listener mode fail (710674).
	Listeners Listeners
	// Remote finds an instance another zone node runs, by name (nodes
	// sharing a database publish theirs); nil: this node is alone.
	Remote Remote
	// Outbound carries calls to addresses the zone was given — receiver
	// URLs, programs deployed with a URL — under the zone's outbound
	// policy; Internal carries calls to the instances the zone (or another
	// node) runs itself. Both follow no redirect. Default: clients of
	// package outbound with the default policy.
	Outbound, Internal *http.Client
}

// Debug is debug mode as a call sees it (debugmode.Routes).
type Debug interface {
	Route(ctx context.Context, corpID string, agentID int64, programID string) (*debugmode.Route, error)
	InvokeKeys(ctx context.Context, programID string, ver int) (*wire.Keys, *openzone.DebugSession, error)
}

// Listeners delivers through programs' debug listeners (listener.Hub).
type Listeners interface {
	RoundTrip(ctx context.Context, t listener.Trip) (*frame.Message, listener.Reach, error)
}

// Remote finds an instance another node runs (cluster.Node).
type Remote interface {
	Instance(ctx context.Context, programID, name string) (supervisor.Instance, bool)
}

// New returns a Gateway. Its default clients keep connections to
// instances alive: a call must not pay for a TCP handshake.
func New(cfg Config) *Gateway {
	if cfg.Timeout == 0 {
		cfg.Timeout = 30 * time.Second
	}
	if cfg.Internal == nil {
		cfg.Internal = NewInstanceClient(outbound.Policy{})
		if cfg.Supervisor != nil {
			dialSandboxes(cfg.Internal, cfg.Supervisor)
		}
	}
	if cfg.Outbound == nil {
		cfg.Outbound = NewInstanceClient(outbound.Policy{})
	}
	return &Gateway{cfg: cfg, secrets: make(map[string]*wire.Keys)}
}

// dialSandboxes makes c reach the sandboxed instances of this node
// straight inside their sandboxes (the supervisor has the connection made
// there and handed over), and dial anything else as before.
func dialSandboxes(c *http.Client, sup *supervisor.Supervisor) {
	tr, ok := c.Transport.(*http.Transport)
	if !ok {
		return
	}
	next := tr.DialContext
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		if conn, ok, err := sup.DialSandboxed(ctx, addr); ok {
			return conn, err
		}
		return next(ctx, network, addr)
	}
}

// NewInstanceClient is an outbound client sized for calls to programs:
// many kept-alive connections per instance.
func NewInstanceClient(p outbound.Policy) *http.Client {
	return outbound.New(outbound.Config{Policy: p, MaxIdleConns: 1024, MaxIdleConnsPerHost: 256})
}

// Call is one delivery to a program.
type Call struct {
	Program   *openzone.Program
	CorpID    string
	AgentID   int64
	CallType  int // 1 app call, 2 event
	Data      string
	IsAsync   bool
	JobInfo   string
	AbilityID string
	NotifyID  string
	// Instance, when set, is the deployed instance to prefer (the one that
	// minted NotifyID).
	Instance string
	// EventID is an event's stable id (call_type 2).
	EventID string
	// Label names the call in a debug listener's log line (the event type
	// of an event); it is not part of the sealed call.
	Label string
	// Drain marks the delivery of work held while no debug listener was
	// connected, made in order before new durable work may pass.
	Drain     bool
	HeldSince time.Time
	// Timeout, when set and shorter than the gateway's, bounds this call
	// (a model must acknowledge a task within 5 s).
	Timeout time.Duration
}

func (g *Gateway) timeoutOf(c *Call) time.Duration {
	if c.Timeout > 0 && c.Timeout < g.cfg.Timeout {
		return c.Timeout
	}
	return g.cfg.Timeout
}

// Call types beyond the app call (1) and the event (2).
const CallProbe = 3 // the pre-flight probe of a debug receiver (docs/protocol.md)

// Result is what came back, with where it went and how long the program
// took (the hop a traffic record notes).
type Result struct {
	Data string
	traffic.Hop
}

// Do delivers c and returns the program's reply data. Errors are
// *openzone.Error with the errcodes of docs/decisions.md; res is non-nil
// whenever the call reached routing, so callers can record where it went.
func (g *Gateway) Do(ctx context.Context, c *Call) (*Result, error) {
	res := &Result{Hop: traffic.Hop{Route: openzone.RouteDeployed}}
	body, err := marshalCall(c)
	if err != nil {
		return res, fmt.Errorf("gateway: marshal call: %w", err)
	}
	if g.cfg.Debug != nil {
		route, err := g.cfg.Debug.Route(ctx, c.CorpID, c.AgentID, c.Program.ID)
		if err != nil {
			return res, err
		}
		if route != nil {
			return g.doDebug(ctx, c, route, body, res)
		}
	}
	keys, err := g.programKeys(ctx, c.Program.ID)
	if err != nil {
		return res, err
	}
	hd := g.header(c.Program.ID, keys)
	res.RequestID = hd.RequestID
	sealed := keys.Seal(wire.PurposeCall, hd, body)

	// A connect failure means the instance never saw the request, so one
	// more healthy instance may be tried; anything later may not be retried.
	var lastErr error
	for attempt := 0; attempt < 2; attempt++ {
		prefer := c.Instance
		if attempt > 0 {
			prefer = ""
		}
		inst, ok, err := g.pick(ctx, c.Program.ID, prefer)
		if !ok {
			return res, openzone.Errorf(openzone.ErrNotDeployed, "program %q is not deployed", c.Program.ID)
		}
		if err != nil {
			return res, openzone.Wrap(openzone.ErrCallProgram, err, "calling program %q failed: no healthy instance", c.Program.ID)
		}
		res.Instance = inst.Name
		start := time.Now()
		client := g.cfg.Internal
		if inst.External {
			client = g.cfg.Outbound
		}
		data, err := g.post(ctx, client, g.timeoutOf(c), inst.URL+"/", keys, hd, sealed)
		res.Program += time.Since(start)
		if err == nil {
			res.Data = data
			return res, nil
		}
		var ce *connectError
		if !errors.As(err, &ce) {
			return res, err
		}
		g.cfg.Supervisor.MarkUnhealthy(inst)
		lastErr = openzone.Wrap(openzone.ErrCallProgram, ce.err, "calling program %q failed: instance %s unreachable", c.Program.ID, inst.Name)
	}
	return res, lastErr
}

// pick chooses the instance of a call: prefer when this node or, through
// Remote, another node runs it; else any healthy local one.
func (g *Gateway) pick(ctx context.Context, programID, prefer string) (supervisor.Instance, bool, error) {
	if prefer != "" && g.cfg.Remote != nil && !g.cfg.Supervisor.Has(programID, prefer) {
		if inst, ok := g.cfg.Remote.Instance(ctx, programID, prefer); ok {
			return inst, true, nil
		}
	}
	return g.cfg.Supervisor.PickPreferred(ctx, programID, prefer)
}

func marshalCall(c *Call) ([]byte, error) {
	return json.Marshal(wire.Call{
		CorpID: c.CorpID, AgentID: c.AgentID, CallType: c.CallType, Data: c.Data,
		IsAsync: c.IsAsync, JobInfo: c.JobInfo, AbilityID: c.AbilityID, NotifyID: c.NotifyID, EventID: c.EventID,
	})
}

func (g *Gateway) header(programID string, keys *wire.Keys) wire.Header {
	return wire.Header{
		ProgramID: programID,
		SecretVer: keys.Secret.Ver,
		RequestID: wire.NewRequestID(),
		// Packet freshness is between real clocks of two processes, so it
		// uses the wall clock, not the zone's (injectable) clock.
		Timestamp: time.Now().Unix(),
	}
}

// doDebug delivers c to the program's receiver URL (接收事件服务器), sealed
// with the session's debug secret. The URL is used as configured. Failures
// take WeCom's debug-mode codes: 710674 connect, 710675 read/write or
// timeout, 710676 non-200, 710677 cannot open or verify.
func (g *Gateway) doDebug(ctx context.Context, c *Call, route *debugmode.Route, body []byte, res *Result) (*Result, error) {
	res.Route, res.Instance = openzone.RouteDebug, "receiver"
	if route.Listener != nil {
		return g.doListener(ctx, c, route, body, res)
	}
	if route.ReceiverURL == "" {
		return res, openzone.Errorf(openzone.ErrProgramConnect, "debug mode is on for program %q but it has no receiver URL (接收事件服务器): set one on its debug page", c.Program.ID)
	}
	hd := g.header(c.Program.ID, route.Keys)
	res.RequestID = hd.RequestID
	start := time.Now()
	data, err := g.post(ctx, g.cfg.Outbound, g.timeoutOf(c), route.ReceiverURL, route.Keys, hd, route.Keys.Seal(wire.PurposeCall, hd, body))
	res.Program = time.Since(start)
	if err != nil {
		var ce *connectError
		if errors.As(err, &ce) {
			return res, openzone.Wrap(openzone.ErrProgramConnect, ce.err, "cannot connect to the receiver URL of program %q (%s)%s", c.Program.ID, route.ReceiverURL, ce.why())
		}
		if openzone.ErrorCode(err) == openzone.ErrCallProgram {
			return res, openzone.Wrap(openzone.ErrProgramTimeout, err, "the receiver of program %q dropped the connection before replying", c.Program.ID)
		}
		return res, err
	}
	res.Data = data
	return res, nil
}

type connectError struct{ err error }

func (e *connectError) Error() string { return e.err.Error() }

// why says, for the errmsg, that the outbound policy refused the address
// (the one reason the caller can act on); other dial errors stay in logs.
func (e *connectError) why() string {
	if outbound.Refused(e.err) {
		return ": " + outbound.Reason(e.err)
	}
	return ""
}

// post sends one sealed request with client and opens the reply.
func (g *Gateway) post(ctx context.Context, client *http.Client, timeout time.Duration, url string, keys *wire.Keys, hd wire.Header, sealed []byte) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(sealed))
	if err != nil {
		return "", openzone.Wrap(openzone.ErrCallProgram, err, "calling program %q failed: bad instance URL", hd.ProgramID)
	}
	req.Header.Set("Content-Type", wire.ContentType)
	hd.Apply(req.Header, false)
	resp, err := client.Do(req)
	if err != nil {
		if isConnectErr(err) || outbound.Refused(err) {
			return "", &connectError{err}
		}
		if ctx.Err() == context.DeadlineExceeded || isTimeout(err) {
			return "", openzone.Wrap(openzone.ErrProgramTimeout, err, "program %q did not answer within %s", hd.ProgramID, timeout)
		}
		return "", openzone.Wrap(openzone.ErrCallProgram, err, "calling program %q failed: the connection was lost before a reply", hd.ProgramID)
	}
	defer resp.Body.Close()
	// The reply is read and opened in pooled buffers: only the data string
	// handed back is allocated per call. (The request body is not pooled:
	// the transport may still read it after RoundTrip returns.)
	rb := getBuf()
	defer putBuf(rb)
	buf := bytes.NewBuffer((*rb)[:0])
	_, err = buf.ReadFrom(io.LimitReader(resp.Body, int64(wire.BodyLen(MaxReplyBytes))+3))
	raw := buf.Bytes()
	*rb = raw[:0]
	if err != nil && resp.StatusCode == http.StatusOK && resp.Header.Get(wire.HeaderException) == "" {
		if ctx.Err() != nil || isTimeout(err) {
			return "", openzone.Wrap(openzone.ErrProgramTimeout, err, "program %q did not answer within %s", hd.ProgramID, timeout)
		}
		return "", openzone.Wrap(openzone.ErrCallProgram, err, "calling program %q failed: the connection was lost while reading the reply", hd.ProgramID)
	}
	return openReply(keys, hd, resp.StatusCode, headerGet(resp.Header, canonicalException), headerGet(resp.Header, canonicalRetryNotify), raw)
}

// openReply checks a program's answer — status, ww-exception, size — and
// opens the sealed reply, whichever transport carried it.
func openReply(keys *wire.Keys, hd wire.Header, status int, exc, retry string, raw []byte) (string, error) {
	if status != http.StatusOK {
		// The body is not quoted: a redirect or an error page may come
		// from anything the target reached, and the errmsg goes to the app.
		if status >= 300 && status < 400 {
			return "", openzone.Errorf(openzone.ErrProgramStatus, "program %q answered HTTP %d (a redirect: the zone follows none)", hd.ProgramID, status)
		}
		return "", openzone.Errorf(openzone.ErrProgramStatus, "program %q answered HTTP %d (%d bytes of body, not shown)", hd.ProgramID, status, len(raw))
	}
	if exc != "" {
		return "", openzone.Errorf(openzone.ErrProgramDecrypt, "program %q could not open the request (ww-exception %s: %s)", hd.ProgramID, exc, excName(exc))
	}
	if retry != "" {
		// WeCom's SDKs let a program ask for an event to come again
		// (WWToSpecRetryNotifyException → get_retry_notify_header): the
		// delivery counts as failed and is retried on its schedule.
		return "", openzone.Errorf(openzone.ErrProgramStatus, "program %q asked to be called again later (%s %.16s)", hd.ProgramID, HeaderRetryNotify, retry)
	}
	if len(raw) > wire.BodyLen(MaxReplyBytes)+2 {
		return "", openzone.Errorf(openzone.ErrBadResultJSON, "program %q replied more than %d bytes", hd.ProgramID, MaxReplyBytes)
	}
	pb := getBuf()
	defer putBuf(pb)
	pt, err := keys.OpenAppend((*pb)[:0], wire.PurposeReply, hd, raw)
	if err != nil {
		return "", openzone.Wrap(openzone.ErrProgramDecrypt, err, "the reply of program %q does not authenticate", hd.ProgramID)
	}
	*pb = pt[:0]
	var rep wire.Reply
	if err := json.Unmarshal(pt, &rep); err != nil {
		return "", openzone.Wrap(openzone.ErrProgramDecrypt, err, "the reply of program %q is not a reply envelope", hd.ProgramID)
	}
	return rep.Data, nil
}

func excName(code string) string {
	n, _ := strconv.Atoi(code)
	switch n {
	case wire.ExcAuth:
		return "packet does not authenticate"
	case wire.ExcSecretVer:
		return "secret version mismatch"
	case wire.ExcTimestamp:
		return "timestamp outside ±300 s"
	case wire.ExcReplay:
		return "replayed request id"
	case wire.ExcMalformed:
		return "malformed request"
	}
	return "unknown exception"
}

func isConnectErr(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// programKeys returns the packet keys of the program's current secret,
// cached until Forget.
func (g *Gateway) programKeys(ctx context.Context, programID string) (*wire.Keys, error) {
	g.mu.Lock()
	k := g.secrets[programID]
	g.mu.Unlock()
	if k != nil {
		return k, nil
	}
	sec, err := g.cfg.Store.ProgramSecretGet(ctx, programID)
	if err != nil {
		return nil, fmt.Errorf("gateway: program secret: %w", err)
	}
	ws := wire.Secret{Ver: sec.Ver}
	copy(ws.Key[:], sec.Key)
	k = wire.NewKeys(ws)
	g.mu.Lock()
	g.secrets[programID] = k
	g.mu.Unlock()
	return k, nil
}

// Forget drops cached keys, after a secret rotation.
func (g *Gateway) Forget(programID string) {
	g.mu.Lock()
	delete(g.secrets, programID)
	g.mu.Unlock()
}

// InvokeKeys finds the keys of a program's secret by version, for an SDK
// invoke: the production secret, or a live debug secret with its session
// (docs/protocol.md §15.2). It returns nil keys (and a nil error) when the
// program has no live secret of that version, and a NotFound error when
// there is no such program.
func (g *Gateway) InvokeKeys(ctx context.Context, programID string, ver int) (*wire.Keys, *openzone.DebugSession, error) {
	if ver >= wire.DebugSecretVerMin {
		if _, err := g.cfg.Store.ProgramGet(ctx, programID); err != nil {
			return nil, nil, err
		}
		if g.cfg.Debug == nil {
			return nil, nil, nil
		}
		return g.cfg.Debug.InvokeKeys(ctx, programID, ver)
	}
	k, err := g.programKeys(ctx, programID)
	if err != nil {
		return nil, nil, err
	}
	if k.Secret.Ver != ver {
		return nil, nil, nil
	}
	return k, nil, nil
}

// maxPooledBuf bounds the reply buffers kept for reuse: one huge reply
// must not pin its memory.
const maxPooledBuf = 1 << 20

var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 4<<10); return &b }}

func getBuf() *[]byte { return bufPool.Get().(*[]byte) }

func putBuf(b *[]byte) {
	if cap(*b) <= maxPooledBuf {
		*b = (*b)[:0]
		bufPool.Put(b)
	}
}
