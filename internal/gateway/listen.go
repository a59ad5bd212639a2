package gateway

import (
	"context"
	"errors"
	"fmt"
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
// fails at once (710674); durable deliveries get ErrListenerAbsent in the
// chain and wait, and wait too while held ones are delivered.
func (g *Gateway) doListener(ctx context.Context, c *Call, route *debugmode.Route, body []byte, res *Result) (*Result, error) {
	var conn *listener.Conn
	if g.listeners != nil {
		conn = g.listeners.Get(c.Program.ID)
	}
	// A listener another node holds is reached through that node.
	remote := conn == nil && g.relay != nil && route.Listener != nil &&
		route.Listener.State == openzone.ListenerConnected && route.Listener.Node != "" && route.Listener.Node != g.node
	if conn == nil && !remote {
		return res, absent(c.Program.ID, route.Listener)
	}
	res.Instance = "listener"
	durable := c.CallType == 2 || c.IsAsync
	gate := durable && !c.Drain // held work goes first
	if !remote && gate && !conn.Ready() {
		return res, notReady(c.Program.ID)
	}
	hd := g.header(c.Program.ID, route.Keys)
	res.RequestID = hd.RequestID
	h := http.Header{}
	hd.Apply(h, false)
	m := &frame.Message{Kind: kind(c), Label: c.Label, EventID: c.EventID, CorpID: c.CorpID, AgentID: c.AgentID, Held: !c.HeldSince.IsZero(),
		Header: map[string]string{"content-type": wire.ContentType}, Body: route.Keys.Seal(wire.PurposeCall, hd, body)}
	if c.Label == "" {
		m.Label = c.AbilityID
	}
	if !c.HeldSince.IsZero() {
		m.HeldSince = c.HeldSince.UnixMilli()
	}
	for k, v := range h {
		m.Header[k] = v[0]
	}
	timeout := g.timeoutOf(c)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	start := time.Now()
	var ans *frame.Message
	var err error
	if remote {
		res.Instance = "listener@" + route.Listener.Node
		ans, err = g.relay(ctx, route.Listener.Node, c.Program.ID, gate, m)
	} else {
		ans, err = conn.RoundTrip(ctx, m)
	}
	res.Program = time.Since(start)
	reason := func() string {
		if conn != nil {
			return conn.Reason()
		}
		return "on node " + route.Listener.Node
	}
	switch {
	case errors.Is(err, frame.ErrNotReady):
		return res, notReady(c.Program.ID)
	case errors.Is(err, frame.ErrClosed): // closed just now: not sent
		return res, openzone.Wrap(openzone.ErrProgramConnect, errors.Join(ErrListenerAbsent, err),
			"the debug listener of program %q was lost (%s): sync calls fail until `openzone debug listen` reconnects; events and async calls wait for it",
			c.Program.ID, reason())
	case errors.Is(err, frame.ErrLost):
		// The program may have acted; a durable delivery goes again (with
		// its stable event id) once a listener is back.
		return res, openzone.Wrap(openzone.ErrProgramTimeout, errors.Join(ErrListenerAbsent, err),
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

func notReady(programID string) error {
	return openzone.Wrap(openzone.ErrProgramConnect, errors.Join(ErrListenerAbsent, frame.ErrNotReady),
		"the debug listener of program %q is delivering held events and async calls first", programID)
}

// RelayFunc delivers m to the debug listener of programID that zone node
// node holds, and returns the listener's answer. gate asks the holding
// node to refuse (frame.ErrNotReady) while its listener delivers held work.
// Errors wrap frame.ErrClosed when m was not sent, frame.ErrLost
// when the listener went away after it was.
type RelayFunc func(ctx context.Context, node, programID string, gate bool, m *frame.Message) (*frame.Message, error)

// Relayed runs m on this node's listener of programID for another node
// (the receiving half of RelayFunc).
func (g *Gateway) Relayed(ctx context.Context, programID string, gate bool, m *frame.Message) (*frame.Message, error) {
	var conn *listener.Conn
	if g.listeners != nil {
		conn = g.listeners.Get(programID)
	}
	if conn == nil {
		return nil, fmt.Errorf("%w: no listener of program %q on this node", frame.ErrClosed, programID)
	}
	if gate && !conn.Ready() {
		return nil, frame.ErrNotReady
	}
	return conn.RoundTrip(ctx, m)
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

// Held is a durable delivery (an event, an async call) waiting for its
// program's debug listener.
type Held struct {
	Key string    // unique among held work: "event:<id>", "task:<jobid>"
	At  time.Time // when it was raised: held work is delivered in this order
	// Deliver makes one delivery attempt, past the listener's gate, and
	// records it; ErrListenerAbsent in its error means the listener went
	// away again.
	Deliver func(ctx context.Context) error
}

// absent is the fail-fast 710674 of a program in listener mode whose
// listener is not connected to this node.
func absent(programID string, l *openzone.DebugListener) error {
	switch {
	case l.State == openzone.ListenerLost:
		return openzone.Wrap(openzone.ErrProgramConnect, ErrListenerAbsent,
			"the debug listener of program %q was lost at %s (%s): sync calls fail until `openzone debug listen` reconnects; events and async calls wait for it",
			programID, l.LostAt.UTC().Format(time.RFC3339), l.Reason)
	case l.Node != "":
		return openzone.Wrap(openzone.ErrProgramConnect, ErrListenerAbsent,
			"the debug listener of program %q is connected to zone node %s, not to this one: calls are not forwarded between nodes yet", programID, l.Node)
	}
	return openzone.Wrap(openzone.ErrProgramConnect, ErrListenerAbsent, "program %q has no debug listener connected", programID)
}

// Probe sends the pre-flight probe (call_type 3) to the debug receiver of
// (corp, app, program) — listener or receiver URL — and says whether it
// answered and opened it. It returns nil when debug mode is off.
func (g *Gateway) Probe(ctx context.Context, programID, corpID string, agentID int64) *openzone.DebugProbe {
	if g.debug == nil {
		return nil
	}
	route, err := g.debug(ctx, corpID, agentID, programID)
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
