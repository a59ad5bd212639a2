package server

import (
	"context"
	"time"

	"github.com/openzone/openzone/internal/debugmode"
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
		for _, wait := range preflightWaits {
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
			s.log.Warn("debug mode: pre-flight probe failed", "program_id", programID, "corpid", t.corp, "agentid", t.agent, "via", p.Via, "errcode", p.Errcode, "errmsg", p.Errmsg)
		}
	}
}

// listenerConnected runs when a debug listener connects: the pre-flight
// probe through it, then the events held while it was away, in order.
func (s *Server) listenerConnected(ctx context.Context, programID string) {
	s.preflight(ctx, programID, "", 0)
	n, err := s.events.DeliverHeld(ctx, programID)
	if err != nil && ctx.Err() == nil {
		s.log.Warn("debug listener: held events not all delivered", "program_id", programID, "delivered", n, "err", err)
		return
	}
	if n > 0 {
		s.log.Info("debug listener: held events delivered", "program_id", programID, "delivered", n)
	}
}
