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

	"github.com/openzone/openzone/sdk"
)

// Sources the native section compiles, in the repository the bench runs
// from (found through this package's directory).
const (
	pkgBench       = "github.com/openzone/openzone/internal/bench"
	sealBenchJava  = "internal/bench/java/SealBench.java"
	testHooksJava  = "internal/nativetest/testdata/java/com/tencent/wework/SpecTestHooks.java"
	javaProgramSrc = "examples/javaprogram/SampleProgram.java"
	cppProgramSrc  = "examples/cppprogram/src/sample_program.cpp"
)

// runNative measures OpenZone's native SDK, libWeWorkSpecSDK.so: one packet
// sealed and opened through the Java binding (JNI) against the JDK's own
// AES-256-GCM, in the JVM; then a sync call through the zone to the Java
// and C++ samples beside the Go sample (and the Python one when python3 is
// there), one instance each.
func runNative(ctx context.Context, r *runner) (*Section, error) {
	for _, tool := range []string{"java", "javac", "jar", "gcc"} {
		if _, err := exec.LookPath(tool); err != nil {
			return &Section{Notes: []string{"skipped: no " + tool + " (the native SDK needs a JDK and gcc; Debian: openjdk-17-jdk-headless)"}}, nil
		}
	}
	benchDir, err := goListDir(ctx, pkgBench)
	if err != nil {
		return nil, err
	}
	root := filepath.Dir(filepath.Dir(benchDir))
	dir := filepath.Join(r.dir, "native")
	r.progressf("   building %s (cgo, with the test hooks)", sdk.LibraryName)
	if err := sdk.BuildNative(ctx, sdk.BuildOptions{Out: filepath.Join(dir, sdk.LibraryName), JNI: true, Tags: []string{"wwspectest"}}); err != nil {
		return nil, err
	}
	javaSrc := filepath.Join(dir, "src")
	pkg := filepath.Join(javaSrc, "com", "tencent", "wework")
	if err := os.MkdirAll(pkg, 0o755); err != nil {
		return nil, err
	}
	for name, b := range sdk.JavaSources() {
		if err := os.WriteFile(filepath.Join(pkg, name), b, 0o644); err != nil {
			return nil, err
		}
	}
	classes := filepath.Join(dir, "classes")
	javac := exec.CommandContext(ctx, "javac", "-encoding", "UTF-8", "--release", "8", "-Xlint:-options", "-d", classes,
		filepath.Join(pkg, "SpecSDK.java"), filepath.Join(pkg, "SpecCallbackSDK.java"), filepath.Join(pkg, "SpecUtil.java"),
		filepath.Join(root, testHooksJava), filepath.Join(root, sealBenchJava), filepath.Join(root, javaProgramSrc))
	if out, err := javac.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("javac: %v\n%s", err, out)
	}

	rounds, round := pick(r, 10, 2), pick(r, 0.2, 0.02)
	sec := &Section{Settings: fmt.Sprintf("seal: one JVM thread, %d interleaved rounds of %gs per variant and size, best counts", rounds, round)}
	cmd := exec.CommandContext(ctx, "java", "-Djava.library.path="+dir, "-cp", classes, "SealBench", fmt.Sprint(rounds), fmt.Sprint(round))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	raw, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("SealBench: %v: %s", err, stderr.String())
	}
	var seal map[string]any
	if err := json.Unmarshal(raw, &seal); err != nil {
		return nil, fmt.Errorf("SealBench: %v: %s", err, raw)
	}
	sec.Notes = append(sec.Notes, fmt.Sprintf("Java %v (javax.crypto AES/GCM/NoPadding, java.util.Base64)", seal["java"]))
	for _, size := range []string{"1 KB", "64 KB"} {
		rawMBs, _ := seal["raw "+size].(float64)
		b64MBs, _ := seal["raw-b64 "+size].(float64)
		sdkMBs, _ := seal["sdk "+size].(float64)
		sec.Values = append(sec.Values, Value{Name: "java raw " + size, Value: rawMBs, Unit: "MB/s"},
			Value{Name: "java raw-b64 " + size, Value: b64MBs, Unit: "MB/s"},
			Value{Name: "java sdk " + size, Value: sdkMBs, Unit: "MB/s"})
		r.progressf("   java seal+open %-6s raw %8.1f MB/s  raw-b64 %8.1f MB/s  sdk (JNI) %8.1f MB/s  (%.2fx raw, %.2fx raw-b64)",
			size, rawMBs, b64MBs, sdkMBs, ratio(sdkMBs, rawMBs), ratio(sdkMBs, b64MBs))
		sec.Notes = append(sec.Notes, fmt.Sprintf("seal+open %s through JNI: %.2f× the JDK's AES-GCM, %.2f× the JDK's AES-GCM with the sealed bytes through java.util.Base64",
			size, ratio(sdkMBs, rawMBs), ratio(sdkMBs, b64MBs)))
		if size == "64 KB" {
			sec.Targets = append(sec.Targets, target("java seal+open 64 KB sdk/raw", ratio(sdkMBs, rawMBs), ">=", 0.8, "x"))
		}
	}

	// The sync call: Go, Python (when there), Java and C++ samples.
	goProg, err := r.build(ctx, pkgProgram)
	if err != nil {
		return nil, err
	}
	jar := filepath.Join(dir, "sample.jar")
	if out, err := exec.CommandContext(ctx, "jar", "--create", "--file", jar, "--main-class", "SampleProgram", "-C", classes, ".").CombinedOutput(); err != nil {
		return nil, fmt.Errorf("jar: %v\n%s", err, out)
	}
	java, _ := exec.LookPath("java")
	programs := []benchProgram{{"prog-java", "java", []string{java, "-Djava.library.path=" + dir, "-jar", jar, "--name", "bench"}}}
	if gpp, err := exec.LookPath("g++"); err == nil {
		if err := os.WriteFile(filepath.Join(dir, "cpp_sdk.h"), sdk.CppHeader(), 0o644); err != nil {
			return nil, err
		}
		bin := filepath.Join(dir, "sample_program")
		out, err := exec.CommandContext(ctx, gpp, "-std=c++11", "-O2", "-pthread", "-I", dir, "-o", bin, filepath.Join(root, cppProgramSrc),
			"-L", dir, "-lWeWorkSpecSDK", "-Wl,-rpath,"+dir).CombinedOutput()
		if err != nil {
			return nil, fmt.Errorf("g++: %v\n%s", err, out)
		}
		programs = append(programs, benchProgram{"prog-cpp", "cpp", []string{bin, "--name", "bench"}})
	} else {
		sec.Notes = append(sec.Notes, "no g++: the C++ sample is not measured")
	}
	if py := pythonInterpreter(); py != "" {
		pySDK, err := goListDir(ctx, pkgPySDK)
		if err != nil {
			return nil, err
		}
		programs = append(programs, benchProgram{"prog-py", "python", []string{"/usr/bin/env", "PYTHON=" + py, "WWSPEC_SDK_DIR=" + pySDK,
			"/bin/sh", filepath.Join(root, pyProgramDir, "start.sh"), "--name", "bench"}})
	}
	z, stop, err := r.startZone(ctx, "native", withPrograms(seedFor(EchoSeed, goProg, 1), programs))
	if err != nil {
		return nil, err
	}
	defer stop()
	variants := []Variant{{"go", nil}}
	ids := map[string]string{"go": "prog-echo"}
	for _, p := range programs {
		variants = append(variants, Variant{p.variant, nil})
		ids[p.variant] = p.id
	}
	for _, v := range variants {
		if err := z.waitHealthy(ctx, ids[v.Name], 1); err != nil {
			return nil, err
		}
	}
	tok, err := z.token(ctx, "wwbench", "bench-secret")
	if err != nil {
		return nil, err
	}
	for i := range variants {
		id := ids[variants[i].Name]
		variants[i].Call = func(hc *http.Client) CallFunc { return SyncCaller(hc, z.url, tok, id) }
	}
	d, warm, lrounds := pick(r, 2*time.Second, 150*time.Millisecond), pick(r, 300*time.Millisecond, 30*time.Millisecond), pick(r, 4, 2)
	conc := []int{1, 16}
	sec.Settings += fmt.Sprintf("; sync: closed loop, %s per point in %d interleaved rounds after %s warm-up, concurrency %v, one instance each", d, lrounds, warm, conc)
	if err := r.measure(ctx, sec, conc, lrounds, warm, d, variants); err != nil {
		return nil, err
	}
	for _, c := range conc {
		g := find(sec.Points, "go", c)
		for _, v := range variants[1:] {
			p := find(sec.Points, v.Name, c)
			sec.Notes = append(sec.Notes, fmt.Sprintf("sync at %d: %s p50 %.2f ms vs go %.2f ms (%.2f×), calls/s %.2f× go",
				c, v.Name, p.P50ms, g.P50ms, ratio(p.P50ms, g.P50ms), ratio(p.PerSecond, g.PerSecond)))
		}
	}
	return sec, nil
}

// benchProgram is a sample deployed beside the Go one: its program id, the
// variant it is measured as, and its deploy.command.
type benchProgram struct {
	id, variant string
	command     []string
}

// withPrograms adds programs to an EchoSeed seed, each deployed once with
// the echo ability, and attaches them to its app.
func withPrograms(seed string, programs []benchProgram) string {
	var add strings.Builder
	ids := []string{"prog-echo"}
	for _, p := range programs {
		fmt.Fprintf(&add, `  - id: %s
    provider: isv
    name: Echo (%s)
    deploy: {command: %s, instances: 1}
    abilities:
      - {id: echo, input: {"text": ""}, output: {"text": "", "served_by": ""}}
`, p.id, p.variant, mustJSON(p.command))
		ids = append(ids, p.id)
	}
	seed = strings.Replace(seed, "\napps:\n", "\n"+add.String()+"apps:\n", 1)
	return strings.Replace(seed, "programs: [prog-echo]}", "programs: ["+strings.Join(ids, ", ")+"]}", 1)
}
