package bench_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/openzone/openzone/internal/bench"
)

func TestPercentile(t *testing.T) {
	t.Parallel()
	var lat []time.Duration
	for i := 1; i <= 100; i++ {
		lat = append(lat, time.Duration(i)*time.Millisecond)
	}
	for _, tc := range []struct {
		q    float64
		want time.Duration
	}{{50, 50 * time.Millisecond}, {95, 95 * time.Millisecond}, {99, 99 * time.Millisecond}, {100, 100 * time.Millisecond}, {0, time.Millisecond}} {
		if got := bench.Percentile(lat, tc.q); got != tc.want {
			t.Errorf("Percentile(1..100 ms, %v) = %v, want %v", tc.q, got, tc.want)
		}
	}
	if got := bench.Percentile([]time.Duration{7}, 99); got != 7 {
		t.Errorf("Percentile of one = %v, want 7", got)
	}
	if got := bench.Percentile(nil, 50); got != 0 {
		t.Errorf("Percentile of none = %v, want 0", got)
	}
}

func TestSummarize(t *testing.T) {
	t.Parallel()
	p := bench.Summarize("zone", 16, []time.Duration{3 * time.Millisecond, time.Millisecond, 2 * time.Millisecond, 4 * time.Millisecond}, 2*time.Second)
	if p.Ops != 4 || p.PerSecond != 2 || p.P50ms != 2 || p.P99ms != 4 || p.Maxms != 4 || p.Concurrency != 16 {
		t.Fatalf("Summarize = %+v", p)
	}
}

// TestClosedLoop: the loop counts every call, and the first error stops it.
func TestClosedLoop(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	var calls atomic.Int64
	p, err := bench.ClosedLoop(ctx, "sleep", 4, 0, 50*time.Millisecond, func(context.Context) error {
		calls.Add(1)
		time.Sleep(time.Millisecond)
		return nil
	})
	// Every call counted, each at least the sleep long; how many fit in
	// 50 ms depends on the machine's load, so that is not asserted.
	if err != nil || p.Ops == 0 || int64(p.Ops) != calls.Load() || p.P50ms < 1 {
		t.Fatalf("ClosedLoop = %+v, %v (%d calls made)", p, err, calls.Load())
	}
	n := 0
	_, err = bench.ClosedLoop(ctx, "fail", 1, 0, time.Second, func(context.Context) error {
		if n++; n == 3 {
			return context.DeadlineExceeded
		}
		return nil
	})
	if err == nil || !strings.Contains(err.Error(), "fail (1 concurrent)") {
		t.Fatalf("ClosedLoop with a failing call = %v", err)
	}
}

// TestRunSeal runs the one section that needs no build, in short mode,
// and checks the report's table and JSON carry its figures and target.
func TestRunSeal(t *testing.T) {
	t.Parallel()
	rep, err := bench.Run(context.Background(), bench.Options{Short: true, Only: []string{"seal"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Sections) != 1 || len(rep.Sections[0].Values) != 12 || len(rep.Targets) != 2 {
		t.Fatalf("report: %+v", rep)
	}
	var table bytes.Buffer
	rep.WriteTable(&table)
	// Met or not depends on the machine's load: only the line is checked.
	for _, want := range []string{"## seal", "raw 64 KB", "wire-append 64 KB", "raw-b64 64 KB", "seal+open 64 KB wire-append/raw-b64", "seal+open 64 KB sdk-append/raw-b64", " of 2 targets met"} {
		if !strings.Contains(table.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, table.String())
		}
	}
	var js bytes.Buffer
	if err := rep.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	var back bench.Report
	if err := json.Unmarshal(js.Bytes(), &back); err != nil || back.Sections[0].Name != "seal" || back.Machine.CPUs == 0 {
		t.Fatalf("JSON round trip: %v %+v", err, back)
	}
}

func TestRunUnknownSection(t *testing.T) {
	t.Parallel()
	if _, err := bench.Run(context.Background(), bench.Options{Only: []string{"nope"}}); err == nil || !strings.Contains(err.Error(), `unknown section "nope"`) {
		t.Fatalf("Run(--only nope) = %v", err)
	}
}

// TestInterleaved: every variant gets its share of the rounds.
func TestInterleaved(t *testing.T) {
	t.Parallel()
	var order []string
	var mu sync.Mutex
	mk := func(name string) bench.Variant {
		return bench.Variant{Name: name, Call: func(*http.Client) bench.CallFunc {
			return func(context.Context) error {
				mu.Lock()
				if len(order) == 0 || order[len(order)-1] != name {
					order = append(order, name)
				}
				mu.Unlock()
				time.Sleep(time.Millisecond)
				return nil
			}
		}}
	}
	ps, err := bench.Interleaved(context.Background(), 2, 3, 0, 60*time.Millisecond, []bench.Variant{mk("a"), mk("b")})
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != 2 || ps[0].Variant != "a" || ps[1].Variant != "b" || ps[0].Ops < 10 || ps[1].Ops < 10 {
		t.Fatalf("points %+v", ps)
	}
	if got := strings.Join(order, ""); got != "ababab" {
		t.Fatalf("rounds ran in order %q, want ababab", got)
	}
}
