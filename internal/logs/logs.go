// Package logs keeps program logs as WeCom collects them (日志): the lines
// programs send through their SDK's logging calls (spec_log_*,
// WWSPEC_LOG_*, SpecUtil.WWSpecLog*, zonesdk's Logf), in sealed batches
// (docs/protocol.md §16) — never scraped from standard output, which
// misses programs in debug mode and can be forged. Each program has a log
// level (set_log_level: lines above it are not kept) and a volume cap per
// hour (lines over it are dropped and counted); providers search the lines
// by time, level and req_id (日志查询), and a call in the traffic inspector
// links to its lines by its request id.
package logs

import (
	"context"
	"log/slog"
	"time"

	"github.com/openzone/openzone"
	"github.com/openzone/openzone/internal/store"
	"github.com/openzone/openzone/internal/wire"
)

// DefaultHourlyBytes is WeCom's cap: 1 GB of lines per program per hour.
const DefaultHourlyBytes = 1 << 30

// Config configures the service.
type Config struct {
	Store store.Store
	// HourlyBytes caps the bytes of lines kept per program per hour;
	// default DefaultHourlyBytes.
	HourlyBytes int64
	Now         func() time.Time
	Logger      *slog.Logger
}

// Service keeps and searches program logs.
type Service struct{ cfg Config }

// New returns the service.
func New(cfg Config) *Service {
	if cfg.HourlyBytes <= 0 {
		cfg.HourlyBytes = DefaultHourlyBytes
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Service{cfg: cfg}
}

// Batch is a log batch a program sent.
type Batch struct {
	ProgramID string
	// Debug says the batch was sealed with a debug secret: the program runs
	// in debug mode on a developer's machine.
	Debug bool
	wire.LogBatch
}

// Ingest keeps the lines of a batch that are lines of the format, within
// the program's log level and within its hour's cap, and counts the rest.
func (s *Service) Ingest(ctx context.Context, b *Batch) (*wire.LogAnswer, error) {
	if len(b.Lines) > wire.MaxLogBatchLines {
		return nil, openzone.Errorf(openzone.ErrInvalidParam, "a log batch holds at most %d lines, got %d", wire.MaxLogBatchLines, len(b.Lines))
	}
	if b.UTCOffset < -18*3600 || b.UTCOffset > 18*3600 {
		return nil, openzone.Errorf(openzone.ErrInvalidParam, "utc_offset %d is not an offset from UTC in seconds (±18 h)", b.UTCOffset)
	}
	level, err := s.cfg.Store.ProgramLogLevel(ctx, b.ProgramID)
	if err != nil {
		return nil, err
	}
	now := s.cfg.Now()
	ans := &wire.LogAnswer{Errmsg: "ok", LogLevel: level}
	p := store.ProgramLogInsertParams{ProgramID: b.ProgramID, Hour: now.Truncate(time.Hour), Cap: s.cfg.HourlyBytes,
		Dropped: int64(max(b.Dropped, 0))}
	instance := b.Instance
	if b.Debug {
		instance = "" // a developer's machine is no instance of the zone's
	}
	for _, text := range b.Lines {
		l, err := wire.ParseLogLine(text, b.UTCOffset)
		if err != nil {
			ans.Rejected++
			continue
		}
		if l.Level > level {
			ans.Filtered++
			continue
		}
		p.Lines = append(p.Lines, &openzone.ProgramLog{ProgramID: b.ProgramID, Time: l.Time, Level: l.Level, ReqID: l.ReqID,
			PID: l.PID, TID: l.TID, File: l.File, Line: l.Line, Text: l.Text, Instance: instance, Debug: b.Debug, Received: now})
		p.Sizes = append(p.Sizes, int64(len(text)))
	}
	p.Filtered, p.Rejected = int64(ans.Filtered), int64(ans.Rejected)
	kept, err := s.cfg.Store.ProgramLogInsert(ctx, p)
	if err != nil {
		return nil, err
	}
	ans.Accepted, ans.Dropped = kept, len(p.Lines)-kept
	if ans.Dropped > 0 && s.cfg.Logger != nil {
		s.cfg.Logger.Warn("program logs over the hourly cap: lines dropped", "program_id", b.ProgramID,
			"dropped", ans.Dropped, "cap_bytes", s.cfg.HourlyBytes)
	}
	return ans, nil
}

// Level returns a program's log level (get_log_level).
func (s *Service) Level(ctx context.Context, programID string) (int, error) {
	return s.cfg.Store.ProgramLogLevel(ctx, programID)
}

// SetLevel sets a program's log level (set_log_level): 1 ERR, 2 INFO, 3 DBG.
func (s *Service) SetLevel(ctx context.Context, programID string, level int) error {
	if level < openzone.LogLevelError || level > openzone.LogLevelDebug {
		return openzone.Errorf(openzone.ErrInvalidParam, "log_level must be 1 (ERR), 2 (INFO) or 3 (DBG), got %d", level)
	}
	return s.cfg.Store.ProgramLogLevelSet(ctx, programID, level)
}

// Page is a page of a search: the lines, newest first, and, for one
// program, its volume by hour over the last day.
type Page struct {
	Lines    []*openzone.ProgramLog     `json:"lines"`
	Hours    []*openzone.ProgramLogHour `json:"hours,omitempty"`
	LogLevel int                        `json:"log_level,omitempty"`
	// CapBytes is the volume a program may log per hour.
	CapBytes int64 `json:"cap_bytes"`
}

// Search finds lines (日志查询).
func (s *Service) Search(ctx context.Context, f openzone.ProgramLogFilter) (*Page, error) {
	if f.MaxLevel < 0 || f.MaxLevel > openzone.LogLevelDebug {
		return nil, openzone.Errorf(openzone.ErrInvalidParam, "level must be 1 (ERR), 2 (INFO and ERR) or 3 (all), got %d", f.MaxLevel)
	}
	lines, err := s.cfg.Store.ProgramLogList(ctx, f)
	if err != nil {
		return nil, err
	}
	if lines == nil {
		lines = []*openzone.ProgramLog{}
	}
	page := &Page{Lines: lines, CapBytes: s.cfg.HourlyBytes}
	if f.ProgramID != "" {
		if page.Hours, err = s.cfg.Store.ProgramLogHours(ctx, f.ProgramID, s.cfg.Now().Add(-24*time.Hour).Truncate(time.Hour)); err != nil {
			return nil, err
		}
		if page.LogLevel, err = s.cfg.Store.ProgramLogLevel(ctx, f.ProgramID); err != nil {
			return nil, err
		}
	}
	return page, nil
}
