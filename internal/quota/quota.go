// Package quota keeps counted limits shared by every node of a zone: a
// corp's daily quota of model calls (WeCom's 10,000 calls or 100,000
// messages a day), and the rate limits of other interfaces. A limit is a
// name, a maximum and a window; each (limit, subject, window) is one row
// in the store, taken from in one atomic statement, so concurrent takes —
// in one process or on several nodes sharing PostgreSQL — never pass the
// maximum. A refused take counts nothing and answers 45009 (接口调用超过
// 限制) saying when the window resets.
//
// Usage:
//
//	q := quota.New(quota.Config{Store: st})
//	calls := quota.Limit{Name: "ww_model_calls", Max: 10000, Window: quota.ChinaDay}
//	if err := q.Take(ctx, calls, corpID, 1); err != nil { return err } // 45009 past it
package quota

import (
	"context"
	"fmt"
	"time"

	"github.com/openzone/openzone"
	"github.com/openzone/openzone/internal/store"
)

// Store is what the service needs of the store (store.Executor has it).
type Store interface {
	QuotaTake(ctx context.Context, p store.QuotaTakeParams) (used int64, ok bool, err error)
	QuotaGet(ctx context.Context, p store.QuotaGetParams) (int64, error)
}

// Window is how a limit's counter resets.
type Window interface {
	// Bounds returns the window holding now: its start (which names the
	// counter) and its end (when a fresh counter begins).
	Bounds(now time.Time) (start, end time.Time)
	String() string
}

// China is China Standard Time (UTC+8, no daylight saving): WeCom's day.
var China = time.FixedZone("CST", 8*3600)

// ChinaDay resets at midnight China time, as WeCom's daily quotas do.
var ChinaDay Window = day{}

type day struct{}

func (day) Bounds(now time.Time) (time.Time, time.Time) {
	t := now.In(China)
	start := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, China)
	return start, start.AddDate(0, 0, 1)
}

func (day) String() string { return "day (China time)" }

// Every returns fixed windows of d aligned to the Unix epoch (a rate
// limit: so many a minute); d must be at least a millisecond.
func Every(d time.Duration) Window { return every(d) }

type every time.Duration

func (e every) Bounds(now time.Time) (time.Time, time.Time) {
	d := time.Duration(e)
	start := now.Truncate(d)
	return start, start.Add(d)
}

func (e every) String() string { return time.Duration(e).String() }

// Limit is one counted limit.
type Limit struct {
	// Name is what is counted, stable across releases (the counter's
	// scope in the store): "ww_model_calls".
	Name string
	// Max is the most a subject may take in a window; <= 0: no limit
	// (Take counts nothing and never refuses).
	Max int64
	// Window is when the count starts again.
	Window Window
	// What describes the limit in the refusal's errmsg ("model calls a
	// day"); Name when empty.
	What string
}

// Config wires the service.
type Config struct {
	Store Store
	// Now is the clock (time.Now when nil).
	Now func() time.Time
}

// Service takes from limits.
type Service struct{ cfg Config }

// New returns the service; it does no I/O.
func New(cfg Config) *Service {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Service{cfg: cfg}
}

// Usage is a subject's count in the current window.
type Usage struct {
	Used   int64     `json:"used"`
	Max    int64     `json:"max"`
	Resets time.Time `json:"resets"` // when the window ends
}

// Take counts n (>= 1) against subject's limit l in the current window.
// Past the maximum it counts nothing and returns an *openzone.Error with
// errcode 45009 naming the limit, the count and when it resets; a store
// failure is returned as is.
func (s *Service) Take(ctx context.Context, l Limit, subject string, n int64) error {
	if l.Max <= 0 || n <= 0 {
		return nil
	}
	start, end := l.Window.Bounds(s.cfg.Now())
	used, ok, err := s.cfg.Store.QuotaTake(ctx, store.QuotaTakeParams{Scope: l.Name, Subject: subject,
		WindowStart: start, WindowEnd: end, N: n, Max: l.Max})
	if err != nil {
		return fmt.Errorf("quota %s: %w", l.Name, err)
	}
	if !ok {
		what := l.What
		if what == "" {
			what = l.Name
		}
		return openzone.Errorf(openzone.ErrFreqLimit, "%s of %s: %d used of %d, this request needs %d; the count starts again at %s",
			what, subject, used, l.Max, n, end.In(China).Format("2006-01-02 15:04:05 MST"))
	}
	return nil
}

// Used returns subject's count of l in the current window.
func (s *Service) Used(ctx context.Context, l Limit, subject string) (Usage, error) {
	start, end := l.Window.Bounds(s.cfg.Now())
	used, err := s.cfg.Store.QuotaGet(ctx, store.QuotaGetParams{Scope: l.Name, Subject: subject, WindowStart: start})
	if err != nil {
		return Usage{}, fmt.Errorf("quota %s: %w", l.Name, err)
	}
	return Usage{Used: used, Max: l.Max, Resets: end}, nil
}
