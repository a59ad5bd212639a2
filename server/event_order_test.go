package server_test

import (
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/openzone/openzone"
	"github.com/openzone/openzone/internal/store/postgres/pgtest"
	"github.com/openzone/openzone/internal/testenv"
	"github.com/openzone/openzone/server"
)

// ingest archives one message of the events corp through z, which raises
// one event (conversation_new_message) to prog-recv.
func ingest(t *testing.T, z *testenv.Zone, text string) {
	t.Helper()
	msg := fmt.Sprintf(`{"sender":{"type":1,"id":"zhangsan"},"receiver_list":[{"type":2,"id":"wmc"}],"msgtype":1,"text":{"content":%q}}`, text)
	var out map[string]any
	if st := z.Admin("POST", "/admin/v1/corps/wwev/messages", strings.NewReader(msg), &out); st != 200 {
		t.Fatalf("ingest %q: HTTP %d %v", text, st, out)
	}
}

// recvEvents lists prog-recv's events through z's admin API, newest first.
func recvEvents(t *testing.T, z *testenv.Zone) []openzone.Event {
	t.Helper()
	var out struct {
		Events []openzone.Event `json:"events"`
	}
	if st := z.Admin("GET", "/admin/v1/events?program_id=prog-recv", nil, &out); st != 200 {
		t.Fatalf("list events: HTTP %d", st)
	}
	return out.Events
}

// eventNamed returns the event of id among evs (zero when absent).
func eventNamed(evs []openzone.Event, id string) openzone.Event {
	for _, e := range evs {
		if e.ID == id {
			return e
		}
	}
	return openzone.Event{}
}

// firstFailed waits until prog-recv's first event (A) failed a delivery
// and returns it.
func firstFailed(t *testing.T, z *testenv.Zone) openzone.Event {
	t.Helper()
	var a openzone.Event
	testenv.Eventually(t, "a failed delivery of the first event", func() bool {
		evs := recvEvents(t, z)
		if len(evs) == 1 && evs[0].Attempts >= 1 && evs[0].State == openzone.EventPending {
			a = evs[0]
			return true
		}
		return false
	})
	return a
}

// allDelivered waits until the n events of prog-recv are delivered.
func allDelivered(t *testing.T, z *testenv.Zone, n int) {
	t.Helper()
	testenv.Eventually(t, fmt.Sprintf("%d events delivered", n), func() bool {
		evs := recvEvents(t, z)
		for _, e := range evs {
			if e.State != openzone.EventDelivered {
				return false
			}
		}
		return len(evs) == n
	})
}

// checkOrder checks the program took each event once, in want's order.
func (p *recvProgram) checkOrder(t *testing.T, want ...string) {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	if !slices.Equal(p.order, want) {
		t.Fatalf("the program took events %q, want %q (archive order)", p.order, want)
	}
	for _, id := range want {
		if p.seen[id] != 1 {
			t.Fatalf("event %s taken %d times, want once", id, p.seen[id])
		}
	}
}

// refuseFirst makes the program refuse the first event it gets n times
// (-1: always).
func (p *recvProgram) refuseFirst(n int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.firstFails = n
}

// inOrder raises events through the zones in turn, the first refused
// three times by the program before the others are raised, and checks the
// program took them once each, in the order they were raised.
func inOrder(t *testing.T, rp *recvProgram, zones []*testenv.Zone, n int) {
	t.Helper()
	rp.refuseFirst(3)
	ingest(t, zones[0], "message 0")
	a := firstFailed(t, zones[len(zones)-1])
	for i := 1; i < n; i++ {
		ingest(t, zones[i%len(zones)], fmt.Sprintf("message %d", i))
	}
	allDelivered(t, zones[0], n)
	evs := recvEvents(t, zones[len(zones)-1]) // newest first
	want := []string{a.ID}
	for i := n - 2; i >= 0; i-- {
		want = append(want, evs[i].ID)
	}
	rp.checkOrder(t, want...)
	if got := eventNamed(evs, a.ID); got.Attempts != 4 || !got.SteppedAsideAt.IsZero() {
		t.Fatalf("first event: %d attempts, stepped aside at %v; want delivered at its 4th attempt, never stepped aside",
			got.Attempts, got.SteppedAsideAt)
	}
}

// TestEventOrderOnRetry: events raised after one whose delivery failed
// (and is retried) reach the program after it, not before: a program's
// events for one corp arrive in archive order.
func TestEventOrderOnRetry(t *testing.T) { testenv.Stores(t, testEventOrderOnRetry) }

func testEventOrderOnRetry(t *testing.T, db string) {
	z, rp := recvZone(t, db)
	inOrder(t, rp, []*testenv.Zone{z}, 3)
}

// TestEventOrderTwoNodes: the order holds across two zone nodes on one
// PostgreSQL database, whichever node raises or delivers each event.
func TestEventOrderTwoNodes(t *testing.T) {
	db := pgtest.URL(t)
	const key = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
	za, rp := recvZone(t, db, func(o *testenv.Options) { o.NodeName, o.ArchiveKey = "node-a", key })
	zb := testenv.Start(t, testenv.Options{DB: db, NodeName: "node-b", ArchiveKey: key,
		RetryBackoff: func(int) time.Duration { return 200 * time.Millisecond }})
	inOrder(t, rp, []*testenv.Zone{za, zb}, 5)
}

// TestEventPoisonStepsAside: an event that always fails holds its line
// back only for the hold: then it steps aside — visible in the admin API
// and the metrics — the later event is delivered, and it keeps its own
// retries.
func TestEventPoisonStepsAside(t *testing.T) { testenv.Stores(t, testEventPoisonStepsAside) }

func testEventPoisonStepsAside(t *testing.T, db string) {
	z, rp := recvZone(t, db, func(o *testenv.Options) {
		o.Configure = func(c *server.Config) { c.EventOrderHold = time.Second }
	})
	rp.refuseFirst(-1)
	ingest(t, z, "poison")
	poison := firstFailed(t, z)
	ingest(t, z, "after")
	var b openzone.Event
	testenv.Eventually(t, "the later event delivered", func() bool {
		evs := recvEvents(t, z)
		b = evs[0]
		return len(evs) == 2 && b.ID != poison.ID && b.State == openzone.EventDelivered
	})
	rp.checkOrder(t, b.ID)
	p := eventNamed(recvEvents(t, z), poison.ID)
	if p.State != openzone.EventPending || p.SteppedAsideAt.IsZero() || p.FailingSince.IsZero() ||
		!strings.Contains(p.LastError, "stepped aside") || p.SteppedAsideAt.After(b.DeliveredAt) {
		t.Fatalf("poison event: %s, failing since %v, stepped aside at %v, %q; want pending, stepped aside before %s was delivered",
			p.State, p.FailingSince, p.SteppedAsideAt, p.LastError, b.ID)
	}
	testenv.Eventually(t, "the poison event retried after stepping aside", func() bool {
		q := eventNamed(recvEvents(t, z), poison.ID)
		return q.Attempts > p.Attempts && q.State == openzone.EventPending && strings.HasPrefix(q.LastError, "stepped aside")
	})

	req, _ := http.NewRequest("GET", z.URL+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer "+z.AdminToken())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if want := `openzone_deliveries_total{kind="event",outcome="stepped_aside"} 1`; !strings.Contains(string(body), want) {
		t.Fatalf("metrics lack %s", want)
	}
}
