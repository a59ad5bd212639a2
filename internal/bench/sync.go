package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"time"

	"github.com/openzone/openzone/sdk/zonewire"
)

// Concurrencies of the sync call section.
var syncConcurrency = []int{1, 16, 64}

// runSync measures one echo call four ways, at each concurrency, with the
// same client settings:
//
//	zone        app → zone (sync_call_program) → example program (sealed)
//	proxy       app → httputil.ReverseProxy → plain echo program
//	direct      app → plain echo program
//	direct-sdk  app seals the zone's packet itself → example program
//
// zone against proxy is the target; direct and direct-sdk show what the
// program costs alone, with and without the SDK's sealing.
func runSync(ctx context.Context, r *runner) (*Section, error) {
	d, warm, rounds := pick(r, 3*time.Second, 150*time.Millisecond), pick(r, 300*time.Millisecond, 30*time.Millisecond), pick(r, 6, 2)
	prog, err := r.build(ctx, pkgProgram)
	if err != nil {
		return nil, err
	}
	plainBin, err := r.build(ctx, pkgPlain)
	if err != nil {
		return nil, err
	}
	z, stop, err := r.startZone(ctx, "sync", seedFor(EchoSeed, prog, 1))
	if err != nil {
		return nil, err
	}
	defer stop()
	if err := z.waitHealthy(ctx, "prog-echo", 1); err != nil {
		return nil, err
	}
	plain, err := r.startChild(ctx, "echoserver", plainBin, []string{"--addr", "127.0.0.1:0", "--name", "bench"}, nil)
	if err != nil {
		return nil, err
	}
	defer plain.stop()
	proxyURL, stopProxy, err := startProxy(plain.url)
	if err != nil {
		return nil, err
	}
	defer stopProxy()

	tok, err := z.token(ctx, "wwbench", "bench-secret")
	if err != nil {
		return nil, err
	}
	sdkCall, err := directSDKCaller(ctx, z, "prog-echo")
	if err != nil {
		return nil, err
	}
	variants := []Variant{
		{"zone", func(hc *http.Client) CallFunc { return SyncCaller(hc, z.url, tok, "prog-echo") }},
		{"proxy", func(hc *http.Client) CallFunc { return PlainCaller(hc, proxyURL) }},
		{"direct", func(hc *http.Client) CallFunc { return PlainCaller(hc, plain.url) }},
		{"direct-sdk", sdkCall},
	}
	sec := &Section{Settings: fmt.Sprintf("closed loop, %s per point in %d interleaved rounds, after %s warm-up; concurrency %v; one example program instance", d, rounds, warm, syncConcurrency)}
	if err := r.measure(ctx, sec, syncConcurrency, rounds, warm, d, variants); err != nil {
		return nil, err
	}
	for _, conc := range syncConcurrency {
		zp, pp := find(sec.Points, "zone", conc), find(sec.Points, "proxy", conc)
		sec.Targets = append(sec.Targets,
			target(fmt.Sprintf("sync p50 zone/proxy, c=%d", conc), ratio(zp.P50ms, pp.P50ms), "<=", 1.3, "x"),
			target(fmt.Sprintf("sync calls/s zone/proxy, c=%d", conc), ratio(zp.PerSecond, pp.PerSecond), ">=", 0.75, "x"))
	}
	return sec, nil
}

// startProxy serves a bare httputil.ReverseProxy to upstream on loopback,
// with its Transport tuned for keep-alive (enough idle connections per
// host for every concurrent caller), and the same server timeouts as the
// zone's listener.
func startProxy(upstream string) (string, func(), error) {
	target, err := url.Parse(upstream)
	if err != nil {
		return "", nil, err
	}
	tr := &http.Transport{
		Proxy:               nil,
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        1024,
		MaxIdleConnsPerHost: 1024,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
	}
	rp := &httputil.ReverseProxy{
		Rewrite:   func(pr *httputil.ProxyRequest) { pr.SetURL(target) },
		Transport: tr,
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{Handler: rp, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 120 * time.Second}
	go srv.Serve(ln)
	return "http://" + ln.Addr().String(), func() { srv.Close(); tr.CloseIdleConnections() }, nil
}

// PlainCaller returns a call of the plain echo program (or a proxy in
// front of it) at u: POST {"text":"hello"}, check the JSON echo.
func PlainCaller(hc *http.Client, u string) CallFunc {
	u += "/"
	body := []byte(EchoRequest)
	return func(ctx context.Context) error {
		raw, err := postJSON(ctx, hc, u, body)
		if err != nil {
			return err
		}
		var out struct {
			Text     string `json:"text"`
			ServedBy string `json:"served_by"`
		}
		if err := json.Unmarshal(raw, &out); err != nil || out.Text != "hello" || out.ServedBy != "bench" {
			return fmt.Errorf("echo replied %s (%v)", raw, err)
		}
		return nil
	}
}

// directSDKCaller returns, for a client, a SealedCaller to program's
// first deployed instance with its real secret.
func directSDKCaller(ctx context.Context, z *zone, program string) (func(*http.Client) CallFunc, error) {
	sec, err := z.srv.Store().ProgramSecretGet(ctx, program)
	if err != nil {
		return nil, err
	}
	ws := zonewire.Secret{Ver: sec.Ver}
	copy(ws.Key[:], sec.Key)
	inst := z.srv.Supervisor().Instances(program)
	if len(inst) == 0 {
		return nil, errors.New("no deployed instance")
	}
	dial := z.srv.Supervisor().DialContext
	return func(hc *http.Client) CallFunc {
		// Dial as the zone's gateway does: a sandboxed instance is reached
		// inside its sandbox, not through its host-side endpoint.
		if tr, ok := hc.Transport.(*http.Transport); ok {
			tr = tr.Clone()
			tr.DialContext = dial
			hc = &http.Client{Transport: tr, Timeout: hc.Timeout}
		}
		return SealedCaller(hc, inst[0].URL, program, ws)
	}, nil
}

// SealedCaller returns a call that does what the zone's gateway does,
// from the app's side: seal the echo call (app 1000002 of wwbench) with
// the program's secret and post it straight to the program at u, then
// open and check the sealed reply.
func SealedCaller(hc *http.Client, u, program string, secret zonewire.Secret) CallFunc {
	keys := zonewire.NewKeys(secret)
	u += "/"
	body, _ := json.Marshal(zonewire.Call{CorpID: "wwbench", AgentID: 1000002, CallType: 1, Data: EchoRequest, AbilityID: "echo"})
	return func(ctx context.Context) error {
		hd := zonewire.Header{ProgramID: program, SecretVer: secret.Ver, RequestID: zonewire.NewRequestID(), Timestamp: time.Now().Unix()}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(keys.Seal(zonewire.PurposeCall, hd, body)))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", zonewire.ContentType)
		hd.Apply(req.Header, false)
		resp, err := hc.Do(req)
		if err != nil {
			return err
		}
		raw, err := readAll(resp)
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
		if err := json.Unmarshal(pt, &rep); err != nil || rep.Data != EchoReply {
			return fmt.Errorf("reply %s (%v)", pt, err)
		}
		return nil
	}
}
