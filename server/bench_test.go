package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/openzone/openzone/internal/testenv"
	"github.com/openzone/openzone/sdk/zonewire"
)

// benchSeed is one corp, one app and the example program deployed as a
// single instance, so that both variants reach the same process.
const benchSeed = `
providers:
  - {id: isv, name: Bench ISV, test_corps: [wwbench]}
corps:
  - {corpid: wwbench, name: Bench Corp}
programs:
  - id: prog-echo
    provider: isv
    name: Echo
    deploy: {command: ["{{EXAMPLE}}", --name, bench], instances: 1}
    abilities:
      - {id: echo, input: {"text": ""}, output: {"text": "", "served_by": ""}}
apps:
  - {corpid: wwbench, agentid: 1000002, type: self_built, secret: bench-secret, programs: [prog-echo]}
`

const (
	benchData  = `{"text":"hello"}`
	benchReply = `{"text":"hello","served_by":"bench"}`
)

// BenchmarkSyncCall measures one echo sync call made by an app through the
// zone (zone) against the same call sealed by the benchmark and sent
// straight to the same program instance (direct): the difference is what
// the zone costs. The *-parallel variants report calls/s under
// concurrency.
func BenchmarkSyncCall(b *testing.B) {
	z := testenv.Start(b, testenv.Options{Seed: benchSeed})
	testenv.Eventually(b, "the echo instance to be healthy", func() bool {
		in := z.Runtime().Instances("prog-echo")
		return len(in) == 1 && in[0].State == "healthy"
	})
	tr := &http.Transport{Proxy: nil, MaxIdleConns: 256, MaxIdleConnsPerHost: 256, DisableCompression: true}
	b.Cleanup(tr.CloseIdleConnections)
	hc := &http.Client{Transport: tr, Timeout: 30 * time.Second}

	// zone: POST /cgi-bin/chatdata/sync_call_program as an app.
	tok := z.Token("wwbench", "bench-secret")
	zoneURL := z.URL + "/cgi-bin/chatdata/sync_call_program?access_token=" + url.QueryEscape(tok)
	zoneBody, _ := json.Marshal(map[string]string{
		"program_id": "prog-echo", "ability_id": "echo", "notify_id": "", "request_data": benchData,
	})
	viaZone := func() error {
		resp, err := hc.Post(zoneURL, "application/json", bytes.NewReader(zoneBody))
		if err != nil {
			return err
		}
		raw, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return err
		}
		var out struct {
			Errcode      int    `json:"errcode"`
			Errmsg       string `json:"errmsg"`
			ResponseData string `json:"response_data"`
		}
		if err := json.Unmarshal(raw, &out); err != nil {
			return fmt.Errorf("reply is not JSON: %v: %s", err, raw)
		}
		if out.Errcode != 0 || out.ResponseData != benchReply {
			return fmt.Errorf("reply %s", raw)
		}
		return nil
	}

	// direct: what the zone's gateway sends, sealed here with the
	// program's real secret, to the same instance.
	sec, err := z.Store().ProgramSecretGet(context.Background(), "prog-echo")
	if err != nil {
		b.Fatal(err)
	}
	ws := zonewire.Secret{Ver: sec.Ver}
	copy(ws.Key[:], sec.Key)
	keys := zonewire.NewKeys(ws)
	instURL := z.Runtime().Instances("prog-echo")[0].URL + "/"
	callBody, _ := json.Marshal(zonewire.Call{
		CorpID: "wwbench", AgentID: 1000002, CallType: 1, Data: benchData, AbilityID: "echo",
	})
	direct := func() error {
		hd := zonewire.Header{ProgramID: "prog-echo", SecretVer: ws.Ver, RequestID: zonewire.NewRequestID(), Timestamp: time.Now().Unix()}
		req, err := http.NewRequest(http.MethodPost, instURL, bytes.NewReader(keys.Seal(zonewire.PurposeCall, hd, callBody)))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", zonewire.ContentType)
		hd.Apply(req.Header, false)
		resp, err := hc.Do(req)
		if err != nil {
			return err
		}
		raw, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return err
		}
		if resp.StatusCode != http.StatusOK || resp.Header.Get(zonewire.HeaderException) != "" {
			return fmt.Errorf("HTTP %d, ww-exception %q: %s", resp.StatusCode, resp.Header.Get(zonewire.HeaderException), raw)
		}
		pt, err := keys.Open(zonewire.PurposeReply, hd, raw)
		if err != nil {
			return fmt.Errorf("reply does not open: %v", err)
		}
		var rep zonewire.Reply
		if err := json.Unmarshal(pt, &rep); err != nil || rep.Data != benchReply {
			return fmt.Errorf("reply %s (%v)", pt, err)
		}
		return nil
	}

	for _, v := range []struct {
		name string
		call func() error
	}{{"zone", viaZone}, {"direct", direct}} {
		if err := v.call(); err != nil { // warm the connection
			b.Fatalf("%s: %v", v.name, err)
		}
		b.Run(v.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := v.call(); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "calls/s")
		})
	}
	for _, v := range []struct {
		name string
		call func() error
	}{{"zone-parallel", viaZone}, {"direct-parallel", direct}} {
		b.Run(v.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetParallelism(4) // 4 × GOMAXPROCS concurrent callers
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := v.call(); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "calls/s")
		})
	}
}
