package server

import (
	"context"
	"time"

	"github.com/openzone/openzone/internal/human"
	"github.com/openzone/openzone/internal/tasks"
)

// prune deletes expired access tokens, replay ids, event tokens and
// notify_ids, archived messages past their corp's retention, and traffic
// and program logs older than their retention: at start, then every ten minutes.
func (s *Server) prune(ctx context.Context) {
	t := time.NewTicker(10 * time.Minute)
	defer t.Stop()
	for {
		s.Prune(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Prune runs one pass of the pruner now (the zone runs it every ten
// minutes); tests with an injected clock call it.
func (s *Server) Prune(ctx context.Context) {
	now := s.cfg.Now()
	if err := s.store.Prune(ctx, now); err != nil && ctx.Err() == nil {
		s.log.Warn("prune tokens and replay window", "err", err)
	}
	if corps, err := s.store.CorpList(ctx); err == nil {
		for _, c := range corps {
			days := max(c.RetentionDays, 1)
			if n, err := s.store.MessagePrune(ctx, c.CorpID, now.Add(-time.Duration(days)*24*time.Hour)); err != nil && ctx.Err() == nil {
				s.log.Warn("prune archive", "corpid", c.CorpID, "err", err)
			} else if n > 0 {
				s.log.Info("pruned archived messages past the corp's retention", "corpid", c.CorpID, "deleted", n, "retention_days", days)
			}
		}
	}
	if n, err := s.store.TaskPrune(ctx, now); err != nil && ctx.Err() == nil {
		s.log.Warn("prune tasks", "err", err)
	} else if n > 0 {
		s.log.Info("pruned tasks past their retention", "deleted", n, "retention", human.Duration(tasks.Retention))
	}
	if n, err := s.store.ProgramLogPrune(ctx, now.Add(-s.cfg.LogRetention)); err != nil && ctx.Err() == nil {
		s.log.Warn("prune program logs", "err", err)
	} else if n > 0 {
		s.log.Info("pruned program log lines", "deleted", n, "retention", human.Duration(s.cfg.LogRetention))
	}
	if n, err := s.store.TrafficPrune(ctx, now.Add(-s.cfg.TrafficRetention)); err != nil && ctx.Err() == nil {
		s.log.Warn("prune traffic", "err", err)
	} else if n > 0 {
		s.log.Info("pruned traffic records", "deleted", n, "retention", human.Duration(s.cfg.TrafficRetention))
	}
}
