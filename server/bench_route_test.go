package server_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/openzone/openzone/internal/bench"
	"github.com/openzone/openzone/internal/testenv"
)

// routeSeed is bench.RouteSeed: the example program deployed as one
// instance, app 1000002 to debug it (its calls go to a second, local copy
// of the same program) and app 1000003 not (its calls go to the deployed
// instance).
var routeSeed = strings.NewReplacer("{{PROGRAM}}", "{{EXAMPLE}}").Replace(bench.RouteSeed)

// BenchmarkRoute measures the same sync call on the deployed route (zone →
// supervised instance), the debug route (zone → receiver URL, sealed with a
// debug secret) and the debug route through a debug listener (zone →
// WebSocket → `openzone debug listen` → the same local program), in one
// run. All targets are the example program on loopback.
func BenchmarkRoute(b *testing.B) {
	z := testenv.Start(b, testenv.Options{Seed: routeSeed})
	testenv.Eventually(b, "the deployed instance to be healthy", func() bool {
		in := z.Supervisor().Instances("prog-echo")
		return len(in) == 1 && in[0].State == "healthy"
	})
	debugTok := z.Token("wwbench", "debug-secret")
	deployedTok := z.Token("wwbench", "deployed-secret")
	dt, _ := debugToken(b, z, "prog-echo")
	port := freePort(b)
	setReceiver(b, z, "prog-echo", fmt.Sprintf("http://127.0.0.1:%d/", port))
	if r := z.PostApp("/cgi-bin/chatdata/open_debug_mode", debugTok, map[string]any{"program_id": "prog-echo", "debug_token": dt}); testenv.Errcode(r) != 0 {
		b.Fatalf("open_debug_mode: %s", testenv.Describe(r))
	}
	cmd := exec.Command(testenv.Example(b), "--addr", fmt.Sprintf("127.0.0.1:%d", port), "--name", "bench",
		"--api", z.URL, "--debug-token", dt, "--access-token", debugTok)
	cmd.Env = append(os.Environ(), "OPENZONE_PROGRAM_ID=prog-echo", "OPENZONE_SECRET=")
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	testenv.Eventually(b, "debug mode on", func() bool { return checkDebug(b, z, debugTok, "prog-echo") == 2 })

	hc := bench.NewClient()
	b.Cleanup(hc.CloseIdleConnections)
	run := func(name, tok string) {
		call := bench.SyncCaller(hc, z.URL, tok, "prog-echo")
		b.Run(name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				if err := call(context.Background()); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	run("deployed", deployedTok)
	run("debug", debugTok)

	// The same debug calls through `openzone debug listen` (zone →
	// WebSocket → CLI → the same local program) in place of the URL.
	lc := exec.Command(testenv.CLI(b), "debug", "listen", "prog-echo", "--zone", z.URL, "--admin-token", z.AdminToken(),
		"--debug-token", dt, "--forward-to", fmt.Sprintf("http://127.0.0.1:%d/", port), "--json")
	var lout logBuffer
	lc.Stdout, lc.Stderr = &lout, &lout
	if err := lc.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { lc.Process.Kill(); lc.Wait() })
	testenv.Eventually(b, "the listener to connect", func() bool { return strings.Contains(lout.String(), `"type":"connected"`) })
	run("listener", debugTok)
}
