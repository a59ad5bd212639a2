package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/openzone/openzone"
	"github.com/openzone/openzone/internal/testenv"
	"github.com/openzone/openzone/sdk/zonesdk"
	"github.com/openzone/openzone/sdk/zonewire"
)

// eventsSeed deploys prog-recv at %[1]s: a program this test runs itself, so
// it can take it down and bring it back.
const eventsSeed = `
providers: [{id: isv, name: ISV}]
corps:
  - corpid: wwev
    name: Events Corp
    members: [{userid: zhangsan, name: 张三}]
    external_contacts: [{external_userid: wmc, name: C}]
programs:
  - id: prog-recv
    provider: isv
    name: Receiver
    released: true
    deploy: {url: "%[1]s"}
    abilities: [{id: echo, input: {}, output: {}}]
apps:
  - {corpid: wwev, agentid: 1000002, type: self_built, secret: ev-secret, programs: [prog-recv]}
`

// recvProgram is a real SDK program that records the event ids it gets and
// answers 503 while it is "down".
type recvProgram struct {
	down  atomic.Bool
	retry atomic.Bool // answer the next call with ww-retry-notify
	mu    sync.Mutex
	seen  map[string]int    // event id → deliveries
	types map[string]string // event id → its JSON
	order []string          // event ids in the order they were first taken

	// The first event the program gets is refused this many times (its
	// handler fails); -1: always (a poison event).
	firstFails int
	first      string
	tries      map[string]int
}

func (p *recvProgram) count() (distinct, total int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, n := range p.seen {
		distinct++
		total += n
	}
	return
}

// recvZone starts a zone whose prog-recv is a recvProgram, with the app's
// public key and receiving program set.
func recvZone(t *testing.T, db string, configure ...func(*testenv.Options)) (*testenv.Zone, *recvProgram) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	opts := testenv.Options{
		Seed:         fmt.Sprintf(eventsSeed, "http://"+ln.Addr().String()),
		RetryBackoff: func(int) time.Duration { return 200 * time.Millisecond },
		DB:           db,
	}
	for _, c := range configure {
		c(&opts)
	}
	z := testenv.Start(t, opts)
	sec, err := z.Store().ProgramSecretGet(context.Background(), "prog-recv")
	if err != nil {
		t.Fatal(err)
	}
	secret := zonewire.Secret{Ver: sec.Ver}
	copy(secret.Key[:], sec.Key)
	prog, err := zonesdk.New(zonesdk.Config{ProgramID: "prog-recv", Secret: secret})
	if err != nil {
		t.Fatal(err)
	}
	rp := &recvProgram{seen: map[string]int{}, types: map[string]string{}, tries: map[string]int{}}
	prog.HandleEvent(func(ctx context.Context, req *zonesdk.Request) error {
		if req.EventID == "" {
			return fmt.Errorf("event %q without an id", req.Data)
		}
		rp.mu.Lock()
		defer rp.mu.Unlock()
		if rp.first == "" {
			rp.first = req.EventID
		}
		rp.tries[req.EventID]++
		if req.EventID == rp.first && (rp.firstFails < 0 || rp.tries[req.EventID] <= rp.firstFails) {
			return fmt.Errorf("event %s refused (try %d)", req.EventID, rp.tries[req.EventID])
		}
		if rp.seen[req.EventID]++; rp.seen[req.EventID] == 1 {
			rp.order = append(rp.order, req.EventID)
		}
		rp.types[req.EventID] = req.Data
		return nil
	})
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if rp.down.Load() {
			http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
			return
		}
		if rp.retry.CompareAndSwap(true, false) {
			w.Header().Set("ww-retry-notify", "1") // a sealed reply that asks to be called again
		}
		prog.ServeHTTP(w, r)
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })

	tok := z.Token("wwev", "ev-secret")
	receiveEvents(t, z, tok, "prog-recv")
	return z, rp
}

// receiveEvents makes the app of tok archive (a public key) and receive its
// events through program.
func receiveEvents(t *testing.T, z *testenv.Zone, tok, program string) {
	t.Helper()
	_, pub := rsaKey(t)
	for _, call := range []struct {
		path string
		body map[string]any
	}{
		{"set_public_key", map[string]any{"public_key": pub, "public_key_ver": 1}},
		{"set_receive_callback", map[string]any{"program_id": program}},
	} {
		if r := z.PostApp("/cgi-bin/chatdata/"+call.path, tok, call.body); testenv.Errcode(r) != 0 {
			t.Fatalf("%s: %s", call.path, testenv.Describe(r))
		}
	}
}

// TestEventRetryNotify: a program that answers an event with WeCom's
// retry-notify header (get_retry_notify_header) gets it again.
func TestEventRetryNotify(t *testing.T) {
	z, rp := recvZone(t, "")
	rp.retry.Store(true)
	msg := `{"sender":{"type":1,"id":"zhangsan"},"receiver_list":[{"type":2,"id":"wmc"}],"msgtype":1,"text":{"content":"again"}}`
	var out map[string]any
	if st := z.Admin("POST", "/admin/v1/corps/wwev/messages", strings.NewReader(msg), &out); st != 200 {
		t.Fatalf("ingest: HTTP %d %v", st, out)
	}
	testenv.Eventually(t, "the event delivered a second time", func() bool {
		distinct, total := rp.count()
		return distinct == 1 && total == 2
	})
}

// TestEventsSurviveOutageAndRestart: events raised while the program is
// down are all delivered once it is back, and a zone restart in the middle
// loses none.
func TestEventsSurviveOutageAndRestart(t *testing.T) {
	testenv.Stores(t, testEventsSurviveOutageAndRestart)
}

func testEventsSurviveOutageAndRestart(t *testing.T, db string) {
	z, rp := recvZone(t, db)
	send := func(i int) {
		msg := fmt.Sprintf(`{"sender":{"type":1,"id":"zhangsan"},"receiver_list":[{"type":2,"id":"wmc"}],"msgtype":1,"text":{"content":"m%d"}}`, i)
		var out map[string]any
		if st := z.Admin("POST", "/admin/v1/corps/wwev/messages", strings.NewReader(msg), &out); st != 200 {
			t.Fatalf("ingest %d: HTTP %d %v", i, st, out)
		}
	}

	rp.down.Store(true)
	for i := 0; i < 3; i++ {
		send(i)
	}
	events := func() []openzone.Event {
		var out struct {
			Events []openzone.Event `json:"events"`
		}
		z.Admin("GET", "/admin/v1/events?program_id=prog-recv", nil, &out)
		return out.Events
	}
	// The first event fails; the later ones wait for it, without attempts
	// (a program's events for a corp arrive in order).
	testenv.Eventually(t, "failed attempts while the program is down", func() bool {
		evs := events() // newest first
		if len(evs) != 3 {
			return false
		}
		first := evs[2]
		if first.Attempts < 1 || first.State != openzone.EventPending || !strings.Contains(first.LastError, "710676") {
			return false
		}
		for _, e := range evs[:2] {
			if e.Attempts != 0 || e.State != openzone.EventPending || e.LastError != "held: waiting for earlier event "+first.ID {
				return false
			}
		}
		return true
	})

	// The zone restarts with the events still pending; two more arrive.
	z.Restart()
	for i := 3; i < 5; i++ {
		send(i)
	}
	if d, _ := rp.count(); d != 0 {
		t.Fatalf("%d events got through while the program was down", d)
	}
	rp.down.Store(false)
	testenv.Eventually(t, "every event delivered after the outage", func() bool {
		d, _ := rp.count()
		return d == 5
	})
	testenv.Eventually(t, "all events marked delivered", func() bool {
		for _, e := range events() {
			if e.State != openzone.EventDelivered {
				return false
			}
		}
		return true
	})
	if d, total := rp.count(); d != 5 || total != 5 {
		t.Fatalf("deliveries: %d distinct, %d in all; want each of the 5 once", d, total)
	}
}

// TestArchiveRetention: a corp's messages are pruned after its retention.
func TestArchiveRetention(t *testing.T) {
	z := testenv.Start(t, testenv.Options{Seed: `
corps:
  - corpid: wwshort
    retention_days: 30
    members: [{userid: u1, name: U}]
    external_contacts: [{external_userid: wm1, name: C}]
    messages: [{msgid: keep-or-not, from: u1, to: [wm1], text: hello}]
  - corpid: wwlong
    members: [{userid: u1, name: U}]
    external_contacts: [{external_userid: wm1, name: C}]
    messages: [{msgid: kept, from: u1, to: [wm1], text: hello}]
`})
	ctx := context.Background()
	z.Clock.Advance(31 * 24 * time.Hour)
	z.Prune(ctx)
	if _, err := z.Store().MessageGet(ctx, "wwshort", "keep-or-not"); !openzone.IsNotFound(err) {
		t.Fatalf("message past a 30-day retention: %v, want pruned", err)
	}
	if _, err := z.Store().MessageGet(ctx, "wwlong", "kept"); err != nil {
		t.Fatalf("message within the default 90 days: %v", err)
	}
	z.Clock.Advance(60 * 24 * time.Hour)
	z.Prune(ctx)
	if _, err := z.Store().MessageGet(ctx, "wwlong", "kept"); !openzone.IsNotFound(err) {
		t.Fatalf("message past 90 days: %v, want pruned", err)
	}
}

// TestAuditApprovedEvent: a consent raises chat_archive_audit_approved_single.
func TestAuditApprovedEvent(t *testing.T) { testenv.Stores(t, testAuditApprovedEvent) }

func testAuditApprovedEvent(t *testing.T, db string) {
	z, rp := recvZone(t, db)
	var out map[string]any
	if st := z.Admin("POST", "/admin/v1/corps/wwev/agree", strings.NewReader(`{"userid":"zhangsan","external_userid":"wmc","agree_status":"Agree"}`), &out); st != 200 {
		t.Fatalf("agree: HTTP %d %v", st, out)
	}
	testenv.Eventually(t, "the approval event", func() bool {
		rp.mu.Lock()
		defer rp.mu.Unlock()
		for _, data := range rp.types {
			var ev struct {
				EventType string `json:"event_type"`
				Approved  struct {
					UserID         string `json:"userid"`
					ExternalUserID string `json:"external_userid"`
				} `json:"chat_archive_audit_approved"`
			}
			json.Unmarshal([]byte(data), &ev)
			if ev.EventType == "chat_archive_audit_approved_single" && ev.Approved.UserID == "zhangsan" && ev.Approved.ExternalUserID == "wmc" {
				return true
			}
		}
		return false
	})
	if st := z.Admin("POST", "/admin/v1/corps/wwev/agree", strings.NewReader(`{"userid":"nobody","external_userid":"wmc","agree_status":"Agree"}`), &out); st != 400 {
		t.Fatalf("agree for an unknown member: HTTP %d %v", st, out)
	}
}
