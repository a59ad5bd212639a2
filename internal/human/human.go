// Package human writes durations as people say them ("7 days", "72 h",
// "1.5 s") and reads them back with a day unit ("7d"), for flags, help
// text and log lines: Go's own form says 168h0m0s. It writes sizes too
// ("1 GiB", "3.2 MiB").
package human

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

const day = 24 * time.Hour

// Duration writes d in the largest unit that keeps it short and exact
// enough: whole days as days, whole hours as hours, else minutes, seconds
// or milliseconds with at most one decimal.
func Duration(d time.Duration) string {
	switch {
	case d < 0:
		return "-" + Duration(-d)
	case d == 0:
		return "0 s"
	case d%day == 0:
		if d == day {
			return "1 day"
		}
		return strconv.FormatInt(int64(d/day), 10) + " days"
	case d%time.Hour == 0:
		return strconv.FormatInt(int64(d/time.Hour), 10) + " h"
	case d >= time.Hour:
		return trim(d.Hours()) + " h"
	case d >= time.Minute:
		return trim(d.Minutes()) + " min"
	case d >= time.Second:
		return trim(d.Seconds()) + " s"
	}
	return trim(float64(d)/float64(time.Millisecond)) + " ms"
}

// Bytes writes a size in the largest binary unit that keeps it at least
// 1, with at most one decimal: "1 GiB", "3.2 MiB", "512 bytes".
func Bytes(n int64) string {
	for _, u := range []struct {
		size int64
		name string
	}{{1 << 30, "GiB"}, {1 << 20, "MiB"}, {1 << 10, "KiB"}} {
		if n >= u.size {
			return trim(float64(n)/float64(u.size)) + " " + u.name
		}
	}
	return strconv.FormatInt(n, 10) + " bytes"
}

func trim(f float64) string {
	s := strconv.FormatFloat(f, 'f', 1, 64)
	return strings.TrimSuffix(s, ".0")
}

// ParseDuration reads Go's durations ("72h", "90m") and days ("7d",
// "1.5d").
func ParseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if n, ok := strings.CutSuffix(s, "d"); ok {
		f, err := strconv.ParseFloat(n, 64)
		if err != nil || f < 0 {
			return 0, fmt.Errorf("%q is not a number of days", s)
		}
		return time.Duration(f * float64(day)), nil
	}
	return time.ParseDuration(s)
}

// Flag is a flag.Value of a duration that help text shows as people say it
// and that takes days ("7d") beside Go's units.
type Flag struct{ D *time.Duration }

func (f Flag) String() string {
	if f.D == nil {
		return ""
	}
	d := *f.D
	if d > 0 && d%day == 0 {
		return strconv.FormatInt(int64(d/day), 10) + "d"
	}
	return d.String()
}

func (f Flag) Set(s string) error {
	d, err := ParseDuration(s)
	if err != nil {
		return err
	}
	*f.D = d
	return nil
}
