package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// The Python sample program and OpenZone's wwspecapisdk, found in the
// repository the bench runs from.
const (
	pkgPySDK     = "github.com/openzone/openzone/sdk/python"
	pyProgramDir = "examples/pyprogram"
)

// pythonSealScript measures, in the interpreter under test, one packet
// sealed and opened by wwspecapisdk against raw AES-256-GCM from the same
// crypto package (pre-built AEAD, fixed nonce, the same AAD): best of
// interleaved rounds, MB/s of plaintext. It prints one JSON object.
const pythonSealScript = `
import base64, json, os, sys, time
from wwspecapisdk import _crypto, _wire
rounds, round_s = int(sys.argv[1]), float(sys.argv[2])
keys = _wire.Keys(_wire.Secret(1, os.urandom(32)))
hd = _wire.Header("prog-echo", 1, _wire.new_request_id(), 1767225600)
aead = _crypto.AEAD(os.urandom(32))
nonce, aad = os.urandom(12), hd.aad(_wire.CALL)
out = {"backend": _crypto.BACKEND, "python": sys.version.split()[0]}
for size in (1 << 10, 64 << 10):
    pt = os.urandom(size)
    variants = {
        "raw": lambda: aead.open(nonce, aead.seal(nonce, pt, aad), aad),
        "raw-b64": lambda: aead.open(nonce, base64.b64decode(base64.b64encode(aead.seal(nonce, pt, aad)), validate=True), aad),
        "sdk": lambda: keys.open(_wire.CALL, hd, keys.seal(_wire.CALL, hd, pt)),
    }
    best = dict.fromkeys(variants, 0.0)
    for _ in range(rounds):
        for name, op in variants.items():
            n, start = 0, time.perf_counter()
            while time.perf_counter() - start < round_s:
                for _ in range(8):
                    op()
                n += 8
            best[name] = max(best[name], n * size / (time.perf_counter() - start) / 1e6)
    for name, v in best.items():
        out["%s %d KB" % (name, size >> 10)] = v
print(json.dumps(out))
`

// runPython measures OpenZone's Python SDK: seal+open against raw AES-GCM
// from the same package, and a sync call through the zone to the Python
// sample program (WeCom's sample behaviour on wwspecapisdk) beside the same
// call to the Go sample (zonesdk).
func runPython(ctx context.Context, r *runner) (*Section, error) {
	py := pythonInterpreter()
	if py == "" {
		return &Section{Notes: []string{"skipped: no python3 (set OPENZONE_PYTHON)"}}, nil
	}
	sdkDir, err := goListDir(ctx, pkgPySDK)
	if err != nil {
		return nil, err
	}
	root := filepath.Dir(filepath.Dir(sdkDir))
	rounds, round := pick(r, 10, 2), pick(r, 0.1, 0.01)
	sec := &Section{Settings: fmt.Sprintf("%s; seal: one thread, %d interleaved rounds of %gs per variant and size, best counts", py, rounds, round)}

	cmd := exec.CommandContext(ctx, py, "-c", pythonSealScript, fmt.Sprint(rounds), fmt.Sprint(round))
	cmd.Env = append(os.Environ(), "PYTHONPATH="+sdkDir, "PYTHONDONTWRITEBYTECODE=1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	raw, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("python seal: %v: %s", err, stderr.String())
	}
	var seal map[string]any
	if err := json.Unmarshal(raw, &seal); err != nil {
		return nil, fmt.Errorf("python seal: %v: %s", err, raw)
	}
	sec.Notes = append(sec.Notes, fmt.Sprintf("Python %v, crypto backend %v", seal["python"], seal["backend"]))
	for _, size := range []string{"1 KB", "64 KB"} {
		rawMBs, _ := seal["raw "+size].(float64)
		b64MBs, _ := seal["raw-b64 "+size].(float64)
		sdkMBs, _ := seal["sdk "+size].(float64)
		sec.Values = append(sec.Values, Value{Name: "python raw " + size, Value: rawMBs, Unit: "MB/s"},
			Value{Name: "python raw-b64 " + size, Value: b64MBs, Unit: "MB/s"},
			Value{Name: "python sdk " + size, Value: sdkMBs, Unit: "MB/s"})
		r.progressf("   python seal+open %-6s raw %8.1f MB/s  raw-b64 %8.1f MB/s  sdk %8.1f MB/s  (%.2fx raw, %.2fx raw-b64)",
			size, rawMBs, b64MBs, sdkMBs, ratio(sdkMBs, rawMBs), ratio(sdkMBs, b64MBs))
		sec.Notes = append(sec.Notes, fmt.Sprintf("seal+open %s: sdk %.2f× raw, %.2f× raw-b64 (raw sealed bytes through base64, the floor of protocol v2's text body)",
			size, ratio(sdkMBs, rawMBs), ratio(sdkMBs, b64MBs)))
		if size == "64 KB" {
			sec.Targets = append(sec.Targets, target("python seal+open 64 KB sdk/raw", ratio(sdkMBs, rawMBs), ">=", 0.8, "x"))
		}
	}

	prog, err := r.build(ctx, pkgProgram)
	if err != nil {
		return nil, err
	}
	addition := fmt.Sprintf(pySeedAddition, mustJSON([]string{"/usr/bin/env", "PYTHON=" + py, "WWSPEC_SDK_DIR=" + sdkDir,
		"/bin/sh", filepath.Join(root, pyProgramDir, "start.sh"), "--name", "bench"}))
	seed := strings.Replace(seedFor(EchoSeed, prog, 1), "\napps:\n", "\n"+addition+"apps:\n", 1)
	seed = strings.Replace(seed, "programs: [prog-echo]}", "programs: [prog-echo, prog-py]}", 1)
	z, stop, err := r.startZone(ctx, "python", seed)
	if err != nil {
		return nil, err
	}
	defer stop()
	for _, p := range []string{"prog-echo", "prog-py"} {
		if err := z.waitHealthy(ctx, p, 1); err != nil {
			return nil, err
		}
	}
	tok, err := z.token(ctx, "wwbench", "bench-secret")
	if err != nil {
		return nil, err
	}
	d, warm, lrounds := pick(r, 2*time.Second, 150*time.Millisecond), pick(r, 300*time.Millisecond, 30*time.Millisecond), pick(r, 4, 2)
	variants := []Variant{
		{"go", func(hc *http.Client) CallFunc { return SyncCaller(hc, z.url, tok, "prog-echo") }},
		{"python", func(hc *http.Client) CallFunc { return SyncCaller(hc, z.url, tok, "prog-py") }},
	}
	conc := []int{1, 16}
	sec.Settings += fmt.Sprintf("; sync: closed loop, %s per point in %d interleaved rounds after %s warm-up, concurrency %v, one instance each", d, lrounds, warm, conc)
	if err := r.measure(ctx, sec, conc, lrounds, warm, d, variants); err != nil {
		return nil, err
	}
	for _, c := range conc {
		g, p := find(sec.Points, "go", c), find(sec.Points, "python", c)
		sec.Notes = append(sec.Notes, fmt.Sprintf("sync at %d: python p50 %.2f ms vs go %.2f ms (%.2f×), calls/s %.2f× go",
			c, p.P50ms, g.P50ms, ratio(p.P50ms, g.P50ms), ratio(p.PerSecond, g.PerSecond)))
	}
	return sec, nil
}

// pySeedAddition adds the Python sample, deployed as WeCom runs it: the
// start command /bin/sh with the start script as its argument.
const pySeedAddition = `  - id: prog-py
    provider: isv
    name: Echo (Python)
    deploy: {command: %s, instances: 1}
    abilities:
      - {id: echo, input: {"text": ""}, output: {"text": "", "served_by": ""}}
`

// pythonInterpreter is $OPENZONE_PYTHON, else Debian's /usr/bin/python3,
// else python3 on PATH, else "".
func pythonInterpreter() string {
	if p := os.Getenv("OPENZONE_PYTHON"); p != "" {
		return p
	}
	for _, p := range []string{"/usr/bin/python3", "python3"} {
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	return ""
}

// goListDir is the directory of package pkg in the repository.
func goListDir(ctx context.Context, pkg string) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "list", "-f", "{{.Dir}}", pkg).Output()
	if err != nil {
		return "", fmt.Errorf("go list %s (run the bench from the repository): %v", pkg, err)
	}
	return strings.TrimSpace(string(out)), nil
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
