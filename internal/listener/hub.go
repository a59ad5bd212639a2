// Package listener is the zone's end of the debug listener: the
// connections `openzone debug listen` keeps with this node (Hub), one per
// program, whose state is recorded in the store. The CLI's end is package
// forward; what they say to each other, package frame.
package listener

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"github.com/openzone/openzone"
	"github.com/openzone/openzone/internal/listener/frame"
	"github.com/openzone/openzone/internal/outbound"
	"github.com/openzone/openzone/internal/store"
)

// HubConfig configures a Hub.
type HubConfig struct {
	Store  store.Executor
	Now    func() time.Time
	Logger *slog.Logger
	// Node names this zone node in the stored listener state.
	Node string
	// CallTimeout is told to the CLI, which uses it for its local post.
	CallTimeout time.Duration
	// PingInterval and PongTimeout default to package frame's constants;
	// tests shorten them.
	PingInterval time.Duration
	PongTimeout  time.Duration
	// Routes is told when the hub changed a listener's stored state, so
	// routes cached from it are dropped; nil: nothing caches them.
	Routes interface{ Changed() }
	// Nodes finds the other zone nodes, to relay a delivery to the node
	// holding a program's listener, with AdminToken, which nodes share;
	// nil: this node is alone.
	Nodes      NodeFinder
	AdminToken string
	// Client relays to other nodes; default an outbound client with the
	// default policy (nodes are the zone's own: strict mode does not
	// narrow it). It follows no redirect, so the admin token goes nowhere
	// else.
	Client *http.Client
}

// NodeFinder says where another zone node is reached (cluster.Node).
type NodeFinder interface {
	NodeURL(ctx context.Context, node string) (string, error)
}

// Connect is what a new connection needs from its caller (Service): how
// much work waits for it, said in its hello, and what to do once it is up
// (the pre-flight probe and the delivery of held work); new durable
// deliveries wait until Connected returns (Conn.Ready).
type Connect interface {
	HeldCount(ctx context.Context, programID string) (int, error)
	Connected(ctx context.Context, programID string)
}

func (h *Hub) changed() {
	if h.cfg.Routes != nil {
		h.cfg.Routes.Changed()
	}
}

// Hub keeps the listeners connected to this zone node, one per program.
type Hub struct {
	cfg HubConfig

	mu     sync.Mutex
	conns  map[string]*Conn
	closed bool
	wg     sync.WaitGroup
}

// NewHub returns a Hub.
func NewHub(cfg HubConfig) *Hub {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.PingInterval <= 0 {
		cfg.PingInterval = frame.PingInterval
	}
	if cfg.PongTimeout <= 0 {
		cfg.PongTimeout = frame.PongTimeout
	}
	if cfg.CallTimeout <= 0 {
		cfg.CallTimeout = 30 * time.Second
	}
	if cfg.Client == nil {
		cfg.Client = outbound.New(outbound.Config{})
	}
	return &Hub{cfg: cfg, conns: map[string]*Conn{}}
}

// Get returns the program's listener on this node, or nil.
func (h *Hub) Get(programID string) *Conn {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.conns[programID]
}

// Conn is one connected listener.
type Conn struct {
	hub         *Hub
	ws          *websocket.Conn
	ProgramID   string
	ID          string
	ConnectedAt time.Time

	ctx    context.Context
	cancel context.CancelFunc
	ready  atomic.Bool

	mu      sync.Mutex
	next    uint64
	pending map[uint64]chan *frame.Message
	reason  string // why it closed, once closed
}

// Ready reports whether held work was delivered: until then new durable
// deliveries wait, so none overtakes a held one.
func (c *Conn) Ready() bool { return c.ready.Load() }

// CheckTakeover refuses a second listener for a program while one is
// connected, on this node or another (the stored state says which): two
// `debug listen` for one program would otherwise take it from each other
// forever. A CLI resuming its own connection (resume is the id it had)
// and a forced takeover pass. The refusal is an *openzone.Error (409) that
// names the listener and says what to do.
func (h *Hub) CheckTakeover(ctx context.Context, programID, resume string, force bool) error {
	if force {
		return nil
	}
	dp, err := h.cfg.Store.DebugProgramGet(ctx, programID)
	if openzone.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	l := dp.Listener
	if l.State != openzone.ListenerConnected || l.ID == "" || l.ID == resume {
		return nil
	}
	return openzone.Conflict.Errorf("program %q already has a debug listener: %s on node %s, connected since %s. "+
		"Stop that one, or take over with --force (a listener that vanished without closing is noticed within %s)",
		programID, l.ID, l.Node, l.ConnectedAt.UTC().Format(time.RFC3339), h.cfg.PingInterval+h.cfg.PongTimeout)
}

// Serve upgrades an authenticated request to the program's listener and
// runs it until either side closes it; on (nil: nothing waits) says what
// the connection needs. Call CheckTakeover first: a listener that gets
// here replaces the program's previous one (its own earlier connection, or
// one it was forced to take over), which is told who replaced it.
func (h *Hub) Serve(w http.ResponseWriter, r *http.Request, programID string, on Connect) {
	ws, err := websocket.Accept(w, r, nil)
	if err != nil {
		h.cfg.Logger.Warn("debug listener: handshake failed", "program_id", programID, "err", err)
		return
	}
	ws.SetReadLimit(frame.MaxMessageBytes)
	ctx, cancel := context.WithCancel(context.Background())
	c := &Conn{hub: h, ws: ws, ProgramID: programID, ID: "lst_" + randomID(), ConnectedAt: h.cfg.Now(),
		ctx: ctx, cancel: cancel, pending: map[uint64]chan *frame.Message{}}

	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		ws.Close(websocket.StatusGoingAway, "zone shutting down")
		return
	}
	h.wg.Add(1)
	h.mu.Unlock()
	defer h.wg.Done()

	// The hello goes first: until it is sent the connection is neither in
	// this hub nor in the stored state, so no request (from this node or
	// relayed from another) can overtake it.
	held := 0
	if on != nil {
		sctx, scancel := context.WithTimeout(context.Background(), 10*time.Second)
		held, err = on.HeldCount(sctx, programID)
		scancel()
		if err != nil {
			h.cfg.Logger.Error("debug listener: count held work", "program_id", programID, "err", err)
			ws.Close(websocket.StatusInternalError, "the zone could not count the held work")
			cancel()
			return
		}
	}
	if err := c.send(&frame.Message{Type: frame.TypeHello, ProgramID: programID, ListenerID: c.ID, HeldCount: held,
		CallTimeoutMS: h.cfg.CallTimeout.Milliseconds(), PingIntervalMS: h.cfg.PingInterval.Milliseconds()}); err != nil {
		ws.Close(websocket.StatusInternalError, truncate("hello: "+err.Error(), 120))
		cancel()
		return
	}

	h.mu.Lock()
	old := h.conns[programID]
	h.conns[programID] = c
	h.mu.Unlock()
	if old != nil {
		old.close(frame.ReplacedPrefix+c.ID+" on node "+h.cfg.Node, websocket.StatusPolicyViolation)
	}
	sctx, scancel := context.WithTimeout(context.Background(), 10*time.Second)
	err = h.cfg.Store.DebugListenerSet(sctx, programID, &openzone.DebugListener{State: openzone.ListenerConnected,
		ID: c.ID, Node: h.cfg.Node, ConnectedAt: c.ConnectedAt})
	scancel()
	h.changed()
	if err != nil {
		h.cfg.Logger.Error("debug listener: record state", "program_id", programID, "err", err)
		c.close("the zone could not record the listener", websocket.StatusInternalError)
		return
	}
	h.cfg.Logger.Info("debug listener connected", "program_id", programID, "listener_id", c.ID, "held_count", held, "remote", r.RemoteAddr)
	go c.pingLoop()
	h.wg.Add(1) // Close waits for it: it uses the store
	go func() {
		defer h.wg.Done()
		if on != nil {
			on.Connected(ctx, programID)
		}
		c.ready.Store(true)
	}()
	c.readLoop()
}

func (c *Conn) send(m *frame.Message) error {
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	// A write whose ctx ends closes the connection (coder/websocket), so
	// writes get their own deadline, not the caller's.
	ctx, cancel := context.WithTimeout(c.ctx, c.hub.cfg.PongTimeout)
	defer cancel()
	return c.ws.Write(ctx, websocket.MessageText, b)
}

func (c *Conn) readLoop() {
	for {
		_, data, err := c.ws.Read(c.ctx)
		if err != nil {
			reason := "connection closed: " + err.Error()
			switch websocket.CloseStatus(err) {
			case websocket.StatusNormalClosure:
				reason = "closed by the CLI"
			case websocket.StatusGoingAway:
				reason = "the CLI went away"
			}
			c.close(reason, websocket.StatusNormalClosure)
			return
		}
		var m frame.Message
		if err := json.Unmarshal(data, &m); err != nil || m.Type != frame.TypeResponse {
			c.close("protocol error: the CLI sent something other than a response", websocket.StatusProtocolError)
			return
		}
		c.mu.Lock()
		ch := c.pending[m.ID]
		delete(c.pending, m.ID)
		c.mu.Unlock()
		if ch != nil {
			ch <- &m // buffered; a caller that gave up no longer reads it
		}
	}
}

func (c *Conn) pingLoop() {
	t := time.NewTicker(c.hub.cfg.PingInterval)
	defer t.Stop()
	for {
		select {
		case <-c.ctx.Done():
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(c.ctx, c.hub.cfg.PongTimeout)
		err := c.ws.Ping(ctx)
		cancel()
		if err != nil && c.ctx.Err() == nil {
			c.close(fmt.Sprintf("dead peer: no pong within %s", c.hub.cfg.PongTimeout), websocket.StatusGoingAway)
			return
		}
		// A listener forced in on another node takes the program over
		// through the stored state: this one learns it here.
		ctx, cancel = context.WithTimeout(c.ctx, c.hub.cfg.PongTimeout)
		dp, err := c.hub.cfg.Store.DebugProgramGet(ctx, c.ProgramID)
		cancel()
		if err == nil && dp.Listener.State == openzone.ListenerConnected && dp.Listener.ID != c.ID {
			c.close(frame.ReplacedPrefix+dp.Listener.ID+" on node "+dp.Listener.Node, websocket.StatusPolicyViolation)
			return
		}
	}
}

// close ends the connection once, fails the requests waiting on it and
// records the listener as lost (unless a newer one replaced it).
func (c *Conn) close(reason string, code websocket.StatusCode) {
	c.mu.Lock()
	if c.reason != "" {
		c.mu.Unlock()
		return
	}
	c.reason = reason
	pending := c.pending
	c.pending = nil
	c.mu.Unlock()
	for _, ch := range pending {
		close(ch)
	}
	// Forget and record it first: the close handshake below may wait
	// seconds for a dead peer, and calls meanwhile must fail fast.
	h := c.hub
	h.mu.Lock()
	if h.conns[c.ProgramID] == c {
		delete(h.conns, c.ProgramID)
	}
	h.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := h.cfg.Store.DebugListenerLose(ctx, store.DebugListenerLoseParams{ProgramID: c.ProgramID, ListenerID: c.ID, At: h.cfg.Now(), Reason: reason}); err != nil {
		h.cfg.Logger.Error("debug listener: record loss", "program_id", c.ProgramID, "err", err)
	}
	h.changed()
	h.cfg.Logger.Info("debug listener lost", "program_id", c.ProgramID, "listener_id", c.ID, "reason", reason)
	c.ws.Close(code, truncate(reason, 120))
	c.cancel()
	c.ws.CloseNow()
}

// Reason returns why the connection closed ("" while open).
func (c *Conn) Reason() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.reason
}

// RoundTrip sends req (its ID is set here) and waits for the program's
// answer, until ctx ends. A connection that ends first is ErrLost.
func (c *Conn) RoundTrip(ctx context.Context, req *frame.Message) (*frame.Message, error) {
	ch := make(chan *frame.Message, 1)
	c.mu.Lock()
	if c.pending == nil {
		reason := c.reason
		c.mu.Unlock()
		return nil, fmt.Errorf("%w: %s", ErrClosed, reason)
	}
	c.next++
	req.Type, req.ID = frame.TypeRequest, c.next
	c.pending[req.ID] = ch
	c.mu.Unlock()
	forget := func() {
		c.mu.Lock()
		if c.pending != nil {
			delete(c.pending, req.ID)
		}
		c.mu.Unlock()
	}
	if err := c.send(req); err != nil {
		forget()
		return nil, fmt.Errorf("%w: sending the request: %v", ErrLost, err)
	}
	select {
	case m, ok := <-ch:
		if !ok {
			return nil, fmt.Errorf("%w: %s", ErrLost, c.Reason())
		}
		return m, nil
	case <-ctx.Done():
		forget()
		return nil, ctx.Err()
	}
}

// Close closes every listener of this node (the zone is stopping) and
// waits for them to be recorded as lost.
func (h *Hub) Close() {
	h.mu.Lock()
	h.closed = true
	conns := make([]*Conn, 0, len(h.conns))
	for _, c := range h.conns {
		conns = append(conns, c)
	}
	h.mu.Unlock()
	for _, c := range conns {
		c.close("the zone is shutting down", websocket.StatusGoingAway)
	}
	h.wg.Wait()
}

func randomID() string {
	var b [12]byte
	rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

// Trip is a delivery through a program's listener.
type Trip struct {
	ProgramID string
	// Listener is the program's stored listener state: it names the node
	// that holds a listener this node does not.
	Listener *openzone.DebugListener
	// Gate marks durable work (events, async calls): it waits while the
	// listener delivers held work (ErrNotReady).
	Gate    bool
	Message *frame.Message
}

// Reach is how a trip reached its listener, or failed to.
type Reach struct {
	Via    string // "listener", or "listener@<node>" when relayed
	Reason string // why the listener's connection closed, when it had
}

// RoundTrip delivers a trip's message to the program's listener, on this
// node or relayed to the node holding it, and returns the answer. With no
// listener to reach it is ErrAbsent; a connection that had closed,
// ErrClosed; one that ended before the answer, ErrLost.
func (h *Hub) RoundTrip(ctx context.Context, t Trip) (*frame.Message, Reach, error) {
	conn := h.Get(t.ProgramID)
	l := t.Listener
	remote := conn == nil && h.cfg.Nodes != nil && l != nil &&
		l.State == openzone.ListenerConnected && l.Node != "" && l.Node != h.cfg.Node
	if conn == nil && !remote {
		return nil, Reach{}, ErrAbsent
	}
	if remote {
		reach := Reach{Via: "listener@" + l.Node, Reason: "on node " + l.Node}
		ans, err := h.relay(ctx, l.Node, t.ProgramID, t.Gate, t.Message)
		return ans, reach, err
	}
	reach := Reach{Via: "listener"}
	if t.Gate && !conn.Ready() {
		return nil, reach, ErrNotReady
	}
	ans, err := conn.RoundTrip(ctx, t.Message)
	reach.Reason = conn.Reason()
	return ans, reach, err
}
