package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/openzone/openzone/internal/debugmode"
	"github.com/openzone/openzone/internal/listener/forward"
)

func init() {
	register(&command{
		name:  "debug listen",
		args:  "PROGRAM --forward-to URL [--debug-token TOKEN] [--force] [--json]",
		short: "receive the program's debug traffic here, without a public server, and forward it to URL",
		run:   runDebugListen,
	})
}

// runDebugListen dials the zone and forwards the program's debug traffic
// to the local program until interrupted. Request lines go to stdout (one
// JSON object each with --json); state changes go to stderr.
func runDebugListen(e *env, args []string) error {
	var r remote
	fs := newFlags(e, "debug listen")
	r.flags(fs)
	forwardTo := fs.String("forward-to", "", "URL of the local program, used verbatim (required), e.g. http://127.0.0.1:8080/")
	debugToken := fs.String("debug-token", os.Getenv("OPENZONE_DEBUG_TOKEN"), "the program's debug credential (调试凭证) (OPENZONE_DEBUG_TOKEN; default: fetched with the admin token)")
	force := fs.Bool("force", false, "take the program over from a listener that is connected (else this one is refused while that one lives)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("want exactly one PROGRAM")
	}
	if *forwardTo == "" {
		return usagef("--forward-to is required: the URL your program listens on, e.g. http://127.0.0.1:8080/")
	}
	program := pos[0]
	adminToken, err := r.adminToken()
	if err != nil {
		return err
	}
	dt := strings.TrimSpace(*debugToken)
	if dt == "" {
		var out struct {
			DebugToken string `json:"debug_token"`
		}
		if err := r.admin("POST", "/admin/v1/programs/"+url.PathEscape(program)+"/debug/token", nil, nil, "", &out); err != nil {
			return err
		}
		dt = out.DebugToken
	}

	p := &listenPrinter{e: e, json: r.json, program: program, forwardTo: *forwardTo, zone: r.zone}
	f, err := forward.New(forward.Config{
		ZoneURL: r.zone, ProgramID: program, AdminToken: adminToken, DebugToken: dt, ForwardTo: *forwardTo,
		OnEvent: p.print, Force: *force,
	})
	if err != nil {
		return usagef("%v", err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := f.Run(ctx); err != nil {
		var he *forward.HandshakeError
		if errors.As(err, &he) { // say which credential, masked
			return fmt.Errorf("%v (debug credential %s)", err, debugmode.MaskToken(dt))
		}
		return err
	}
	fmt.Fprintln(e.stderr, "listener stopped; the zone holds events for", program, "until it returns")
	return nil
}

// listenPrinter writes the forwarder's events: one line per request, like
// `stripe listen`.
type listenPrinter struct {
	e                        *env
	json                     bool
	program, forwardTo, zone string
	mu                       sync.Mutex
}

func (p *listenPrinter) print(ev forward.Event) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.json {
		b, _ := json.Marshal(ev)
		fmt.Fprintln(p.e.stdout, string(b))
	}
	ts := ev.Time.Local().Format("2006-01-02 15:04:05")
	switch ev.Type {
	case "connected":
		fmt.Fprintf(p.e.stderr, "%s  Ready: listening for %s on %s, forwarding to %s (%s; Ctrl-C to quit)\n", ts, p.program, p.zone, p.forwardTo, ev.ListenerID)
		if ev.HeldCount > 0 {
			fmt.Fprintf(p.e.stderr, "%s  %d delivery(ies) (events, async calls) held while no listener was connected: delivering them in order\n", ts, ev.HeldCount)
		}
	case "lost":
		fmt.Fprintf(p.e.stderr, "%s  listener lost: %s\n", ts, ev.Error)
	case "retry":
		msg := ""
		if ev.Error != "" {
			msg = " (" + ev.Error + ")"
		}
		fmt.Fprintf(p.e.stderr, "%s  reconnecting in %s%s; sync calls fail with 710674 meanwhile, events wait\n", ts, ev.Wait.Round(10*time.Millisecond), msg)
	case "request":
		if p.json {
			return
		}
		status := fmt.Sprint(ev.Status)
		switch {
		case ev.Error != "":
			status = "ERR " + ev.Error
		case ev.Exception != "":
			status += " ww-exception " + ev.Exception
		}
		label := ev.Label
		if label == "" {
			label = "-"
		}
		held := ""
		if ev.Held {
			held = "  (held " + ev.HeldFor + ")"
		}
		fmt.Fprintf(p.e.stdout, "%s  %-5s  %-28s  %s  %.1f ms%s\n", ts, ev.Kind, label, status, ev.LatencyMS, held)
	}
}
