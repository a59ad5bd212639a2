package listener_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openzone/openzone"
	"github.com/openzone/openzone/internal/listener"
	"github.com/openzone/openzone/internal/listener/forward"
	"github.com/openzone/openzone/internal/listener/frame"
	"github.com/openzone/openzone/internal/store/sqlite"

	"github.com/coder/websocket"
)

// setup runs a Hub behind a real HTTP server and a Forwarder dialing it,
// forwarding to local. It returns the program's connection once up.
func setup(t *testing.T, local http.Handler, timeout time.Duration) (*listener.Hub, *listener.Conn, *sqlite.DB) {
	t.Helper()
	ctx := t.Context()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "zone.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.ProviderUpsert(ctx, &openzone.Provider{ID: "isv"}); err != nil {
		t.Fatal(err)
	}
	if err := st.ProgramUpsert(ctx, &openzone.Program{ID: "prog", ProviderID: "isv", Kind: openzone.KindProgram}); err != nil {
		t.Fatal(err)
	}
	hub := listener.NewHub(listener.HubConfig{Store: st, Logger: slog.New(slog.DiscardHandler), Node: "n1", CallTimeout: timeout})
	zone := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hub.Serve(w, r, "prog", nil) }))
	t.Cleanup(func() { hub.Close(); zone.Close() })

	target := "http://127.0.0.1:1/" // nothing listens on port 1
	if local != nil {
		srv := httptest.NewServer(local)
		t.Cleanup(srv.Close)
		target = srv.URL + "/"
	}
	f, err := forward.New(forward.Config{ZoneURL: zone.URL, ProgramID: "prog", AdminToken: "a", DebugToken: "d",
		ForwardTo: target, OnEvent: func(forward.Event) {}})
	if err != nil {
		t.Fatal(err)
	}
	fctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); f.Run(fctx) }()
	t.Cleanup(func() { cancel(); <-done })
	deadline := time.Now().Add(5 * time.Second)
	for hub.Get("prog") == nil || !hub.Get("prog").Ready() {
		if time.Now().After(deadline) {
			t.Fatal("the forwarder did not connect")
		}
		time.Sleep(10 * time.Millisecond)
	}
	return hub, hub.Get("prog"), st
}

func TestConn_RoundTrip(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		local      http.Handler
		wantStatus int
		wantHeader string
		wantBody   string
		wantKind   string
	}{
		{"OK", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			b, _ := io.ReadAll(r.Body)
			w.Header()["ww-request-id"] = []string{r.Header.Get("ww-request-id")}
			w.Write(append([]byte("sealed:"), b...))
		}), 200, "rid-1", "sealed:payload", ""},
		{"Exception", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header()["ww-exception"] = []string{"-10008"}
		}), 200, "", "", ""},
		{"Status", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "boom", http.StatusInternalServerError)
		}), 500, "", "boom\n", ""},
		{"Timeout", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.ReadAll(r.Body) // so the server notices the client give up
			select {
			case <-r.Context().Done():
			case <-time.After(5 * time.Second):
			}
		}), 0, "", "", frame.ErrKindTimeout},
		{"Refused", nil, 0, "", "", frame.ErrKindConnect},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, c, _ := setup(t, tc.local, 300*time.Millisecond)
			ans, err := c.RoundTrip(t.Context(), &frame.Message{Kind: frame.KindCall,
				Header: map[string]string{"ww-request-id": "rid-1"}, Body: []byte("payload")})
			if err != nil {
				t.Fatalf("RoundTrip: %v", err)
			}
			if ans.ErrorKind != tc.wantKind || ans.Status != tc.wantStatus || string(ans.Body) != tc.wantBody {
				t.Fatalf("answer = status %d kind %q body %q (err %q), want %d %q %q", ans.Status, ans.ErrorKind, ans.Body, ans.Error,
					tc.wantStatus, tc.wantKind, tc.wantBody)
			}
			if got := ans.Header["ww-request-id"]; got != tc.wantHeader {
				t.Errorf("ww-request-id = %q, want %q", got, tc.wantHeader)
			}
			if tc.name == "Exception" && ans.Header["ww-exception"] != "-10008" {
				t.Errorf("ww-exception = %q", ans.Header["ww-exception"])
			}
		})
	}
}

// Concurrent requests share the connection and each gets its own answer,
// whatever order they finish in.
func TestConn_Multiplex(t *testing.T) {
	t.Parallel()
	_, c, _ := setup(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var n int
		fmt.Sscanf(string(b), "%d", &n)
		time.Sleep(time.Duration(20-n) * time.Millisecond) // later requests answer first
		w.Write(b)
	}), 5*time.Second)
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ans, err := c.RoundTrip(t.Context(), &frame.Message{Body: []byte(fmt.Sprint(i))})
			if err != nil || string(ans.Body) != fmt.Sprint(i) {
				t.Errorf("request %d: %v %q", i, err, ans.Body)
			}
		}()
	}
	wg.Wait()
}

// A connection that ends fails its waiting requests with ErrLost and is
// recorded as lost; a newer connection replaces an older one.
func TestHub_Lost(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	hub, c, st := setup(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-release }), 5*time.Second)
	defer close(release)
	errc := make(chan error, 1)
	go func() {
		_, err := c.RoundTrip(context.Background(), &frame.Message{})
		errc <- err
	}()
	time.Sleep(50 * time.Millisecond)
	hub.Close()
	if err := <-errc; !errors.Is(err, listener.ErrLost) {
		t.Fatalf("RoundTrip after Close = %v, want ErrLost", err)
	}
	dp, err := st.DebugProgramGet(t.Context(), "prog")
	if err != nil {
		t.Fatal(err)
	}
	if dp.Listener.State != openzone.ListenerLost || dp.Listener.ID != c.ID || !strings.Contains(dp.Listener.Reason, "shutting down") {
		t.Fatalf("stored listener = %+v", dp.Listener)
	}
	if _, err := c.RoundTrip(context.Background(), &frame.Message{}); !errors.Is(err, listener.ErrClosed) {
		t.Fatalf("RoundTrip on a closed connection = %v, want ErrClosed", err)
	}
	if hub.Get("prog") != nil {
		t.Fatal("the hub still holds the closed connection")
	}
}

func TestNewForwarder_Errors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, zone, forward, want string
	}{
		{"ZoneNotURL", "127.0.0.1:8780", "http://127.0.0.1:8080/", "--zone"},
		{"ForwardNoScheme", "http://127.0.0.1:8780", "127.0.0.1:8080", "--forward-to"},
		{"ForwardFTP", "http://127.0.0.1:8780", "ftp://127.0.0.1/", "--forward-to"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := forward.New(forward.Config{ZoneURL: tc.zone, ForwardTo: tc.forward, ProgramID: "p"})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one naming %s", err, tc.want)
			}
		})
	}
}

// A refused first connection ends Run at once with a clear error.
func TestForwarder_RunRefused(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	f, err := forward.New(forward.Config{ZoneURL: "http://" + addr, ProgramID: "p",
		ForwardTo: "http://127.0.0.1:1/", OnEvent: func(forward.Event) {}})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Run(t.Context()); err == nil || !strings.Contains(err.Error(), "cannot reach the zone") {
		t.Fatalf("Run = %v", err)
	}
}

// A connection that drops at once does not reset the reconnect backoff:
// the waits grow (two listeners taking a program from each other used to
// reconnect every 0.5 s forever).
func TestForwarder_BackoffGrowsOnQuickLoss(t *testing.T) {
	t.Parallel()
	zone := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		ws.Write(r.Context(), websocket.MessageText, []byte(`{"type":"hello","listener_id":"lst_x","program_id":"prog"}`))
		ws.Close(websocket.StatusGoingAway, "flaky")
	}))
	t.Cleanup(zone.Close)
	var mu sync.Mutex
	var waits []time.Duration
	f, err := forward.New(forward.Config{ZoneURL: zone.URL, ProgramID: "prog", ForwardTo: "http://127.0.0.1:1/",
		OnEvent: func(e forward.Event) {
			if e.Type == "retry" {
				mu.Lock()
				waits = append(waits, e.Wait)
				mu.Unlock()
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	go f.Run(ctx)
	for {
		mu.Lock()
		n := len(waits)
		got := append([]time.Duration(nil), waits...)
		mu.Unlock()
		if n >= 3 {
			// Each wait is twice the last, ±20 %: at least 1.6× the last,
			// so the third is at least 0.4 s × 1.6² ≈ 1 s.
			if !(got[0] < got[1] && got[1] < got[2]) || got[2] < time.Second {
				t.Fatalf("reconnect waits %v: want growing (each about twice the last)", got)
			}
			return
		}
		if ctx.Err() != nil {
			t.Fatalf("only %d retries in 10 s: %v", n, got)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
