package cli

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/openzone/openzone/internal/listener/forward"
)

func TestListenPrinter(t *testing.T) {
	at := time.Date(2026, 11, 27, 10, 0, 4, 0, time.Local)
	tests := []struct {
		name       string
		json       bool
		ev         forward.Event
		wantOut    string
		wantStderr string
	}{
		{"Call", false, forward.Event{Time: at, Type: "request", Kind: "call", Label: "echo", Status: 200, LatencyMS: 1.25},
			"2026-11-27 10:00:04  call   echo                          200  1.2 ms\n", ""},
		{"HeldEvent", false, forward.Event{Time: at, Type: "request", Kind: "event", Label: "conversation_new_message", Status: 200,
			LatencyMS: 6.8, Held: true, HeldFor: "42s"},
			"2026-11-27 10:00:04  event  conversation_new_message      200  6.8 ms  (held 42s)\n", ""},
		{"Exception", false, forward.Event{Time: at, Type: "request", Kind: "call", Label: "echo", Status: 200, Exception: "-10008", LatencyMS: 0.5},
			"2026-11-27 10:00:04  call   echo                          200 ww-exception -10008  0.5 ms\n", ""},
		{"ProgramDown", false, forward.Event{Time: at, Type: "request", Kind: "probe", Error: "connection refused", LatencyMS: 0.3},
			"2026-11-27 10:00:04  probe  -                             ERR connection refused  0.3 ms\n", ""},
		{"Connected", false, forward.Event{Time: at, Type: "connected", ListenerID: "lst_1", HeldCount: 2}, "",
			"Ready: listening for prog on http://zone, forwarding to http://local/ (lst_1; Ctrl-C to quit)\n2026-11-27 10:00:04  2 delivery(ies)"},
		{"Lost", false, forward.Event{Time: at, Type: "lost", Error: "dead peer"}, "", "listener lost: dead peer\n"},
		{"Retry", false, forward.Event{Time: at, Type: "retry", Wait: 1500 * time.Millisecond}, "", "reconnecting in 1.5s; sync calls fail with 710674 meanwhile, events wait\n"},
		{"JSONRequest", true, forward.Event{Time: at.UTC(), Type: "request", Kind: "async", Label: "echo", Status: 200, LatencyMS: 2},
			`{"time":"2026-11-27T` + at.UTC().Format("15:04:05") + `Z","type":"request","kind":"async","ability":"echo","status":200,"latency_ms":2}` + "\n", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			p := &listenPrinter{e: &env{stdout: &out, stderr: &errb}, json: tc.json, program: "prog", forwardTo: "http://local/", zone: "http://zone"}
			p.print(tc.ev)
			if out.String() != tc.wantOut {
				t.Errorf("stdout = %q, want %q", out.String(), tc.wantOut)
			}
			if !strings.Contains(errb.String(), tc.wantStderr) {
				t.Errorf("stderr = %q, want it to hold %q", errb.String(), tc.wantStderr)
			}
		})
	}
}
