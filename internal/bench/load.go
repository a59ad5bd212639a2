package bench

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// NewClient returns the HTTP client every app-side variant uses, so that
// the zone, the proxy and the direct calls differ only in what is behind
// the URL: keep-alive with enough idle connections for the highest
// concurrency, no proxy from the environment, no compression.
func NewClient() *http.Client {
	return &http.Client{
		Transport: &http.Transport{
			Proxy:               nil,
			DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			MaxIdleConns:        2048,
			MaxIdleConnsPerHost: 2048,
			IdleConnTimeout:     90 * time.Second,
			DisableCompression:  true,
		},
		Timeout: 30 * time.Second,
	}
}

// closeClient drops a client's idle connections.
func closeClient(c *http.Client) { c.CloseIdleConnections() }

// CallFunc is one operation of a closed loop (one request and its check).
type CallFunc func(ctx context.Context) error

// ClosedLoop runs call from conc workers, each calling again as soon as
// its previous call returned: first for warm (untimed: connections open,
// caches fill), then for d. It returns the calls completed in d with
// their latencies. The first error stops the loop and is returned.
func ClosedLoop(ctx context.Context, variant string, conc int, warm, d time.Duration, call CallFunc) (Point, error) {
	if warm > 0 {
		if _, err := loop(ctx, conc, warm, call); err != nil {
			return Point{}, fmt.Errorf("%s (warm-up, %d concurrent): %w", variant, conc, err)
		}
	}
	start := time.Now()
	lat, err := loop(ctx, conc, d, call)
	elapsed := time.Since(start)
	if err != nil {
		return Point{}, fmt.Errorf("%s (%d concurrent): %w", variant, conc, err)
	}
	p := Summarize(variant, conc, lat, elapsed)
	return p, nil
}

// Variant is one way of making the measured call; Call gets the client
// the variant uses for all its rounds at one concurrency.
type Variant struct {
	Name string
	Call func(*http.Client) CallFunc
}

// Interleaved measures every variant at conc in a closed loop for d in
// all, split into rounds taken in turn (zone, proxy, …, zone, proxy, …),
// so that a burst of load from a neighbour on the shared machine falls
// on all variants alike rather than on one. Each variant first warms up
// for warm on its own client, which it keeps for its rounds.
func Interleaved(ctx context.Context, conc, rounds int, warm, d time.Duration, variants []Variant) ([]Point, error) {
	type acc struct {
		hc      *http.Client
		call    CallFunc
		lat     []time.Duration
		elapsed time.Duration
	}
	accs := make([]*acc, len(variants))
	for i, v := range variants {
		hc := NewClient()
		defer closeClient(hc)
		accs[i] = &acc{hc: hc, call: v.Call(hc)}
		if warm > 0 {
			if _, err := loop(ctx, conc, warm, accs[i].call); err != nil {
				return nil, fmt.Errorf("%s (warm-up, %d concurrent): %w", v.Name, conc, err)
			}
		}
	}
	for range rounds {
		for i, v := range variants {
			start := time.Now()
			lat, err := loop(ctx, conc, d/time.Duration(rounds), accs[i].call)
			if err != nil {
				return nil, fmt.Errorf("%s (%d concurrent): %w", v.Name, conc, err)
			}
			accs[i].elapsed += time.Since(start)
			accs[i].lat = append(accs[i].lat, lat...)
		}
	}
	out := make([]Point, len(variants))
	for i, v := range variants {
		out[i] = Summarize(v.Name, conc, accs[i].lat, accs[i].elapsed)
	}
	return out, nil
}

func loop(ctx context.Context, conc int, d time.Duration, call CallFunc) ([]time.Duration, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	deadline := time.Now().Add(d)
	per := make([][]time.Duration, conc)
	errc := make(chan error, conc)
	var wg sync.WaitGroup
	for w := range conc {
		wg.Go(func() {
			lat := make([]time.Duration, 0, 1024)
			for ctx.Err() == nil && time.Now().Before(deadline) {
				t0 := time.Now()
				if err := call(ctx); err != nil {
					if ctx.Err() == nil {
						errc <- err
						cancel()
					}
					return
				}
				lat = append(lat, time.Since(t0))
			}
			per[w] = lat
		})
	}
	wg.Wait()
	select {
	case err := <-errc:
		return nil, err
	default:
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var all []time.Duration
	for _, l := range per {
		all = append(all, l...)
	}
	return all, nil
}

// Summarize turns latencies measured over elapsed into a Point.
func Summarize(variant string, conc int, lat []time.Duration, elapsed time.Duration) Point {
	slices.Sort(lat)
	p := Point{Variant: variant, Concurrency: conc, Ops: len(lat), Seconds: elapsed.Seconds()}
	if elapsed > 0 {
		p.PerSecond = float64(len(lat)) / elapsed.Seconds()
	}
	if len(lat) > 0 {
		p.P50ms = ms(Percentile(lat, 50))
		p.P95ms = ms(Percentile(lat, 95))
		p.P99ms = ms(Percentile(lat, 99))
		p.Maxms = ms(lat[len(lat)-1])
	}
	return p
}

// Percentile is the nearest-rank percentile q (0–100) of sorted.
func Percentile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(q/100*float64(len(sorted))+0.999999) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

func ms(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e6 }

// find returns the point of variant at conc.
func find(ps []Point, variant string, conc int) Point {
	for _, p := range ps {
		if p.Variant == variant && p.Concurrency == conc {
			return p
		}
	}
	return Point{}
}

func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

// parallel runs f(0) … f(n-1) on workers goroutines and returns the first
// error; the other workers stop taking new indexes once one has failed.
func parallel(n, workers int, f func(i int) error) error {
	var next atomic.Int64
	var failed atomic.Bool
	var wg sync.WaitGroup
	errc := make(chan error, workers)
	for range workers {
		wg.Go(func() {
			for !failed.Load() {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				if err := f(i); err != nil {
					failed.Store(true)
					errc <- err
					return
				}
			}
		})
	}
	wg.Wait()
	select {
	case err := <-errc:
		return err
	default:
		return nil
	}
}

// measure runs Interleaved at each concurrency and adds the points to sec.
func (r *runner) measure(ctx context.Context, sec *Section, concurrency []int, rounds int, warm, d time.Duration, variants []Variant) error {
	for _, conc := range concurrency {
		ps, err := Interleaved(ctx, conc, rounds, warm, d, variants)
		if err != nil {
			return err
		}
		for _, p := range ps {
			r.progressf("   %-10s c=%-3d %8.0f calls/s  p50 %6.3f ms  p99 %6.3f ms", p.Variant, conc, p.PerSecond, p.P50ms, p.P99ms)
		}
		sec.Points = append(sec.Points, ps...)
	}
	return nil
}
