// Package frame is what the debug listener's two ends say to each other:
// the zone's end (package listener) and the CLI's (package forward, behind
// `openzone debug listen PROGRAM --forward-to URL`). They speak JSON text
// messages (Message) over one WebSocket, multiplexed by id, and ping each
// other every PingInterval. The zone sends each sealed request; the CLI
// posts it unchanged to the local program and sends the sealed reply back.
// Nothing is opened or re-sealed on the way. docs/decisions.md ("Debug
// listener") records the choices.
package frame

import "time"

// Protocol settings shared by both sides (docs/decisions.md).
const (
	// PingInterval is how often each side pings the other.
	PingInterval = 5 * time.Second
	// PongTimeout is how long a ping may wait for its pong; a peer that
	// does not answer in time is dead and the connection is closed. A dead
	// peer is thus noticed within PingInterval + PongTimeout (15 s).
	PongTimeout = 10 * time.Second
	// MaxMessageBytes bounds one message: a 16 MiB body in base64 plus
	// headers.
	MaxMessageBytes = 24 << 20
	// HeaderDebugToken carries the debug credential on the handshake.
	HeaderDebugToken = "X-Openzone-Debug-Token"
	// HeaderResume names, on a reconnect, the listener id this CLI had: a
	// CLI may replace its own connection that the zone has not yet seen
	// die, and no one else's.
	HeaderResume = "X-Openzone-Listener-Resume"
	// HeaderForce ("1") takes the program over from a listener that is
	// connected (openzone debug listen --force).
	HeaderForce = "X-Openzone-Listener-Force"
	// ReplacedPrefix starts the close reason of a listener another one took
	// over from: the CLI stops instead of reconnecting.
	ReplacedPrefix = "replaced by listener "
)

// Message types.
const (
	TypeHello    = "hello"    // zone → CLI, once after the handshake
	TypeRequest  = "request"  // zone → CLI: a sealed request to forward
	TypeResponse = "response" // CLI → zone: the program's answer
)

// Request kinds (Message.Kind), for display: the CLI cannot open requests.
const (
	KindCall  = "call"
	KindAsync = "async"
	KindEvent = "event"
	KindProbe = "probe"
)

// Error kinds of a response the CLI could not get from the program.
const (
	ErrKindConnect = "connect" // the program refused the connection (710674)
	ErrKindTimeout = "timeout" // no reply in time (710675)
	ErrKindIO      = "io"      // the connection broke mid-reply (710675)
)

// Message is one frame in either direction.
type Message struct {
	Type string `json:"type"`
	ID   uint64 `json:"id,omitempty"`

	// Request metadata, in clear for the CLI's log lines. The sealed body
	// holds the same and more; the CLI never sees the data.
	Kind      string `json:"kind,omitempty"`
	Label     string `json:"label,omitempty"` // ability id, or event type
	EventID   string `json:"event_id,omitempty"`
	CorpID    string `json:"corpid,omitempty"`
	AgentID   int64  `json:"agentid,omitempty"`
	Held      bool   `json:"held,omitempty"` // held while no listener was connected
	HeldSince int64  `json:"held_since,omitempty"`

	// Header holds the ww-* headers (and Content-Type) of the request or
	// the program's reply; Body the sealed bytes.
	Header map[string]string `json:"header,omitempty"`
	Body   []byte            `json:"body,omitempty"`

	// Response.
	Status    int    `json:"status,omitempty"`
	Error     string `json:"error,omitempty"`
	ErrorKind string `json:"error_kind,omitempty"`

	// Hello.
	ProgramID      string `json:"program_id,omitempty"`
	ListenerID     string `json:"listener_id,omitempty"`
	HeldCount      int    `json:"held_count,omitempty"`
	CallTimeoutMS  int64  `json:"call_timeout_ms,omitempty"`
	PingIntervalMS int64  `json:"ping_interval_ms,omitempty"`
}
