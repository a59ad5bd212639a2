package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/openzone/openzone"
	"github.com/openzone/openzone/internal/testenv"
)

// BenchmarkAsyncTask measures async calls end to end on SQLite: 16 app
// clients create b.N tasks with async_program_task (each one HTTP request,
// one transaction holding the task row and its River job), the zone
// delivers each to the example program (2 instances), which acknowledges
// and reports with program_async_job_call_back. It reports tasks/s from
// the first request to the last result being readable, and the latency
// of each task from its creation to its result being stored (readable by
// async_program_result), p50 and p95.
//
// Its baseline is River's own no-op throughput on SQLite, measured in the
// same run:
//
//	go test -run '^$' -bench 'BenchmarkAsyncTask/burst|BenchmarkNoopJobs' -benchtime 2000x ./server/ ./internal/jobs/
//
// "burst" creates all b.N tasks at once (latency includes queueing);
// "serial" runs one task at a time (latency of an idle zone; use
// -benchtime 50x).
func BenchmarkAsyncTask(b *testing.B) {
	b.Run("burst", func(b *testing.B) { benchAsyncTask(b, 16) })
	b.Run("serial", func(b *testing.B) { benchAsyncTask(b, 1) })
}

func benchAsyncTask(b *testing.B, clients int) {
	z := testenv.Start(b, testenv.Options{Seed: strings.Replace(benchSeed, "instances: 1", "instances: 2", 1)})
	testenv.Eventually(b, "the echo instances to be healthy", func() bool {
		n := 0
		for _, in := range z.Supervisor().Instances("prog-echo") {
			if in.State == "healthy" {
				n++
			}
		}
		return n == 2
	})
	tr := &http.Transport{Proxy: nil, MaxIdleConns: 64, MaxIdleConnsPerHost: 64, DisableCompression: true}
	b.Cleanup(tr.CloseIdleConnections)
	hc := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	tok := z.Token("wwbench", "bench-secret")
	create := z.URL + "/cgi-bin/chatdata/async_program_task?access_token=" + url.QueryEscape(tok)

	ids := make([]string, b.N)
	var next atomic.Int64
	var wg sync.WaitGroup
	b.ResetTimer()
	start := time.Now()
	for range clients {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= b.N {
					return
				}
				body := fmt.Sprintf(`{"program_id":"prog-echo","ability_id":"echo","request_data":"{\"text\":\"t%d\"}"}`, i)
				resp, err := hc.Post(create, "application/json", strings.NewReader(body))
				if err != nil {
					b.Error(err)
					return
				}
				var out struct {
					Errcode int    `json:"errcode"`
					JobID   string `json:"jobid"`
				}
				err = json.NewDecoder(resp.Body).Decode(&out)
				resp.Body.Close()
				if err != nil {
					b.Error(err)
					return
				}
				if out.Errcode != 0 {
					b.Errorf("async_program_task: errcode %d", out.Errcode)
					return
				}
				ids[i] = out.JobID
				if clients == 1 { // one task at a time
					if _, err := waitTaskDone(z, out.JobID); err != nil {
						b.Error(err)
						return
					}
				}
			}
		})
	}
	wg.Wait()
	if b.Failed() {
		b.FailNow()
	}
	lat := make([]time.Duration, 0, b.N)
	for _, id := range ids {
		t, err := waitTaskDone(z, id)
		if err != nil {
			b.Fatal(err)
		}
		lat = append(lat, t.DoneAt.Sub(t.CreatedAt))
	}
	elapsed := time.Since(start)
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "tasks/s")
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*95/100].Microseconds())/1000, "p95-ms")
	b.ReportMetric(0, "ns/op")
}

// waitTaskDone polls the store until the task is done.
func waitTaskDone(z *testenv.Zone, id string) (*openzone.Task, error) {
	deadline := time.Now().Add(5 * time.Minute)
	for {
		t, err := z.Store().TaskGet(context.Background(), id)
		if err != nil {
			return nil, err
		}
		if t.State == openzone.TaskDone {
			return t, nil
		}
		if t.State == openzone.TaskFailed || time.Now().After(deadline) {
			return nil, fmt.Errorf("task %s: %s %s", id, t.State, t.LastError)
		}
		time.Sleep(time.Millisecond)
	}
}
