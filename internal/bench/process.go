package bench

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// rssConcurrency is how many sync calls are in flight in the rss section.
const rssConcurrency = 1000

// runRSS runs the zone as a child process (openzone serve, the example
// program deployed as one instance), drives 1,000 concurrent callers in
// a closed loop at it, and reads the zone process's own peak resident
// set (VmHWM in /proc/<pid>/status; the program's processes are not
// counted), with VmRSS sampled every 20 ms beside it.
func runRSS(ctx context.Context, r *runner) (*Section, error) {
	d, warm := pick(r, 5*time.Second, 500*time.Millisecond), pick(r, 500*time.Millisecond, 100*time.Millisecond)
	zoneBin, err := r.build(ctx, pkgZone)
	if err != nil {
		return nil, err
	}
	prog, err := r.build(ctx, pkgProgram)
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(r.dir, "rss")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	seedPath := filepath.Join(dir, "seed.yaml")
	if err := os.WriteFile(seedPath, []byte(seedFor(EchoSeed, prog, 1)), 0o600); err != nil {
		return nil, err
	}
	c, err := r.startChild(ctx, "zone-rss", zoneBin, []string{"serve", "--addr", "127.0.0.1:0", "--data", filepath.Join(dir, "data"),
		"--admin-token", benchAdminToken, "--seed", seedPath, "--log-level", "warn"}, nil)
	if err != nil {
		return nil, err
	}
	defer c.stop()
	pid := c.cmd.Process.Pid
	z := &zone{url: c.url, hc: &http.Client{Timeout: 30 * time.Second}}
	tok, err := z.token(ctx, "wwbench", "bench-secret")
	if err != nil {
		return nil, err
	}
	hc := NewClient()
	defer closeClient(hc)
	call := SyncCaller(hc, z.url, tok, "prog-echo")
	if err := eventually(ctx, 30*time.Second, "the deployed example program to answer", func() bool { return call(ctx) == nil }); err != nil {
		return nil, fmt.Errorf("%w: %s", err, c.tail())
	}
	idle, err := procStatusKB(pid, "VmRSS")
	if err != nil {
		return nil, err
	}
	s := sample(func() (int, error) { return procStatusKB(pid, "VmRSS") })
	p, err := ClosedLoop(ctx, "zone", rssConcurrency, warm, d, call)
	sampled := s.Stop()
	if err != nil {
		return nil, fmt.Errorf("%w (zone log: %s)", err, c.tail())
	}
	hwm, err := procStatusKB(pid, "VmHWM")
	if err != nil {
		return nil, err
	}
	r.progressf("   c=%d %8.0f calls/s  p50 %6.1f ms  p99 %6.1f ms; zone RSS idle %.1f MB, peak %.1f MB",
		rssConcurrency, p.PerSecond, p.P50ms, p.P99ms, mb(idle), mb(hwm))
	return &Section{
		Settings: fmt.Sprintf("openzone serve as a child process; %d concurrent callers, closed loop, %s after %s warm-up; example program ×1", rssConcurrency, d, warm),
		Points:   []Point{p},
		Values: []Value{
			{Name: "zone RSS idle (after start and one call)", Value: mb(idle), Unit: "MB"},
			{Name: "zone RSS sampled peak under load", Value: mb(sampled), Unit: "MB"},
			{Name: "zone peak RSS (VmHWM)", Value: mb(hwm), Unit: "MB"},
		},
		Targets: []Target{target(fmt.Sprintf("zone peak RSS at %d concurrent calls", rssConcurrency), mb(hwm), "<=", 150, "MB")},
	}, nil
}

func mb(kb int) float64 { return float64(kb) / 1024 }

// runColdStart starts `openzone serve` on a new, empty data directory
// several times and measures from exec to the first 200 of /healthz:
// process start, SQLite and River migrations, admin token and archive key
// generation, listener. The median counts.
func runColdStart(ctx context.Context, r *runner) (*Section, error) {
	runs := pick(r, 7, 2)
	zoneBin, err := r.build(ctx, pkgZone)
	if err != nil {
		return nil, err
	}
	hc := &http.Client{Timeout: 5 * time.Second}
	var times []time.Duration
	for i := range runs {
		data := filepath.Join(r.dir, fmt.Sprintf("cold-%d", i))
		if err := os.MkdirAll(data, 0o700); err != nil {
			return nil, err
		}
		t0 := time.Now()
		c, err := r.startChild(ctx, fmt.Sprintf("zone-cold-%d", i), zoneBin, []string{"serve", "--addr", "127.0.0.1:0", "--data", data, "--log-level", "warn"}, nil)
		if err != nil {
			return nil, err
		}
		err = eventually(ctx, 30*time.Second, "/healthz", func() bool {
			resp, err := hc.Get(c.url + "/healthz")
			if err != nil {
				return false
			}
			resp.Body.Close()
			return resp.StatusCode == http.StatusOK
		})
		took := time.Since(t0)
		c.stop()
		if err != nil {
			return nil, err
		}
		times = append(times, took)
	}
	slices.Sort(times)
	med := times[len(times)/2]
	r.progressf("   median %.1f ms (min %.1f, max %.1f) over %d runs", ms(med), ms(times[0]), ms(times[len(times)-1]), runs)
	return &Section{
		Settings: fmt.Sprintf("%d runs of openzone serve --addr 127.0.0.1:0 --data <new empty dir>; exec to /healthz 200", runs),
		Values: []Value{
			{Name: "median", Value: ms(med), Unit: "ms"},
			{Name: "min", Value: ms(times[0]), Unit: "ms"},
			{Name: "max", Value: ms(times[len(times)-1]), Unit: "ms"},
		},
		Targets: []Target{target("cold start (median)", ms(med), "<=", 300, "ms")},
	}, nil
}
