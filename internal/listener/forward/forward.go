// Package forward is the CLI's end of the debug listener (`openzone debug
// listen PROGRAM --forward-to URL`): it dials the zone over WebSocket and
// stands in for the program's receiver URL (接收事件服务器) while it is
// connected, posting each sealed request to the local program unchanged.
package forward

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/openzone/openzone/internal/listener/frame"
)

// Reconnect backoff of the CLI: the first retry after ReconnectMin, each
// next one twice as late up to ReconnectMax, each ±20 % at random; it
// starts over once a connection is up again.
const (
	ReconnectMin = 500 * time.Millisecond
	ReconnectMax = 10 * time.Second
)

// maxReplyBytes bounds a program's reply the CLI carries back (the zone's
// own bound, gateway.MaxReplyBytes, plus sealing overhead).
const maxReplyBytes = 22 << 20 // a 16 MB reply as base64 text, and room to spare

// Config configures a Forwarder.
type Config struct {
	ZoneURL    string // the zone's base URL
	ProgramID  string
	AdminToken string
	DebugToken string
	ForwardTo  string // the local program's URL, used verbatim
	// OnEvent is told everything worth a line: required.
	OnEvent func(Event)
	// PingInterval and PongTimeout default to package frame's constants.
	PingInterval time.Duration
	PongTimeout  time.Duration
	// Force takes the program over from a listener that is connected
	// (otherwise the zone refuses this one while that one lives).
	Force bool
}

// StableAfter is how long a connection must have lasted for the reconnect
// backoff to start again from ReconnectMin: one that keeps dropping at once
// waits longer and longer.
const StableAfter = 10 * time.Second

// ReplacedError ends Run: another listener took the program over.
type ReplacedError struct{ Reason string }

func (e *ReplacedError) Error() string {
	return "this listener was " + e.Reason + ": stopping (the program's calls now go there; run with --force to take it back)"
}

// Event is something the CLI prints.
type Event struct {
	Time time.Time `json:"time"`
	// Type is "connected", "lost", "request" or "retry".
	Type string `json:"type"`

	ListenerID string `json:"listener_id,omitempty"`
	HeldCount  int    `json:"held_count,omitempty"`

	Kind      string  `json:"kind,omitempty"`
	Label     string  `json:"ability,omitempty"`
	EventID   string  `json:"event_id,omitempty"`
	CorpID    string  `json:"corpid,omitempty"`
	AgentID   int64   `json:"agentid,omitempty"`
	Status    int     `json:"status,omitempty"`
	Exception string  `json:"exception,omitempty"`
	LatencyMS float64 `json:"latency_ms,omitempty"`
	Held      bool    `json:"held,omitempty"`
	HeldFor   string  `json:"held_for,omitempty"`

	Error string        `json:"error,omitempty"`
	Wait  time.Duration `json:"-"`
	// WaitMS is Wait for --json: how long until the next attempt.
	WaitMS int64 `json:"wait_ms,omitempty"`
}

// HandshakeError is the zone's refusal of the handshake: bad admin token,
// bad or expired debug credential, unknown program. Retrying cannot help.
type HandshakeError struct {
	Status  int
	Errcode int
	Errmsg  string
}

func (e *HandshakeError) Error() string {
	return fmt.Sprintf("the zone refused the listener: errcode %d: %s", e.Errcode, e.Errmsg)
}

// Forwarder is the CLI side of a listener.
type Forwarder struct {
	cfg    Config
	client *http.Client
	wsURL  string
}

// New checks cfg and returns a Forwarder; it does no I/O.
func New(cfg Config) (*Forwarder, error) {
	zu, err := url.Parse(strings.TrimRight(cfg.ZoneURL, "/"))
	if err != nil || (zu.Scheme != "http" && zu.Scheme != "https") || zu.Host == "" {
		return nil, fmt.Errorf("--zone %q is not an http(s) URL", cfg.ZoneURL)
	}
	fu, err := url.Parse(cfg.ForwardTo)
	if err != nil || (fu.Scheme != "http" && fu.Scheme != "https") || fu.Host == "" {
		return nil, fmt.Errorf("--forward-to %q is not an absolute http(s) URL, like http://127.0.0.1:8080/", cfg.ForwardTo)
	}
	if cfg.PingInterval <= 0 {
		cfg.PingInterval = frame.PingInterval
	}
	if cfg.PongTimeout <= 0 {
		cfg.PongTimeout = frame.PongTimeout
	}
	zu.Scheme = map[string]string{"http": "ws", "https": "wss"}[zu.Scheme]
	tr := &http.Transport{Proxy: nil, DisableCompression: true, MaxIdleConnsPerHost: 64,
		DialContext: (&net.Dialer{Timeout: 5 * time.Second}).DialContext}
	return &Forwarder{cfg: cfg, client: &http.Client{Transport: tr},
		wsURL: zu.String() + "/admin/v1/programs/" + url.PathEscape(cfg.ProgramID) + "/debug/listen"}, nil
}

// Run connects and forwards until ctx ends (then it returns nil). It
// returns an error at once when the first connection fails or the zone
// refuses the handshake; once connected it reconnects with backoff.
func (f *Forwarder) Run(ctx context.Context) error {
	wait := time.Duration(0)
	connectedOnce := false
	resume := "" // the listener id this CLI had, sent on a reconnect
	for {
		ws, hello, err := f.dial(ctx, resume, f.cfg.Force && !connectedOnce)
		if ctx.Err() != nil {
			return nil
		}
		var he *HandshakeError
		switch {
		case errors.As(err, &he):
			return err
		case err != nil && !connectedOnce:
			return fmt.Errorf("cannot reach the zone at %s: %v", f.cfg.ZoneURL, err)
		case err != nil:
			wait = nextWait(wait)
			f.cfg.OnEvent(Event{Time: time.Now(), Type: "retry", Error: err.Error(), Wait: wait, WaitMS: wait.Milliseconds()})
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(wait):
			}
			continue
		}
		connectedOnce, resume = true, hello.ListenerID
		f.cfg.OnEvent(Event{Time: time.Now(), Type: "connected", ListenerID: hello.ListenerID, HeldCount: hello.HeldCount})
		since := time.Now()
		err = f.serve(ctx, ws, hello)
		if ctx.Err() != nil {
			return nil
		}
		f.cfg.OnEvent(Event{Time: time.Now(), Type: "lost", Error: err.Error()})
		var re *ReplacedError
		if errors.As(err, &re) {
			return err
		}
		if time.Since(since) >= StableAfter {
			wait = 0
		}
		wait = nextWait(wait)
		f.cfg.OnEvent(Event{Time: time.Now(), Type: "retry", Wait: wait, WaitMS: wait.Milliseconds()})
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
	}
}

func nextWait(prev time.Duration) time.Duration {
	d := ReconnectMin
	if prev > 0 {
		d = min(2*prev, ReconnectMax)
	}
	return time.Duration(float64(d) * (0.8 + 0.4*rand.Float64()))
}

func (f *Forwarder) dial(ctx context.Context, resume string, force bool) (*websocket.Conn, *frame.Message, error) {
	dctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	h := http.Header{}
	h.Set("Authorization", "Bearer "+f.cfg.AdminToken)
	h.Set(frame.HeaderDebugToken, f.cfg.DebugToken)
	if resume != "" {
		h.Set(frame.HeaderResume, resume)
	}
	if force {
		h.Set(frame.HeaderForce, "1")
	}
	ws, resp, err := websocket.Dial(dctx, f.wsURL, &websocket.DialOptions{HTTPHeader: h})
	if err != nil {
		if resp != nil && resp.StatusCode != http.StatusSwitchingProtocols {
			he := &HandshakeError{Status: resp.StatusCode, Errmsg: fmt.Sprintf("HTTP %d", resp.StatusCode)}
			if resp.Body != nil {
				var body struct {
					Errcode int    `json:"errcode"`
					Errmsg  string `json:"errmsg"`
				}
				b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10)) // an errcode and errmsg
				if json.Unmarshal(b, &body) == nil && body.Errmsg != "" {
					he.Errcode, he.Errmsg = body.Errcode, body.Errmsg
				}
			}
			// A zone that is starting or behind a proxy may answer 5xx:
			// that is worth a retry, not an exit.
			if resp.StatusCode < 500 {
				return nil, nil, he
			}
			return nil, nil, errors.New(he.Error())
		}
		return nil, nil, err
	}
	ws.SetReadLimit(frame.MaxMessageBytes)
	_, data, err := ws.Read(dctx)
	var hello frame.Message
	if err == nil {
		err = json.Unmarshal(data, &hello)
	}
	if err == nil && hello.Type != frame.TypeHello {
		err = fmt.Errorf("the zone sent %q before hello", hello.Type)
	}
	if err != nil {
		ws.CloseNow()
		return nil, nil, fmt.Errorf("handshake: %w", err)
	}
	return ws, &hello, nil
}

// serve forwards requests until the connection ends, and returns why.
func (f *Forwarder) serve(ctx context.Context, ws *websocket.Conn, hello *frame.Message) error {
	var wg sync.WaitGroup
	defer wg.Wait()
	// Reads use their own context: a cancelled read would drop the
	// connection without a close handshake; Ctrl-C closes it cleanly.
	cctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-ctx.Done():
			ws.Close(websocket.StatusNormalClosure, "listener stopped by the developer")
			cancel()
		case <-cctx.Done():
		}
	}()
	var deadPeer error
	var mu sync.Mutex
	go func() {
		t := time.NewTicker(f.cfg.PingInterval)
		defer t.Stop()
		for {
			select {
			case <-cctx.Done():
				return
			case <-t.C:
			}
			pctx, pcancel := context.WithTimeout(cctx, f.cfg.PongTimeout)
			err := ws.Ping(pctx)
			pcancel()
			if err != nil && cctx.Err() == nil {
				mu.Lock()
				deadPeer = fmt.Errorf("dead peer: the zone did not answer a ping within %s", f.cfg.PongTimeout)
				mu.Unlock()
				ws.CloseNow()
				return
			}
		}
	}()
	timeout := time.Duration(hello.CallTimeoutMS) * time.Millisecond
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	for {
		_, data, err := ws.Read(cctx)
		if err != nil {
			mu.Lock()
			dp := deadPeer
			mu.Unlock()
			if dp != nil {
				return dp
			}
			if s := websocket.CloseStatus(err); s != -1 {
				var ce websocket.CloseError
				if errors.As(err, &ce) && strings.HasPrefix(ce.Reason, frame.ReplacedPrefix) {
					return &ReplacedError{Reason: ce.Reason}
				}
				if errors.As(err, &ce) && ce.Reason != "" {
					return fmt.Errorf("the zone closed the listener: %s", ce.Reason)
				}
			}
			return err
		}
		var m frame.Message
		if err := json.Unmarshal(data, &m); err != nil || m.Type != frame.TypeRequest {
			continue // a newer zone's message this CLI does not know
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			f.forward(cctx, ws, &m, timeout)
		}()
	}
}

// forward posts one request to the local program and sends its answer back.
func (f *Forwarder) forward(ctx context.Context, ws *websocket.Conn, m *frame.Message, timeout time.Duration) {
	start := time.Now()
	resp := &frame.Message{Type: frame.TypeResponse, ID: m.ID}
	rctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodPost, f.cfg.ForwardTo, bytes.NewReader(m.Body))
	if err == nil {
		for k, v := range m.Header {
			req.Header[k] = []string{v} // as sent: WeCom SDKs want lower-case ww-* names
		}
		var r *http.Response
		r, err = f.client.Do(req)
		if err == nil {
			resp.Status = r.StatusCode
			resp.Header = map[string]string{}
			for k, v := range r.Header {
				lk := strings.ToLower(k)
				if strings.HasPrefix(lk, "ww-") || lk == "content-type" {
					resp.Header[lk] = v[0]
				}
			}
			resp.Body, err = io.ReadAll(io.LimitReader(r.Body, maxReplyBytes))
			r.Body.Close()
		}
	}
	if err != nil {
		resp.Status, resp.Header, resp.Body = 0, nil, nil
		resp.Error = err.Error()
		var op *net.OpError
		switch {
		case errors.As(err, &op) && op.Op == "dial":
			resp.ErrorKind = frame.ErrKindConnect
		case rctx.Err() != nil:
			resp.ErrorKind = frame.ErrKindTimeout
		default:
			resp.ErrorKind = frame.ErrKindIO
		}
	}
	ev := Event{Time: start, Type: "request", Kind: m.Kind, Label: m.Label, EventID: m.EventID, CorpID: m.CorpID, AgentID: m.AgentID,
		Status: resp.Status, Exception: resp.Header["ww-exception"], Error: resp.Error, Held: m.Held,
		LatencyMS: float64(time.Since(start).Microseconds()) / 1000}
	if m.Held && m.HeldSince > 0 {
		ev.HeldFor = time.Since(time.UnixMilli(m.HeldSince)).Round(time.Second).String()
	}
	b, _ := json.Marshal(resp)
	wctx, wcancel := context.WithTimeout(ctx, f.cfg.PongTimeout)
	defer wcancel()
	if err := ws.Write(wctx, websocket.MessageText, b); err != nil && ev.Error == "" {
		ev.Error = "answer not sent back: " + err.Error()
	}
	f.cfg.OnEvent(ev)
}
