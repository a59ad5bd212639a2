package listener_test

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/openzone/openzone"
	"github.com/openzone/openzone/internal/listener"
)

// source is held work of one kind; delivering an item drops it, unless it
// is refused (kept, with its own retries) or finds the listener gone.
type source struct {
	mu      sync.Mutex
	items   []listener.Held
	log     *[]string
	refuse  map[string]bool
	absent  string // the key whose delivery finds no listener
	arrived []listener.Held
}

func (s *source) add(key string, at time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	h := listener.Held{Key: key, At: at}
	h.Deliver = func(context.Context) error {
		s.mu.Lock()
		defer s.mu.Unlock()
		*s.log = append(*s.log, key)
		switch {
		case key == s.absent:
			return listener.ErrAbsent
		case s.refuse[key]:
			return errors.New("refused")
		}
		for i, it := range s.items {
			if it.Key == key {
				s.items = append(s.items[:i], s.items[i+1:]...)
				break
			}
		}
		// Work raised meanwhile waits behind the gate: it is found on the
		// next read.
		s.items = append(s.items, s.arrived...)
		s.arrived = nil
		return nil
	}
	s.items = append(s.items, h)
}

func (s *source) Held(context.Context, string) ([]listener.Held, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]listener.Held(nil), s.items...), nil
}

// noSessions: no session is in debug mode, so nothing is probed.
type noSessions struct{}

func (noSessions) On(context.Context, string) ([]*openzone.DebugSession, error) { return nil, nil }

type noProbes struct{}

func (noProbes) Probe(context.Context, string, string, int64) *openzone.DebugProbe { return nil }

// TestHeldDelivery: once a listener connects, held events and async calls
// go in the order they were raised, across kinds; a refused one does not
// stop the others; a listener that goes away again stops the round.
func TestHeldDelivery(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 3, 14, 15, 9, 26, 0, time.UTC)
	var log []string
	events := &source{log: &log, refuse: map[string]bool{"event:2": true}}
	tasks := &source{log: &log}
	events.add("event:1", t0)
	tasks.add("task:1", t0.Add(time.Second))
	events.add("event:2", t0.Add(2*time.Second))
	tasks.add("task:2", t0.Add(3*time.Second))
	// Raised while event:1 is delivered: it goes last.
	events.arrived = []listener.Held{{Key: "event:3", At: t0.Add(4 * time.Second),
		Deliver: func(context.Context) error { log = append(log, "event:3"); return nil }}}

	svc := listener.NewService(listener.Config{Prober: noProbes{}, Sessions: noSessions{},
		Held: []listener.HeldSource{events, tasks}, Logger: slog.New(slog.DiscardHandler)})
	defer svc.Close()
	if n, err := svc.HeldCount(t.Context(), "prog"); err != nil || n != 4 {
		t.Fatalf("held count %d, %v", n, err)
	}
	svc.Connected(t.Context(), "prog")
	want := []string{"event:1", "task:1", "event:2", "task:2", "event:3"}
	if len(log) != len(want) {
		t.Fatalf("delivered %v, want %v", log, want)
	}
	for i := range want {
		if log[i] != want[i] {
			t.Fatalf("delivered %v, want %v", log, want)
		}
	}

	log = nil
	gone := &source{log: &log, absent: "task:9"}
	gone.add("task:9", t0)
	gone.add("task:10", t0.Add(time.Second))
	svc2 := listener.NewService(listener.Config{Prober: noProbes{}, Sessions: noSessions{},
		Held: []listener.HeldSource{gone}, Logger: slog.New(slog.DiscardHandler)})
	defer svc2.Close()
	svc2.Connected(t.Context(), "prog")
	if len(log) != 1 || log[0] != "task:9" {
		t.Fatalf("delivered %v after the listener went away, want only task:9", log)
	}
}
