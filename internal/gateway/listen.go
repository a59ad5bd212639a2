package gateway

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/openzone/openzone"
	"github.com/openzone/openzone/internal/debugmode"
	"github.com/openzone/openzone/internal/listener"
	"github.com/openzone/openzone/internal/listener/frame"
	"github.com/openzone/openzone/internal/traffic"
	"github.com/openzone/openzone/internal/wire"
)

// doListener delivers c over the program's debug listener (`openzone debug
// listen`) in place of its receiver URL: the same sealed request, the same
// sealed reply, the same errcodes. With no listener connected a sync call
// fails at once (710674); durable deliveries get listener.ErrAbsent in the
// chain and wait, and wait too while held ones are delivered.
func (g *Gateway) doListener(ctx context.Context, c *Call, route *debugmode.Route, body []byte, res *Result) (*Result, error) {
	if g.cfg.Listeners == nil {
		return res, absent(c.Program.ID, route.Listener)
	}
	durable := c.CallType == 2 || c.IsAsync
	hd := g.header(c.Program.ID, route.Keys)
	res.RequestID = hd.RequestID
	m := listenerMessage(c, hd, route.Keys.Seal(wire.PurposeCall, hd, body))
	timeout := g.timeoutOf(c)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	start := time.Now()
	ans, reach, err := g.cfg.Listeners.RoundTrip(ctx, listener.Trip{ProgramID: c.Program.ID, Listener: route.Listener,
		Gate: durable && !c.Drain, Message: m}) // held work goes first
	res.Program = time.Since(start)
	if reach.Via != "" {
		res.Instance = reach.Via
	}
	switch {
	case errors.Is(err, listener.ErrAbsent):
		return res, absent(c.Program.ID, route.Listener)
	case errors.Is(err, listener.ErrNotReady):
		return res, notReady(c.Program.ID)
	case errors.Is(err, listener.ErrClosed): // closed just now: not sent
		return res, openzone.Wrap(openzone.ErrProgramConnect, errors.Join(listener.ErrAbsent, err),
			"the debug listener of program %q was lost (%s): sync calls fail until `openzone debug listen` reconnects; events and async calls wait for it",
			c.Program.ID, reach.Reason)
	case errors.Is(err, listener.ErrLost):
		// The program may have acted; a durable delivery goes again (with
		// its stable event id) once a listener is back.
		return res, openzone.Wrap(openzone.ErrProgramTimeout, errors.Join(listener.ErrAbsent, err),
			"the debug listener of program %q was lost before the reply (%v)", c.Program.ID, err)
	case err != nil:
		return res, openzone.Wrap(openzone.ErrProgramTimeout, err, "program %q did not answer through its debug listener within %s", c.Program.ID, timeout)
	}
	switch ans.ErrorKind {
	case "":
	case frame.ErrKindConnect:
		return res, openzone.Errorf(openzone.ErrProgramConnect, "the debug listener of program %q cannot connect to the local program (--forward-to): %s", c.Program.ID, ans.Error)
	default:
		return res, openzone.Errorf(openzone.ErrProgramTimeout, "the debug listener of program %q got no reply from the local program: %s", c.Program.ID, ans.Error)
	}
	data, err := openReply(route.Keys, hd, ans.Status, ans.Header[wire.HeaderException], ans.Header[HeaderRetryNotify], ans.Body)
	res.Data = data
	return res, err
}

// listenerMessage is c's sealed request as a listener carries it, with the
// metadata the CLI prints in clear.
func listenerMessage(c *Call, hd wire.Header, sealed []byte) *frame.Message {
	m := &frame.Message{Kind: kind(c), Label: c.Label, EventID: c.EventID, CorpID: c.CorpID, AgentID: c.AgentID, Held: !c.HeldSince.IsZero(),
		Header: map[string]string{"content-type": wire.ContentType}, Body: sealed}
	if c.Label == "" {
		m.Label = c.AbilityID
	}
	if !c.HeldSince.IsZero() {
		m.HeldSince = c.HeldSince.UnixMilli()
	}
	h := http.Header{}
	hd.Apply(h, false)
	for k, v := range h {
		m.Header[k] = v[0]
	}
	return m
}

func notReady(programID string) error {
	return openzone.Wrap(openzone.ErrProgramConnect, errors.Join(listener.ErrAbsent, listener.ErrNotReady),
		"the debug listener of program %q is delivering held events and async calls first", programID)
}

func kind(c *Call) string {
	switch {
	case c.CallType == 2:
		return frame.KindEvent
	case c.CallType == CallProbe:
		return frame.KindProbe
	case c.IsAsync:
		return frame.KindAsync
	}
	return frame.KindCall
}

// absent is the fail-fast 710674 of a program in listener mode whose
// listener is not connected to this node.
func absent(programID string, l *openzone.DebugListener) error {
	switch {
	case l.State == openzone.ListenerLost:
		return openzone.Wrap(openzone.ErrProgramConnect, listener.ErrAbsent,
			"the debug listener of program %q was lost at %s (%s): sync calls fail until `openzone debug listen` reconnects; events and async calls wait for it",
			programID, l.LostAt.UTC().Format(time.RFC3339), l.Reason)
	case l.Node != "":
		return openzone.Wrap(openzone.ErrProgramConnect, listener.ErrAbsent,
			"the debug listener of program %q is recorded as connected to zone node %s, which this node cannot reach", programID, l.Node)
	}
	return openzone.Wrap(openzone.ErrProgramConnect, listener.ErrAbsent, "program %q has no debug listener connected", programID)
}

// Probe sends the pre-flight probe (call_type 3) to the debug receiver of
// (corp, app, program) — listener or receiver URL — and says whether it
// answered and opened it. It returns nil when debug mode is off.
func (g *Gateway) Probe(ctx context.Context, programID, corpID string, agentID int64) *openzone.DebugProbe {
	if g.cfg.Debug == nil {
		return nil
	}
	route, err := g.cfg.Debug.Route(ctx, corpID, agentID, programID)
	if err != nil || route == nil {
		return nil
	}
	p := &openzone.DebugProbe{At: time.Now().UTC(), Via: "receiver", Target: route.ReceiverURL, CorpID: corpID, AgentID: agentID}
	if route.Listener != nil {
		p.Via, p.Target = "listener", route.Listener.ID
	}
	c := &Call{Program: &openzone.Program{ID: programID}, CorpID: corpID, AgentID: agentID, CallType: CallProbe, Drain: true}
	body, _ := marshalCall(c) // a Call always marshals
	res, err := g.doDebug(ctx, c, route, body, &Result{})
	p.MS = traffic.MS(res.Program)
	p.OK = err == nil
	p.Errcode, p.Errmsg = openzone.ErrorCode(err), "ok"
	if err != nil {
		p.Errmsg = openzone.ErrorMessage(err)
	}
	return p
}
