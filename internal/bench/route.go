package bench

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/openzone/openzone/internal/freeport"
)

// RouteSeed has the example program ({{PROGRAM}}) deployed as one
// instance and two apps: app 1000002 debugs it (its calls go to a second,
// local copy of the example program on the receiver URL), app 1000003
// does not (its calls go to the deployed instance).
const RouteSeed = `
providers: [{id: isv, name: Bench ISV}]
corps: [{corpid: wwbench, name: Bench Corp}]
programs:
  - id: prog-echo
    provider: isv
    name: Echo
    deploy: {command: ["{{PROGRAM}}", --name, bench], instances: 1}
    abilities:
      - {id: echo, input: {"text": ""}, output: {"text": "", "served_by": ""}}
apps:
  - {corpid: wwbench, agentid: 1000002, type: self_built, secret: debug-secret, programs: [prog-echo]}
  - {corpid: wwbench, agentid: 1000003, type: self_built, secret: deployed-secret, programs: [prog-echo]}
`

var routeConcurrency = []int{1, 16}

// runRoute measures the same sync call on the debug route (zone →
// receiver URL, sealed with a debug secret) and on the deployed route
// (zone → supervised instance). Debug mode is opened as a developer
// would: a debug credential and receiver URL through the admin API, the
// app's open_debug_mode, and the example program started locally with
// --debug-token and --access-token (the SDK's OpenDebugMode).
func runRoute(ctx context.Context, r *runner) (*Section, error) {
	d, warm, rounds := pick(r, 3*time.Second, 150*time.Millisecond), pick(r, 300*time.Millisecond, 30*time.Millisecond), pick(r, 6, 2)
	prog, err := r.build(ctx, pkgProgram)
	if err != nil {
		return nil, err
	}
	z, stop, err := r.startZone(ctx, "route", seedFor(RouteSeed, prog, 1))
	if err != nil {
		return nil, err
	}
	defer stop()
	if err := z.waitHealthy(ctx, "prog-echo", 1); err != nil {
		return nil, err
	}
	debugTok, err := z.token(ctx, "wwbench", "debug-secret")
	if err != nil {
		return nil, err
	}
	deployedTok, err := z.token(ctx, "wwbench", "deployed-secret")
	if err != nil {
		return nil, err
	}
	dbg, err := openDebug(ctx, r, z, prog, "prog-echo", debugTok)
	if err != nil {
		return nil, err
	}
	defer dbg.local.stop()

	sec := &Section{Settings: fmt.Sprintf("closed loop, %s per point in %d interleaved rounds, after %s warm-up; concurrency %v; every route ends at the example program", d, rounds, warm, routeConcurrency)}
	deployed := Variant{"deployed", func(hc *http.Client) CallFunc { return SyncCaller(hc, z.url, deployedTok, "prog-echo") }}
	variants := []Variant{deployed, {"debug", func(hc *http.Client) CallFunc { return SyncCaller(hc, z.url, debugTok, "prog-echo") }}}
	if err := r.measure(ctx, sec, routeConcurrency, rounds, warm, d, variants); err != nil {
		return nil, err
	}
	for _, conc := range routeConcurrency {
		dp, bp := find(sec.Points, "deployed", conc), find(sec.Points, "debug", conc)
		sec.Targets = append(sec.Targets, target(fmt.Sprintf("debug/deployed p50, c=%d", conc), ratio(bp.P50ms, dp.P50ms), "<=", 1.05, "x"))
	}

	// The same debug calls through `openzone debug listen` (zone →
	// WebSocket → the CLI → the same local program) in place of the
	// receiver URL. While it is connected every debug call takes it, so it
	// runs as a second phase, interleaved with the deployed route again.
	zoneBin, err := r.build(ctx, pkgZone)
	if err != nil {
		return nil, err
	}
	lst, err := r.startLogging(ctx, "debug-listen", zoneBin, []string{"debug", "listen", "prog-echo", "--zone", z.url,
		"--admin-token", benchAdminToken, "--debug-token", dbg.token, "--forward-to", "http://" + dbg.addr + "/", "--json"}, nil)
	if err != nil {
		return nil, err
	}
	defer lst.stop()
	if err := eventually(ctx, 30*time.Second, "the debug listener to connect", func() bool {
		return strings.Contains(lst.log(), `"type":"connected"`)
	}); err != nil {
		return nil, fmt.Errorf("%w: %s", err, lst.tail())
	}
	variants[1].Name = "listener"
	if err := r.measure(ctx, sec, routeConcurrency, rounds, warm, d, variants); err != nil {
		return nil, err
	}
	if !strings.Contains(lst.log(), `"type":"request"`) {
		return nil, fmt.Errorf("the debug calls did not go through the listener: %s", lst.tail())
	}
	sec.Notes = append(sec.Notes, "listener: `openzone debug listen` forwarding to the same local program; measured after debug, beside the deployed route again (its second rows)")
	return sec, nil
}

// debugSetup is a program in debug mode: its credential and the local
// program on the receiver URL's address.
type debugSetup struct {
	token, addr string
	local       *child
}

// openDebug turns debug mode on for the app with tok and program: debug
// credential and receiver URL by the admin API, the app's half with
// open_debug_mode, the SDK's half by starting the example program bin
// locally in debug mode.
func openDebug(ctx context.Context, r *runner, z *zone, bin, program, tok string) (*debugSetup, error) {
	var dt struct {
		DebugToken string `json:"debug_token"`
	}
	if err := z.admin(ctx, "POST", "/admin/v1/programs/"+program+"/debug/token", nil, &dt); err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	if err := z.admin(ctx, "PUT", "/admin/v1/programs/"+program+"/debug/receiver", map[string]string{"url": "http://" + addr + "/"}, nil); err != nil {
		return nil, err
	}
	if err := z.app(ctx, "open_debug_mode", tok, map[string]string{"program_id": program, "debug_token": dt.DebugToken}, nil); err != nil {
		return nil, err
	}
	// The example program logs "listening" with slog, not the line
	// startChild waits for, so it is started here and waited for by
	// check_debug_mode.
	c, err := r.startLogging(ctx, "zoneprogram-debug", bin,
		[]string{"--addr", addr, "--name", "bench", "--api", z.url, "--debug-token", dt.DebugToken, "--access-token", tok},
		[]string{"OPENZONE_PROGRAM_ID=" + program, "OPENZONE_SECRET="})
	if err != nil {
		return nil, err
	}
	err = eventually(ctx, 30*time.Second, "debug mode on", func() bool {
		var out struct {
			Status int `json:"debug_mode_status"`
		}
		return z.app(ctx, "check_debug_mode", tok, map[string]string{"program_id": program}, &out) == nil && out.Status == 2
	})
	if err != nil {
		c.stop()
		return nil, fmt.Errorf("%w: %s", err, c.tail())
	}
	return &debugSetup{token: dt.DebugToken, addr: addr, local: c}, nil
}

// freePort returns a loopback port that was free a moment ago, outside
// the ephemeral range (package freeport).
func freePort() (int, error) { return freeport.Get() }
