// Package gateway routes a call or event to a program: to one of its
// deployed instances (through the runtime) and, from the debug-mode issue
// on, to a developer's debug receiver. It seals the request with packet
// protocol v1, opens the reply, and turns every transport failure into the
// WeCom errcode documented in docs/decisions.md.
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
	"github.com/openzone/openzone/internal/runtime"
	"github.com/openzone/openzone/internal/store"
	"github.com/openzone/openzone/internal/wire"
)

// MaxReplyBytes bounds a program's reply; a larger one is refused (790013).
const MaxReplyBytes = 16 << 20

// Gateway delivers calls to programs.
type Gateway struct {
	store   store.Executor
	runtime *runtime.Runtime
	client  *http.Client
	now     func() time.Time
	timeout time.Duration

	mu   sync.Mutex
	keys map[string]*wire.Keys // program id → keys of its current secret
}

// Config configures a Gateway.
type Config struct {
	Store   store.Executor
	Runtime *runtime.Runtime
	// Now is the zone clock (timestamps of sealed packets). Default time.Now.
	Now func() time.Time
	// Timeout bounds one call to a program, connect to last byte of the
	// reply (710675 when it passes). Default 30 s.
	Timeout time.Duration
}

// New returns a Gateway. Its HTTP client keeps connections to instances
// alive: a call must not pay for a TCP handshake.
func New(cfg Config) *Gateway {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 30 * time.Second
	}
	tr := &http.Transport{
		Proxy:               nil,
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        1024,
		MaxIdleConnsPerHost: 256,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
	}
	return &Gateway{
		store:   cfg.Store,
		runtime: cfg.Runtime,
		client:  &http.Client{Transport: tr},
		now:     cfg.Now,
		timeout: cfg.Timeout,
		keys:    make(map[string]*wire.Keys),
	}
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
}

// Result is what came back, with where it went and how long the program took.
type Result struct {
	Data      string
	Route     string // openzone.RouteDeployed or openzone.RouteDebug
	Instance  string
	RequestID string
	Program   time.Duration // time spent waiting on the program (network included)
}

// Do delivers c and returns the program's reply data. Errors are
// *openzone.Error with the errcodes of docs/decisions.md; res is non-nil
// whenever the call reached routing, so callers can record where it went.
func (g *Gateway) Do(ctx context.Context, c *Call) (*Result, error) {
	res := &Result{Route: openzone.RouteDeployed}
	keys, err := g.Keys(ctx, c.Program.ID)
	if err != nil {
		return res, err
	}
	body, err := json.Marshal(wire.Call{
		CorpID: c.CorpID, AgentID: c.AgentID, CallType: c.CallType, Data: c.Data,
		IsAsync: c.IsAsync, JobInfo: c.JobInfo, AbilityID: c.AbilityID, NotifyID: c.NotifyID,
	})
	if err != nil {
		return res, fmt.Errorf("gateway: marshal call: %w", err)
	}
	hd := wire.Header{
		ProgramID: c.Program.ID,
		SecretVer: keys.Secret.Ver,
		RequestID: wire.NewRequestID(),
		Timestamp: g.now().Unix(),
	}
	res.RequestID = hd.RequestID
	sealed := keys.Seal(wire.PurposeCall, hd, body)

	// A connect failure means the instance never saw the request, so one
	// more healthy instance may be tried; anything later may not be retried.
	var lastErr error
	for attempt := 0; attempt < 2; attempt++ {
		inst, ok, err := g.runtime.Pick(ctx, c.Program.ID)
		if !ok {
			return res, openzone.Errorf(openzone.ErrNotDeployed, "program %q is not deployed", c.Program.ID)
		}
		if err != nil {
			return res, openzone.Wrap(openzone.ErrCallProgram, err, "calling program %q failed: no healthy instance", c.Program.ID)
		}
		res.Instance = inst.Name
		start := time.Now()
		data, err := g.post(ctx, inst.URL, keys, hd, sealed)
		res.Program += time.Since(start)
		if err == nil {
			res.Data = data
			return res, nil
		}
		var ce *connectError
		if !errors.As(err, &ce) {
			return res, err
		}
		g.runtime.MarkUnhealthy(inst)
		lastErr = openzone.Wrap(openzone.ErrCallProgram, ce.err, "calling program %q failed: instance %s unreachable", c.Program.ID, inst.Name)
	}
	return res, lastErr
}

type connectError struct{ err error }

func (e *connectError) Error() string { return e.err.Error() }

// post sends one sealed request and opens the reply.
func (g *Gateway) post(ctx context.Context, url string, keys *wire.Keys, hd wire.Header, sealed []byte) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, g.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url+"/", bytes.NewReader(sealed))
	if err != nil {
		return "", openzone.Wrap(openzone.ErrCallProgram, err, "calling program %q failed: bad instance URL", hd.ProgramID)
	}
	req.Header.Set("Content-Type", wire.ContentType)
	hd.Apply(req.Header, false)
	resp, err := g.client.Do(req)
	if err != nil {
		if isConnectErr(err) {
			return "", &connectError{err}
		}
		if ctx.Err() == context.DeadlineExceeded || isTimeout(err) {
			return "", openzone.Wrap(openzone.ErrProgramTimeout, err, "program %q did not answer within %s", hd.ProgramID, g.timeout)
		}
		return "", openzone.Wrap(openzone.ErrCallProgram, err, "calling program %q failed: the connection was lost before a reply", hd.ProgramID)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 256))
		return "", openzone.Errorf(openzone.ErrProgramStatus, "program %q answered HTTP %d: %s", hd.ProgramID, resp.StatusCode, bytes.TrimSpace(msg))
	}
	if exc := resp.Header.Get(wire.HeaderException); exc != "" {
		return "", openzone.Errorf(openzone.ErrProgramDecrypt, "program %q could not open the request (ww-exception %s: %s)", hd.ProgramID, exc, excName(exc))
	}
	raw, err := io.ReadAll(io.LimitReader(resp.Body, MaxReplyBytes+wire.Overhead+1))
	if err != nil {
		if ctx.Err() != nil || isTimeout(err) {
			return "", openzone.Wrap(openzone.ErrProgramTimeout, err, "program %q did not answer within %s", hd.ProgramID, g.timeout)
		}
		return "", openzone.Wrap(openzone.ErrCallProgram, err, "calling program %q failed: the connection was lost while reading the reply", hd.ProgramID)
	}
	if len(raw) > MaxReplyBytes+wire.Overhead {
		return "", openzone.Errorf(openzone.ErrBadResultJSON, "program %q replied more than %d bytes", hd.ProgramID, MaxReplyBytes)
	}
	pt, err := keys.Open(wire.PurposeReply, hd, raw)
	if err != nil {
		return "", openzone.Wrap(openzone.ErrProgramDecrypt, err, "the reply of program %q does not authenticate", hd.ProgramID)
	}
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

// Keys returns the packet keys of the program's current secret, cached.
func (g *Gateway) Keys(ctx context.Context, programID string) (*wire.Keys, error) {
	g.mu.Lock()
	k := g.keys[programID]
	g.mu.Unlock()
	if k != nil {
		return k, nil
	}
	sec, err := g.store.ProgramSecretGet(ctx, programID)
	if err != nil {
		return nil, fmt.Errorf("gateway: program secret: %w", err)
	}
	ws := wire.Secret{Ver: sec.Ver}
	copy(ws.Key[:], sec.Key)
	k = wire.NewKeys(ws)
	g.mu.Lock()
	g.keys[programID] = k
	g.mu.Unlock()
	return k, nil
}

// Forget drops cached keys, after a secret rotation.
func (g *Gateway) Forget(programID string) {
	g.mu.Lock()
	delete(g.keys, programID)
	g.mu.Unlock()
}
