package server_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/openzone/openzone/internal/store/postgres/pgtest"
	"github.com/openzone/openzone/internal/testenv"
)

// BenchmarkNodes compares the stores and node counts in one run: sync
// calls/s and async tasks/s on SQLite (one node), PostgreSQL with one
// node, and PostgreSQL with two nodes sharing the database, the app's
// requests alternating between them. Every node deploys the example
// program as one instance; the nodes run in this process, as the same
// number of processes would share the machine's cores.
//
//	OPENZONE_TEST_POSTGRES_URL=postgres://… go test -run '^$' -bench BenchmarkNodes -benchtime 2000x ./server/
//
// 16 clients make the b.N sync calls (or create the b.N tasks); tasks/s
// runs from the first request to the last result stored.
func BenchmarkNodes(b *testing.B) {
	for _, setup := range []struct {
		name  string
		pg    bool
		nodes int
	}{{"sqlite-1node", false, 1}, {"postgres-1node", true, 1}, {"postgres-2nodes", true, 2}} {
		for _, kind := range []string{"sync", "async"} {
			b.Run(setup.name+"/"+kind, func(b *testing.B) {
				db := ""
				if setup.pg {
					db = pgtest.URL(b)
				}
				zones := startBenchNodes(b, db, setup.nodes)
				if kind == "sync" {
					benchNodesSync(b, zones)
				} else {
					benchNodesAsync(b, zones)
				}
			})
		}
	}
}

const benchArchiveKey = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="

func startBenchNodes(b *testing.B, db string, n int) []*testenv.Zone {
	var zones []*testenv.Zone
	for i := range n {
		opts := testenv.Options{DB: db, NodeName: fmt.Sprintf("bench-%d", i), ArchiveKey: benchArchiveKey}
		if i == 0 {
			opts.Seed = benchSeed
		}
		z := testenv.Start(b, opts)
		testenv.Eventually(b, "the echo instance to be healthy", func() bool {
			in := z.Supervisor().Instances("prog-echo")
			return len(in) == 1 && in[0].State == "healthy"
		})
		zones = append(zones, z)
	}
	return zones
}

const benchClients = 16

// benchClient returns an HTTP client and the app's token.
func benchClient(b *testing.B, z *testenv.Zone) (*http.Client, string) {
	tr := &http.Transport{Proxy: nil, MaxIdleConns: 64, MaxIdleConnsPerHost: 64, DisableCompression: true}
	b.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}, z.Token("wwbench", "bench-secret")
}

// spread runs b.N requests from benchClients clients, request i going to
// zone i % len(zones), and returns how long they took.
func spread(b *testing.B, zones []*testenv.Zone, do func(z *testenv.Zone, i int) error) time.Duration {
	var next atomic.Int64
	var wg sync.WaitGroup
	b.ResetTimer()
	start := time.Now()
	for range benchClients {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= b.N {
					return
				}
				if err := do(zones[i%len(zones)], i); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	return time.Since(start)
}

func benchNodesSync(b *testing.B, zones []*testenv.Zone) {
	hc, tok := benchClient(b, zones[0])
	body := `{"program_id":"prog-echo","ability_id":"echo","notify_id":"","request_data":"{\"text\":\"hello\"}"}`
	elapsed := spread(b, zones, func(z *testenv.Zone, i int) error {
		resp, err := hc.Post(z.URL+"/cgi-bin/chatdata/sync_call_program?access_token="+url.QueryEscape(tok), "application/json", strings.NewReader(body))
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		var out struct {
			Errcode int `json:"errcode"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || out.Errcode != 0 {
			return fmt.Errorf("sync_call_program: errcode %d (%v)", out.Errcode, err)
		}
		return nil
	})
	b.StopTimer()
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "calls/s")
	b.ReportMetric(0, "ns/op")
}

func benchNodesAsync(b *testing.B, zones []*testenv.Zone) {
	hc, tok := benchClient(b, zones[0])
	ids := make([]string, b.N)
	start := time.Now()
	spread(b, zones, func(z *testenv.Zone, i int) error {
		body := fmt.Sprintf(`{"program_id":"prog-echo","ability_id":"echo","request_data":"{\"text\":\"t%d\"}"}`, i)
		resp, err := hc.Post(z.URL+"/cgi-bin/chatdata/async_program_task?access_token="+url.QueryEscape(tok), "application/json", strings.NewReader(body))
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		var out struct {
			Errcode int    `json:"errcode"`
			JobID   string `json:"jobid"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || out.Errcode != 0 {
			return fmt.Errorf("async_program_task: errcode %d (%v)", out.Errcode, err)
		}
		ids[i] = out.JobID
		return nil
	})
	if b.Failed() {
		b.FailNow()
	}
	for _, id := range ids {
		if _, err := waitTaskDone(zones[0], id); err != nil {
			b.Fatal(err)
		}
	}
	elapsed := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "tasks/s")
	b.ReportMetric(0, "ns/op")
}
