package traffic

import (
	"time"

	"github.com/openzone/openzone"
)

// Span is one crossing of the zone being timed, the one way a traffic
// record is built: Begin starts it, the caller fills in Rec as it learns
// (Reached for a delivery's result), End records it.
type Span struct {
	Rec   openzone.TrafficRecord
	r     *Recorder
	start time.Time
}

// Begin starts timing rec, whose StartedAt the caller sets from the zone's
// clock; durations are measured on the wall clock.
func (r *Recorder) Begin(rec openzone.TrafficRecord) *Span {
	return &Span{Rec: rec, r: r, start: time.Now()}
}

// Hop is where a delivery went and how long the program took to answer
// (network included): what a gateway result tells a record.
type Hop struct {
	Route     string // openzone.RouteDeployed or openzone.RouteDebug
	Instance  string
	RequestID string
	Program   time.Duration
}

// Reached notes a delivery's hop.
func (s *Span) Reached(h Hop) {
	s.Rec.Route, s.Rec.Instance, s.Rec.RequestID = h.Route, h.Instance, h.RequestID
	s.Rec.ProgramMS = MS(h.Program)
}

// End records the crossing, failed with err or succeeded (nil), and
// returns a copy of its record (the recorder's writer sets the ID of its
// own).
func (s *Span) End(err error) openzone.TrafficRecord { return s.EndWith(openzone.BaseOf(err)) }

// EndWith is End for a crossing whose outcome is a reply's errcode and
// errmsg (an SDK invoke).
func (s *Span) EndWith(b openzone.Base) openzone.TrafficRecord {
	s.Rec.Errcode, s.Rec.Errmsg = b.Errcode, b.Errmsg
	s.Rec.TotalMS = MS(time.Since(s.start))
	s.Rec.ZoneMS = s.Rec.TotalMS - s.Rec.ProgramMS
	rec := s.Rec
	s.r.Record(&s.Rec)
	return rec
}

// MS is d in milliseconds, to the microsecond: how records keep durations.
func MS(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
