package server_test

import (
	"context"
	"strings"
	"testing"

	"github.com/openzone/openzone/internal/bench"
	"github.com/openzone/openzone/internal/testenv"
	"github.com/openzone/openzone/sdk/zonewire"
)

// benchSeed is bench.EchoSeed (one corp, one app, the example program
// deployed as a single instance), so that both variants reach the same
// process and `openzone bench` measures the same zone.
var benchSeed = strings.NewReplacer("{{PROGRAM}}", "{{EXAMPLE}}", "{{INSTANCES}}", "1").Replace(bench.EchoSeed)

// BenchmarkSyncCall measures one echo sync call made by an app through the
// zone (zone) against the same call sealed by the benchmark and sent
// straight to the same program instance (direct): the difference is what
// the zone costs. The *-parallel variants report calls/s under
// concurrency. `openzone bench` measures the same calls beside a bare
// reverse proxy (BENCHMARKS.md).
func BenchmarkSyncCall(b *testing.B) {
	z := testenv.Start(b, testenv.Options{Seed: benchSeed})
	testenv.Eventually(b, "the echo instance to be healthy", func() bool {
		in := z.Supervisor().Instances("prog-echo")
		return len(in) == 1 && in[0].State == "healthy"
	})
	hc := bench.NewClient()
	b.Cleanup(hc.CloseIdleConnections)

	sec, err := z.Store().ProgramSecretGet(context.Background(), "prog-echo")
	if err != nil {
		b.Fatal(err)
	}
	ws := zonewire.Secret{Ver: sec.Ver}
	copy(ws.Key[:], sec.Key)
	viaZone := bench.SyncCaller(hc, z.URL, z.Token("wwbench", "bench-secret"), "prog-echo")
	direct := bench.SealedCaller(hc, z.Supervisor().Instances("prog-echo")[0].URL, "prog-echo", ws)

	ctx := context.Background()
	for _, v := range []struct {
		name string
		call bench.CallFunc
	}{{"zone", viaZone}, {"direct", direct}} {
		if err := v.call(ctx); err != nil { // warm the connection
			b.Fatalf("%s: %v", v.name, err)
		}
		b.Run(v.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := v.call(ctx); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "calls/s")
		})
	}
	for _, v := range []struct {
		name string
		call bench.CallFunc
	}{{"zone-parallel", viaZone}, {"direct-parallel", direct}} {
		b.Run(v.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetParallelism(4) // 4 × GOMAXPROCS concurrent callers
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := v.call(ctx); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "calls/s")
		})
	}
}
