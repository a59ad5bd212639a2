package server

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/openzone/openzone/internal/debugmode"
	"github.com/openzone/openzone/internal/gateway"
)

// preflightWaits are the pauses before each probe attempt. The first lets
// the SDK install the debug secret it was just given (its OpenDebugMode
// returns after the zone answered); later ones ride out a program that is
// still starting.
var preflightWaits = []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond,
	800 * time.Millisecond, 1600 * time.Millisecond}

// preflight probes the debug receiver of (corp, app, program) — of every
// session in debug mode when corpID is "" — and records the result on the
// program's debug page.
func (s *Server) preflight(ctx context.Context, programID, corpID string, agentID int64) {
	type target struct {
		corp  string
		agent int64
	}
	var targets []target
	if corpID != "" {
		targets = append(targets, target{corpID, agentID})
	} else {
		page, err := s.debug.Page(ctx, programID)
		if err != nil {
			return
		}
		for _, sv := range page.Sessions {
			if sv.Status == debugmode.StatusOn {
				targets = append(targets, target{sv.CorpID, sv.AgentID})
			}
		}
	}
	for _, t := range targets {
		for i, wait := range preflightWaits {
			select {
			case <-ctx.Done():
				return
			case <-time.After(wait):
			}
			p := s.gateway.Probe(ctx, programID, t.corp, t.agent)
			if p == nil {
				break // debug mode went off meanwhile
			}
			if err := s.store.DebugProbeSet(ctx, programID, p); err != nil && ctx.Err() == nil {
				s.log.Warn("debug mode: record pre-flight probe", "program_id", programID, "err", err)
			}
			if p.OK {
				s.log.Info("debug mode: pre-flight probe answered", "program_id", programID, "corpid", t.corp, "agentid", t.agent, "via", p.Via, "ms", p.MS)
				break
			}
			// One line for the whole round: the retries ride out a program
			// that is still starting, and are not news until they all fail.
			if i == len(preflightWaits)-1 {
				s.log.Warn("debug mode: pre-flight probe failed", "program_id", programID, "corpid", t.corp, "agentid", t.agent,
					"via", p.Via, "attempts", len(preflightWaits), "errcode", p.Errcode, "errmsg", p.Errmsg)
			} else {
				s.log.Debug("debug mode: pre-flight probe failed, trying again", "program_id", programID, "attempt", i+1, "errcode", p.Errcode)
			}
		}
	}
}

// listenerConnected runs when a debug listener connects: the pre-flight
// probe through it, then the work held while it was away.
func (s *Server) listenerConnected(ctx context.Context, programID string) {
	s.preflight(ctx, programID, "", 0)
	n, err := s.deliverHeld(ctx, programID)
	if err != nil && ctx.Err() == nil {
		s.log.Warn("debug listener: held deliveries not all made", "program_id", programID, "delivered", n, "err", err)
		return
	}
	if n > 0 {
		s.log.Info("debug listener: held deliveries made", "program_id", programID, "delivered", n)
	}
}

// held returns the program's held events and async calls, in the order
// they were raised.
func (s *Server) held(ctx context.Context, programID string) ([]gateway.Held, error) {
	evs, err := s.events.Held(ctx, programID)
	if err != nil {
		return nil, err
	}
	tks, err := s.tasks.Held(ctx, programID)
	if err != nil {
		return nil, err
	}
	all := append(evs, tks...)
	slices.SortStableFunc(all, func(a, b gateway.Held) int { return a.At.Compare(b.At) })
	return all, nil
}

func (s *Server) heldCount(ctx context.Context, programID string) (int, error) {
	h, err := s.held(ctx, programID)
	return len(h), err
}

// deliverHeld delivers the program's held work one item at a time, oldest
// first, re-reading until nothing is left (work raised meanwhile waits
// behind the gate, so it is found here), and returns how many deliveries
// succeeded. It stops when the listener is lost again. An item the program
// refuses keeps its own retry schedule; the next one goes on.
func (s *Server) deliverHeld(ctx context.Context, programID string) (int, error) {
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
			if errors.Is(err, gateway.ErrListenerAbsent) {
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
