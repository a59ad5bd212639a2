package server_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/openzone/openzone/internal/testenv"
	"github.com/openzone/openzone/server"
)

// TestMetrics scrapes /metrics after calls: on the zone's address only with
// the admin token, on --metrics-addr without one, and both in Prometheus's
// text format with the zone's calls, errcodes, queue depths and instances.
func TestMetrics(t *testing.T) { testenv.Stores(t, testMetrics) }

// echoSeed is a zone with one echo program and one app, whose secret is
// given.
func echoSeed(secret string) string {
	return `
providers: [{id: isv, name: Test ISV, test_corps: [wwtest]}]
corps: [{corpid: wwtest, name: Test Corp}]
programs:
  - id: prog-echo
    provider: isv
    name: Echo
    deploy: {command: ["{{EXAMPLE}}", --name, deployed], instances: 1}
    abilities: [{id: echo, input: {"text": ""}, output: {"text": "", "served_by": ""}}]
apps:
  - {corpid: wwtest, agentid: 1000002, type: self_built, secret: ` + secret + `, programs: [prog-echo]}
`
}

func testMetrics(t *testing.T, db string) {
	z := testenv.Start(t, testenv.Options{
		Seed: echoSeed("s1"), DB: db,
		Configure: func(c *server.Config) { c.MetricsAddr = "127.0.0.1:0" },
	})
	tok := z.Token("wwtest", "s1")
	const path = "/cgi-bin/chatdata/sync_call_program"
	if r := z.PostApp(path, tok, syncCall("prog-echo", "echo", `{"text":"hi"}`)); testenv.Errcode(r) != 0 {
		t.Fatalf("call: %s", testenv.Describe(r))
	}
	if r := z.PostApp(path, tok, syncCall("prog-echo", "nope", `{}`)); testenv.Errcode(r) == 0 {
		t.Fatalf("call to an unknown ability succeeded")
	}
	z.FlushTraffic(t.Context())

	scrape := func(url, auth string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest("GET", url, nil)
		if auth != "" {
			req.Header.Set("Authorization", "Bearer "+auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := scrape(z.URL+"/metrics", ""); code != http.StatusUnauthorized || strings.Contains(body, "openzone_") {
		t.Fatalf("/metrics without the admin token: %d %.200s", code, body)
	}
	if code, _ := scrape(z.URL+"/metrics", "wrong"); code != http.StatusUnauthorized {
		t.Fatalf("/metrics with a wrong token: %d", code)
	}
	_, withToken := scrape(z.URL+"/metrics", z.AdminToken())
	if z.MetricsAddr() == "" {
		t.Fatal("no metrics listener")
	}
	code, open := scrape("http://"+z.MetricsAddr()+"/metrics", "")
	if code != http.StatusOK {
		t.Fatalf("metrics listener: %d", code)
	}
	for _, body := range []string{withToken, open} {
		for _, want := range []string{
			`openzone_traffic_total{errcode="0",kind="call",route="deployed"} 1`,
			`openzone_traffic_total{errcode="800003",kind="call",`,
			`openzone_traffic_duration_seconds_bucket{kind="call",route="deployed",le="+Inf"} 1`,
			`openzone_http_requests_total{code="200",face="app"}`,
			`openzone_instances{program="prog-echo",state="healthy"} 1`,
			`openzone_traffic_queue_records 0`,
			`# TYPE openzone_jobs gauge`,
			`go_goroutines`,
		} {
			if !strings.Contains(body, want) {
				t.Errorf("metrics lack %q", want)
			}
		}
	}
	if t.Failed() {
		t.Logf("scrape:\n%s", open)
	}
}
