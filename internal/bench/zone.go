package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/openzone/openzone/server"
)

// benchAdminToken authenticates the bench against the zones it starts.
const benchAdminToken = "bench-admin-token"

// EchoSeed is one corp, one self-built app and the example program
// deployed as {{INSTANCES}} instance(s) running {{PROGRAM}}: the zone of
// the sync, async and rss sections (and of server's Go benchmarks).
const EchoSeed = `
providers:
  - {id: isv, name: Bench ISV, test_corps: [wwbench]}
corps:
  - {corpid: wwbench, name: Bench Corp}
programs:
  - id: prog-echo
    provider: isv
    name: Echo
    deploy: {command: ["{{PROGRAM}}", --name, bench], instances: {{INSTANCES}}}
    abilities:
      - {id: echo, input: {"text": ""}, output: {"text": "", "served_by": ""}}
apps:
  - {corpid: wwbench, agentid: 1000002, type: self_built, secret: bench-secret, programs: [prog-echo]}
`

// The echo call every sync variant makes, and the reply it must get.
const (
	EchoRequest = `{"text":"hello"}`
	EchoReply   = `{"text":"hello","served_by":"bench"}`
)

// seedFor fills a seed template.
func seedFor(tmpl, program string, instances int) string {
	return strings.NewReplacer("{{PROGRAM}}", program, "{{INSTANCES}}", fmt.Sprint(instances)).Replace(tmpl)
}

// zone is a zone under measurement with the client the bench talks to it
// with (admin and setup calls; the measured calls bring their own).
type zone struct {
	url string
	srv *server.Server // nil for a child process
	hc  *http.Client
}

// startZone starts a zone in this process on 127.0.0.1:0 with a fresh
// data directory and seed, and waits until program's deployed instances
// answer.
func (r *runner) startZone(ctx context.Context, name, seed string) (*zone, func(), error) {
	return r.startZoneOn(ctx, name, seed, "")
}

// startZoneOn is startZone on database db (server.Config.DB; "" SQLite).
func (r *runner) startZoneOn(ctx context.Context, name, seed, db string) (*zone, func(), error) {
	dir := filepath.Join(r.dir, name)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, nil, err
	}
	seedPath := filepath.Join(dir, "seed.yaml")
	if err := os.WriteFile(seedPath, []byte(seed), 0o600); err != nil {
		return nil, nil, err
	}
	srv, err := server.New(server.Config{
		Addr: "127.0.0.1:0", DataDir: filepath.Join(dir, "data"), AdminToken: benchAdminToken,
		SeedFile: seedPath, Logger: r.logger, DB: db,
	})
	if err != nil {
		return nil, nil, err
	}
	if err := srv.Start(ctx); err != nil {
		return nil, nil, fmt.Errorf("start zone: %w", err)
	}
	z := &zone{url: srv.URL(), srv: srv, hc: &http.Client{Timeout: 30 * time.Second}}
	stop := func() {
		sctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
	}
	return z, stop, nil
}

// waitHealthy waits until n instances of program are healthy.
func (z *zone) waitHealthy(ctx context.Context, program string, n int) error {
	return eventually(ctx, 30*time.Second, fmt.Sprintf("%d healthy instance(s) of %s", n, program), func() bool {
		ok := 0
		for _, in := range z.srv.Supervisor().Instances(program) {
			if in.State == "healthy" {
				ok++
			}
		}
		return ok >= n
	})
}

// eventually polls cond until it holds, for at most d.
func eventually(ctx context.Context, d time.Duration, what string, cond func() bool) error {
	deadline := time.Now().Add(d)
	for {
		if cond() {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("timed out after %s waiting for %s", d, what)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// token gets an app access_token with gettoken.
func (z *zone) token(ctx context.Context, corpID, secret string) (string, error) {
	var out struct {
		AccessToken string `json:"access_token"`
	}
	err := z.do(ctx, http.MethodGet, "/cgi-bin/gettoken?corpid="+url.QueryEscape(corpID)+"&corpsecret="+url.QueryEscape(secret), "", nil, &out)
	return out.AccessToken, err
}

// app calls an app API (/cgi-bin/chatdata/<name>) and decodes the reply;
// a non-zero errcode is an error.
func (z *zone) app(ctx context.Context, name, tok string, body, out any) error {
	return z.do(ctx, http.MethodPost, "/cgi-bin/chatdata/"+name+"?access_token="+url.QueryEscape(tok), "", body, out)
}

// admin calls the admin API; a status other than 200 is an error.
func (z *zone) admin(ctx context.Context, method, path string, body, out any) error {
	return z.do(ctx, method, path, benchAdminToken, body, out)
}

// rawBody is a request body sent as it is, with its content type.
type rawBody struct {
	contentType string
	r           io.Reader
}

func (z *zone) do(ctx context.Context, method, path, adminToken string, body, out any) error {
	var rd io.Reader
	ct := "application/json"
	switch b := body.(type) {
	case nil:
	case rawBody:
		rd, ct = b.r, b.contentType
	default:
		j, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequestWithContext(ctx, method, z.url+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", ct)
	if adminToken != "" {
		req.Header.Set("Authorization", "Bearer "+adminToken)
	}
	resp, err := z.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	name := method + " " + strings.SplitN(path, "?", 2)[0]
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: HTTP %d: %s", name, resp.StatusCode, raw)
	}
	var code struct {
		Errcode int    `json:"errcode"`
		Errmsg  string `json:"errmsg"`
	}
	if json.Unmarshal(raw, &code) == nil && code.Errcode != 0 {
		return fmt.Errorf("%s: errcode %d: %s", name, code.Errcode, code.Errmsg)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			return fmt.Errorf("%s: reply is not JSON: %v: %s", name, err, raw)
		}
	}
	return nil
}

// SyncCaller returns a call of the echo ability through the zone at
// zoneURL as an app with tok, on hc: the request an app makes, and the
// check that the reply is the program's echo.
func SyncCaller(hc *http.Client, zoneURL, tok, program string) CallFunc {
	u := zoneURL + "/cgi-bin/chatdata/sync_call_program?access_token=" + url.QueryEscape(tok)
	body, _ := json.Marshal(map[string]string{"program_id": program, "ability_id": "echo", "notify_id": "", "request_data": EchoRequest})
	return func(ctx context.Context) error {
		raw, err := postJSON(ctx, hc, u, body)
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
		if out.Errcode != 0 || out.ResponseData != EchoReply {
			return fmt.Errorf("sync_call_program: %s", raw)
		}
		return nil
	}
}

// postJSON posts body as JSON to u and returns the body of a 200 reply.
func postJSON(ctx context.Context, hc *http.Client, u string, body []byte) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	raw, err := readAll(resp)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("HTTP %d: %s", resp.StatusCode, raw)
	}
	return raw, nil
}

// readAll reads and closes a response body.
func readAll(resp *http.Response) ([]byte, error) {
	defer resp.Body.Close()
	return io.ReadAll(resp.Body)
}
