package bench

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/openzone/openzone/internal/wecomcrypt"
)

// eventSeed has the example program deployed as the app's receiving
// program and the app's callback URL at {{CALLBACK}}.
const eventSeed = `
providers: [{id: isv, name: Bench ISV}]
corps:
  - corpid: wwbench
    name: Bench Corp
    members: [{userid: zhangsan, name: Zhang San}]
    external_contacts: [{external_userid: wmcust1, name: Customer One}]
programs:
  - id: prog-echo
    provider: isv
    name: Echo
    deploy: {command: ["{{PROGRAM}}", --name, bench], instances: {{INSTANCES}}}
    abilities:
      - {id: echo, input: {"text": ""}, output: {"text": "", "served_by": ""}}
apps:
  - corpid: wwbench
    agentid: 1000002
    type: self_built
    secret: bench-secret
    callback: {url: "{{CALLBACK}}", token: ` + cbToken + `, encoding_aes_key: ` + cbAESKey + `}
    programs: [prog-echo]
`

const cbToken, cbAESKey = "benchtoken", "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"

const benchMessage = `{"sender":{"type":1,"id":"zhangsan"},"receiver_list":[{"type":2,"id":"wmcust1"}],"msgtype":1,"text":{"content":"hello"}}`

// runEvent measures the whole event path: a message ingested through the
// admin API raises conversation_new_message for the app's receiving
// program (a River job delivers it to the example program), the program
// calls spec_notify_app, and the zone posts program_notify (a second
// River job) to the app's callback URL, a server here that checks the
// signature, decrypts it and parses the notification.
//
//	serial  one message at a time: latency from the ingest request to the
//	        app holding the decrypted program_notify
//	burst   N messages ingested by 4 clients: events/s from the first
//	        ingest to the N-th notification
func runEvent(ctx context.Context, r *runner) (*Section, error) {
	serial, n := pick(r, 30, 3), pick(r, 300, 10)
	prog, err := r.build(ctx, pkgProgram)
	if err != nil {
		return nil, err
	}
	app, err := startCallbackApp()
	if err != nil {
		return nil, err
	}
	defer app.close()
	seed := strings.ReplaceAll(seedFor(eventSeed, prog, 1), "{{CALLBACK}}", app.url)
	z, stop, err := r.startZone(ctx, "event", seed)
	if err != nil {
		return nil, err
	}
	defer stop()
	if err := z.waitHealthy(ctx, "prog-echo", 1); err != nil {
		return nil, err
	}
	tok, err := z.token(ctx, "wwbench", "bench-secret")
	if err != nil {
		return nil, err
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	der, _ := x509.MarshalPKIXPublicKey(&key.PublicKey)
	pub := string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
	if err := z.app(ctx, "set_public_key", tok, map[string]any{"public_key": pub, "public_key_ver": 1}, nil); err != nil {
		return nil, err
	}
	if err := z.app(ctx, "set_receive_callback", tok, map[string]any{"program_id": "prog-echo"}, nil); err != nil {
		return nil, err
	}
	ingest := func() error {
		var out struct {
			MsgID string `json:"msgid"`
		}
		return z.admin(ctx, "POST", "/admin/v1/corps/wwbench/messages", rawJSON(benchMessage), &out)
	}
	wait := func(k int) error {
		select {
		case <-app.notified:
			return nil
		case err := <-app.errc:
			return err
		case <-time.After(30 * time.Second):
			return fmt.Errorf("notification %d not received within 30 s", k)
		case <-ctx.Done():
			return ctx.Err()
		}
	}

	sec := &Section{Settings: fmt.Sprintf("%d serial events, then a burst of %d from 4 clients; example program ×1; SQLite", serial, n)}
	lat := make([]time.Duration, 0, serial)
	start := time.Now()
	for i := range serial {
		t0 := time.Now()
		if err := ingest(); err != nil {
			return nil, err
		}
		if err := wait(i); err != nil {
			return nil, err
		}
		lat = append(lat, time.Since(t0))
	}
	ser := Summarize("serial", 1, lat, time.Since(start))
	r.progressf("   serial     %8.1f events/s  p50 %7.1f ms  p95 %7.1f ms", ser.PerSecond, ser.P50ms, ser.P95ms)

	start = time.Now()
	errc := make(chan error, 1)
	go func() { errc <- parallel(n, 4, func(int) error { return ingest() }) }()
	for k := range n {
		if err := wait(k); err != nil {
			return nil, err
		}
	}
	if err := <-errc; err != nil {
		return nil, err
	}
	elapsed := time.Since(start)
	burst := Point{Variant: "burst", Concurrency: 4, Ops: n, Seconds: elapsed.Seconds(), PerSecond: float64(n) / elapsed.Seconds()}
	r.progressf("   burst      %8.1f events/s", burst.PerSecond)
	sec.Points = []Point{ser, burst}
	return sec, nil
}

// callbackApp is the app's callback URL: it verifies and decrypts each
// callback (WeCom's format, internal/wecomcrypt) and signals each
// program_notify.
type callbackApp struct {
	url      string
	srv      *http.Server
	notified chan struct{}
	errc     chan error
}

func startCallbackApp() (*callbackApp, error) {
	c, err := wecomcrypt.New(cbToken, cbAESKey, "wwbench")
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	a := &callbackApp{url: "http://" + ln.Addr().String() + "/callback", notified: make(chan struct{}, 100000), errc: make(chan error, 1)}
	a.srv = &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet { // the callback URL check
			echo, err := c.VerifyURL(r.URL.Query())
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			w.Write(echo)
			return
		}
		body, _ := io.ReadAll(r.Body)
		msg, err := c.OpenCallback(r.URL.Query(), body)
		if err == nil {
			_, err = wecomcrypt.DecodeProgramNotify(msg)
		}
		if err != nil {
			select {
			case a.errc <- fmt.Errorf("callback: %w", err):
			default:
			}
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		io.WriteString(w, "success")
		a.notified <- struct{}{}
	})}
	go a.srv.Serve(ln)
	return a, nil
}

func (a *callbackApp) close() { a.srv.Close() }

// rawJSON is a request body sent as it is.
type rawJSON string

// MarshalJSON implements json.Marshaler.
func (j rawJSON) MarshalJSON() ([]byte, error) { return []byte(j), nil }
