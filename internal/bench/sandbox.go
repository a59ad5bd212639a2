package bench

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/openzone/openzone/internal/sandbox"
	"github.com/openzone/openzone/internal/supervisor"
)

// SandboxSeed deploys the example program three times, one instance each:
// in a sandbox with the default limits (no CPU limit), in a sandbox with a
// CPU limit of every CPU ({{CPUS}}, which it cannot exceed anyway: what
// remains is the cost of CFS bandwidth control), and as a plain process.
const SandboxSeed = `
providers:
  - {id: isv, name: Bench ISV}
corps:
  - {corpid: wwbench, name: Bench Corp}
programs:
  - id: prog-sbx
    provider: isv
    name: Echo, sandboxed
    deploy: {command: ["{{PROGRAM}}", --name, bench], instances: 1}
    abilities: [{id: echo, input: {"text": ""}, output: {"text": "", "served_by": ""}}]
  - id: prog-sbx-cpus
    provider: isv
    name: Echo, sandboxed with a CPU limit
    deploy: {command: ["{{PROGRAM}}", --name, bench], instances: 1, limits: {cpus: {{CPUS}}}}
    abilities: [{id: echo, input: {"text": ""}, output: {"text": "", "served_by": ""}}]
  - id: prog-plain
    provider: isv
    name: Echo, plain process
    deploy: {command: ["{{PROGRAM}}", --name, bench], instances: 1, isolation: "off"}
    abilities: [{id: echo, input: {"text": ""}, output: {"text": "", "served_by": ""}}]
apps:
  - {corpid: wwbench, agentid: 1000002, type: self_built, secret: bench-secret, programs: [prog-sbx, prog-sbx-cpus, prog-plain]}
`

// Concurrencies of the sandbox section (the target is at 16).
var sandboxConcurrency = []int{1, 16}

// runSandbox measures what a sandbox costs: the same sync call to the
// example program in a sandbox and as a plain process, through one zone
// (the bridge: the instance's socket handed to the zone, the program API's
// listening socket served by it) — the target — and with a CPU limit
// (informational); and how long an instance takes from deploy to
// accepting connections, plain, sandboxed, and as an image run by the OCI
// runtime.
func runSandbox(ctx context.Context, r *runner) (*Section, error) {
	d, warm, rounds := pick(r, 3*time.Second, 150*time.Millisecond), pick(r, 300*time.Millisecond, 30*time.Millisecond), pick(r, 6, 2)
	starts := pick(r, 15, 2)
	prog, err := r.build(ctx, pkgProgram)
	if err != nil {
		return nil, err
	}
	seed := strings.ReplaceAll(seedFor(SandboxSeed, prog, 1), "{{CPUS}}", strconv.Itoa(goruntime.NumCPU()))
	z, stop, err := r.startZone(ctx, "sandbox", seed)
	if err != nil {
		return nil, err
	}
	defer stop()
	sup := z.srv.Sandbox().Probe()
	sec := &Section{Settings: fmt.Sprintf("closed loop, %s per point in %d interleaved rounds, after %s warm-up; concurrency %v; one example program instance each; start: %d deploys each, deploy to first accepted connection",
		d, rounds, warm, sandboxConcurrency, starts)}
	if !sup.Sandbox {
		sec.Notes = append(sec.Notes, "isolation off on this host, nothing to compare: "+sup.Reason)
		return sec, nil
	}
	sec.Notes = append(sec.Notes, "limits: "+sup.Limits, "images: "+sup.Runtime, "users: "+sup.UID)
	for _, p := range []string{"prog-sbx", "prog-sbx-cpus", "prog-plain"} {
		if err := z.waitHealthy(ctx, p, 1); err != nil {
			return nil, err
		}
	}
	tok, err := z.token(ctx, "wwbench", "bench-secret")
	if err != nil {
		return nil, err
	}
	variants := []Variant{
		{"plain", func(hc *http.Client) CallFunc { return SyncCaller(hc, z.url, tok, "prog-plain") }},
		{"sandboxed", func(hc *http.Client) CallFunc { return SyncCaller(hc, z.url, tok, "prog-sbx") }},
		{"sbx-cpus", func(hc *http.Client) CallFunc { return SyncCaller(hc, z.url, tok, "prog-sbx-cpus") }},
	}
	if err := r.measure(ctx, sec, sandboxConcurrency, rounds, warm, d, variants); err != nil {
		return nil, err
	}
	for _, conc := range sandboxConcurrency {
		sp, pp := find(sec.Points, "sandboxed", conc), find(sec.Points, "plain", conc)
		if conc == 16 {
			sec.Targets = append(sec.Targets,
				target("sandboxed/plain sync p50, c=16", ratio(sp.P50ms, pp.P50ms), "<=", 1.10, "x"),
				target("sandboxed/plain sync calls/s, c=16", ratio(sp.PerSecond, pp.PerSecond), ">=", 0.90, "x"))
		}
	}

	// Start times, through the zone's runtime: deploy, then dial until the
	// program accepts (every 1 ms), then undeploy.
	rt := z.srv.Supervisor()
	kinds := []struct {
		name string
		spec func(i int) supervisor.Spec
	}{
		{"plain", func(i int) supervisor.Spec { return startSpec(i, prog, nil) }},
		{"sandboxed", func(i int) supervisor.Spec { return startSpec(i, prog, &sandbox.Spec{}) }},
	}
	if sup.RuntimeOK {
		img, err := staticImage(ctx, r, z)
		if err != nil {
			return nil, err
		}
		kinds = append(kinds, struct {
			name string
			spec func(i int) supervisor.Spec
		}{"image (" + sup.Runtime + ")", func(i int) supervisor.Spec {
			s := startSpec(i, "/zoneprogram", &sandbox.Spec{Image: img})
			return s
		}})
	}
	p50 := map[string]float64{}
	for _, k := range kinds {
		var ms []float64
		for i := range starts {
			took, err := timeStart(ctx, rt, k.spec(i))
			if err != nil {
				return nil, fmt.Errorf("start %s: %w", k.name, err)
			}
			ms = append(ms, took.Seconds()*1000)
		}
		slices.Sort(ms)
		p50[k.name] = ms[len(ms)/2]
		sec.Values = append(sec.Values,
			Value{Name: "start " + k.name + " p50", Value: ms[len(ms)/2], Unit: "ms"},
			Value{Name: "start " + k.name + " max", Value: ms[len(ms)-1], Unit: "ms"})
		r.progressf("   start %-22s p50 %6.1f ms  max %6.1f ms", k.name, ms[len(ms)/2], ms[len(ms)-1])
	}
	sec.Values = append(sec.Values, Value{Name: "start sandboxed/plain p50", Value: ratio(p50["sandboxed"], p50["plain"]), Unit: "x"})
	return sec, nil
}

// startSpec is a one-instance deployment of the example program for a
// start-time round.
func startSpec(i int, command string, sb *sandbox.Spec) supervisor.Spec {
	return supervisor.Spec{
		ProgramID: fmt.Sprintf("start-%d", i), Command: []string{command, "--name", "bench"}, Instances: 1,
		Secret:  "1:" + base64.StdEncoding.EncodeToString(make([]byte, 32)),
		Sandbox: sb,
	}
}

// timeStart deploys spec and returns how long until its instance accepts
// a connection.
func timeStart(ctx context.Context, rt *supervisor.Supervisor, spec supervisor.Spec) (time.Duration, error) {
	defer rt.Undeploy(spec.ProgramID)
	start := time.Now()
	if err := rt.Deploy(ctx, spec); err != nil {
		return 0, err
	}
	for deadline := start.Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		st := rt.Instances(spec.ProgramID)
		if len(st) != 1 || st[0].URL == "" {
			continue
		}
		dctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
		c, err := rt.DialContext(dctx, "tcp", strings.TrimPrefix(st[0].URL, "http://"))
		cancel()
		if err == nil {
			c.Close()
			return time.Since(start), nil
		}
	}
	return 0, fmt.Errorf("%s did not accept connections in 30 s", spec.ProgramID)
}

// staticImage builds the example program without cgo, puts it alone in an
// image tarball, and unpacks it in the zone.
func staticImage(ctx context.Context, r *runner, z *zone) (string, error) {
	dir := filepath.Join(r.dir, "image")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "zoneprogram")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, pkgProgram)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build a static %s: %v\n%s", pkgProgram, err, b)
	}
	b, err := os.ReadFile(bin)
	if err != nil {
		return "", err
	}
	tarball := filepath.Join(dir, "image.tar")
	if err := sandbox.WriteImage(tarball, "", map[string][]byte{"zoneprogram": b}, "zoneprogram"); err != nil {
		return "", err
	}
	return z.srv.Sandbox().Image(tarball)
}
