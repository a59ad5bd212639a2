package listener

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/openzone/openzone"
)

// Service is the debug listener end to end on this node: it accepts
// listeners (through the Hub), probes a program's debug receiver when
// debug mode opens or a listener connects, and then delivers the work held
// while no listener was there, oldest first, before new durable work
// passes.
type Service struct {
	cfg Config

	ctx  context.Context // ends with Close: probes stop
	stop context.CancelFunc
	wg   sync.WaitGroup
}

// Config configures a Service.
type Config struct {
	Hub *Hub
	// Prober sends the pre-flight probe (gateway).
	Prober Prober
	// Sessions lists the sessions of a program in debug mode (debugmode).
	Sessions Sessions
	// Held are the kinds of durable work a listener's absence holds
	// (events, async calls).
	Held   []HeldSource
	Store  ProbeStore
	Logger *slog.Logger
}

// Prober sends the pre-flight probe (call_type 3) to the debug receiver of
// (corp, app, program), and says how it went; nil when debug mode is off.
type Prober interface {
	Probe(ctx context.Context, programID, corpID string, agentID int64) *openzone.DebugProbe
}

// Sessions lists a program's sessions in debug mode.
type Sessions interface {
	On(ctx context.Context, programID string) ([]*openzone.DebugSession, error)
}

// ProbeStore keeps a program's last probe.
type ProbeStore interface {
	DebugProbeSet(ctx context.Context, programID string, p *openzone.DebugProbe) error
}

// HeldSource lists a program's durable work waiting for its listener.
type HeldSource interface {
	Held(ctx context.Context, programID string) ([]Held, error)
}

// Held is a durable delivery (an event, an async call) waiting for its
// program's debug listener.
type Held struct {
	Key string    // unique among held work: "event:<id>", "task:<jobid>"
	At  time.Time // when it was raised: held work is delivered in this order
	// Deliver makes one delivery attempt, past the listener's gate, and
	// records it; ErrAbsent in its error means the listener went away
	// again.
	Deliver func(ctx context.Context) error
}

// NewService returns a Service; Close stops its probes.
func NewService(cfg Config) *Service {
	ctx, stop := context.WithCancel(context.Background())
	return &Service{cfg: cfg, ctx: ctx, stop: stop}
}

// Close stops the probes under way and waits for them.
func (s *Service) Close() {
	s.stop()
	s.wg.Wait()
}

// CheckTakeover refuses a second listener for a program while one is
// connected (Hub.CheckTakeover).
func (s *Service) CheckTakeover(ctx context.Context, programID, resume string, force bool) error {
	return s.cfg.Hub.CheckTakeover(ctx, programID, resume, force)
}

// Serve upgrades an authenticated request to the program's listener and
// runs it until either side closes it.
func (s *Service) Serve(w http.ResponseWriter, r *http.Request, programID string) {
	s.cfg.Hub.Serve(w, r, programID, s)
}

// Opened probes in the background the debug receiver of (corp, app,
// program) whose debug mode just turned on, or, with corpID "", of every
// session of the program in debug mode (its receiver changed).
func (s *Service) Opened(programID, corpID string, agentID int64) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.preflight(s.ctx, programID, corpID, agentID)
	}()
}

// HeldCount counts the program's held work (a new listener's hello says it).
func (s *Service) HeldCount(ctx context.Context, programID string) (int, error) {
	h, err := s.held(ctx, programID)
	return len(h), err
}

// Connected runs once a listener connected: the pre-flight probe through
// it, then the work held while it was away.
func (s *Service) Connected(ctx context.Context, programID string) {
	s.preflight(ctx, programID, "", 0)
	n, err := s.deliverHeld(ctx, programID)
	if err != nil && ctx.Err() == nil {
		s.cfg.Logger.Warn("debug listener: held deliveries not all made", "program_id", programID, "delivered", n, "err", err)
		return
	}
	if n > 0 {
		s.cfg.Logger.Info("debug listener: held deliveries made", "program_id", programID, "delivered", n)
	}
}

// preflightWaits are the pauses before each probe attempt. The first lets
// the SDK install the debug secret it was just given (its OpenDebugMode
// returns after the zone answered); later ones ride out a program that is
// still starting.
var preflightWaits = []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond,
	800 * time.Millisecond, 1600 * time.Millisecond}

// preflight probes the debug receiver of (corp, app, program) — of every
// session in debug mode when corpID is "" — and records the result on the
// program's debug page.
func (s *Service) preflight(ctx context.Context, programID, corpID string, agentID int64) {
	type target struct {
		corp  string
		agent int64
	}
	var targets []target
	if corpID != "" {
		targets = append(targets, target{corpID, agentID})
	} else {
		on, err := s.cfg.Sessions.On(ctx, programID)
		if err != nil {
			return
		}
		for _, sess := range on {
			targets = append(targets, target{sess.CorpID, sess.AgentID})
		}
	}
	for _, t := range targets {
		for i, wait := range preflightWaits {
			select {
			case <-ctx.Done():
				return
			case <-time.After(wait):
			}
			p := s.cfg.Prober.Probe(ctx, programID, t.corp, t.agent)
			if p == nil {
				break // debug mode went off meanwhile
			}
			if err := s.cfg.Store.DebugProbeSet(ctx, programID, p); err != nil && ctx.Err() == nil {
				s.cfg.Logger.Warn("debug mode: record pre-flight probe", "program_id", programID, "err", err)
			}
			if p.OK {
				s.cfg.Logger.Info("debug mode: pre-flight probe answered", "program_id", programID, "corpid", t.corp, "agentid", t.agent, "via", p.Via, "ms", p.MS)
				break
			}
			// One line for the whole round: the retries ride out a program
			// that is still starting, and are not news until they all fail.
			if i == len(preflightWaits)-1 {
				s.cfg.Logger.Warn("debug mode: pre-flight probe failed", "program_id", programID, "corpid", t.corp, "agentid", t.agent,
					"via", p.Via, "attempts", len(preflightWaits), "errcode", p.Errcode, "errmsg", p.Errmsg)
			} else {
				s.cfg.Logger.Debug("debug mode: pre-flight probe failed, trying again", "program_id", programID, "attempt", i+1, "errcode", p.Errcode)
			}
		}
	}
}

// held returns the program's held work, in the order it was raised.
func (s *Service) held(ctx context.Context, programID string) ([]Held, error) {
	var all []Held
	for _, src := range s.cfg.Held {
		h, err := src.Held(ctx, programID)
		if err != nil {
			return nil, err
		}
		all = append(all, h...)
	}
	slices.SortStableFunc(all, func(a, b Held) int { return a.At.Compare(b.At) })
	return all, nil
}

// deliverHeld delivers the program's held work one item at a time, oldest
// first, re-reading until nothing is left (work raised meanwhile waits
// behind the gate, so it is found here), and returns how many deliveries
// succeeded. It stops when the listener is lost again. An item the program
// refuses keeps its own retry schedule; the next one goes on.
func (s *Service) deliverHeld(ctx context.Context, programID string) (int, error) {
	tried := map[string]bool{}
	n := 0
	for {
		items, err := s.held(ctx, programID)
		if err != nil {
			return n, err
		}
		progress := false
		for _, h := range items {
			if tried[h.Key] {
				continue
			}
			if ctx.Err() != nil {
				return n, ctx.Err()
			}
			tried[h.Key], progress = true, true
			err := h.Deliver(ctx)
			if errors.Is(err, ErrAbsent) {
				return n, err
			}
			if err == nil {
				n++
			}
		}
		if !progress {
			return n, nil
		}
	}
}
