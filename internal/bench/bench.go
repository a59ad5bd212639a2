// Package bench measures the zone's hot paths beside the baseline a user
// would otherwise run, in one run on loopback: sync calls through the zone
// against a bare httputil.ReverseProxy and a direct call, the debug route
// against the deployed route, async tasks against River's no-op jobs on
// the same kind of database, event → program → app notification, packet
// seal+open against raw AES-256-GCM, the zone's peak RSS under 1,000
// concurrent calls and its cold start. Everything is real: the zone
// (server.Start in this process, or the openzone binary as a child for
// RSS and cold start), the example program built with go build, and a
// plain HTTP echo program (internal/bench/echoserver) as the baseline's
// upstream. Nothing here asserts on timing: a missed target is reported,
// never an error. `openzone bench` is the command; BENCHMARKS.md holds
// the figures of one full run.
package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"time"
)

// Options configures Run.
type Options struct {
	// Short runs every section with tiny counts and durations (CI keeps
	// the command from rotting with it; the figures mean nothing).
	Short bool
	// Only names the sections to run (see Sections); empty runs all.
	Only []string
	// CPUProfileDir, when set, receives one CPU profile per section,
	// <section>.pprof, of this process (which hosts the zone in every
	// section but rss and coldstart).
	CPUProfileDir string
	// ZoneBinary is the openzone binary run as a child process (the zone
	// of rss and coldstart, route's `openzone debug listen`); default:
	// built from this repository with go build.
	ZoneBinary string
	// Postgres is a PostgreSQL database the kb section may create a
	// schema in (and drop it), to measure it on PostgreSQL too; "" measures
	// SQLite only.
	Postgres string
	// KBPostgresOnly leaves SQLite out of the kb section (a second
	// process measuring PostgreSQL beside one measuring SQLite).
	KBPostgresOnly bool
	// Progress receives one line per step; nil discards them.
	Progress io.Writer
	// Logger receives the in-process zones' warnings; nil discards them.
	Logger *slog.Logger
}

// section is one measured path.
type section struct {
	name, title string
	run         func(ctx context.Context, r *runner) (*Section, error)
}

// sections in run order. Cheap, CPU-bound ones run first.
var sections = []section{
	{"seal", "SDK packet seal+open vs raw AES-256-GCM", runSeal},
	{"sync", "sync call: app → zone → example program vs app → reverse proxy → plain program vs direct", runSync},
	{"route", "sync call: debug route (receiver URL, then debug listener) vs deployed route", runRoute},
	{"python", "Python SDK (wwspecapisdk): seal+open vs raw AES-GCM; sync call to the Python sample vs the Go sample", runPython},
	{"native", "native SDK (libWeWorkSpecSDK.so): seal+open through JNI vs the JDK's AES-GCM; sync call to the Java and C++ samples vs the Go (and Python) samples", runNative},
	{"async", "async task end to end vs River no-op jobs", runAsync},
	{"models", "tasks of WeCom's own models through the builtin backend vs own-model tasks (create_model_task)", runModels},
	{"event", "event → program → notify app", runEvent},
	{"sandbox", "sandboxed instance vs plain process: sync call through the bridge; instance start", runSandbox},
	{"rss", "peak RSS of the zone process at 1,000 concurrent sync calls", runRSS},
	{"coldstart", "cold start: openzone serve to /healthz on an empty data directory", runColdStart},
	{"kb", "knowledge sets: learning throughput, retrieval latency for {knowledge} at 10k and 100k fragments", runKB},
}

// Sections returns the names --only accepts, in run order.
func Sections() []string {
	out := make([]string, len(sections))
	for i, s := range sections {
		out[i] = s.name
	}
	return out
}

// Report is the outcome of a run; it is what --json writes.
type Report struct {
	Machine  Machine    `json:"machine"`
	Short    bool       `json:"short"`
	Started  time.Time  `json:"started"`
	Seconds  float64    `json:"seconds"`
	Sections []*Section `json:"sections"`
	Targets  []Target   `json:"targets"`
}

// Section is one section's measurements.
type Section struct {
	Name     string  `json:"name"`
	Title    string  `json:"title"`
	Settings string  `json:"settings"`
	Seconds  float64 `json:"seconds"`
	// Points are latency/throughput measurements, one per variant and
	// concurrency (sync, route, async, event, rss).
	Points []Point `json:"points,omitempty"`
	// Values are single figures (seal MB/s, RSS MB, cold start ms).
	Values  []Value  `json:"values,omitempty"`
	Targets []Target `json:"targets,omitempty"`
	Notes   []string `json:"notes,omitempty"`
}

// Point is one variant at one concurrency: how many operations completed
// in how long, and their latency percentiles.
type Point struct {
	Variant     string  `json:"variant"`
	Concurrency int     `json:"concurrency"`
	Ops         int     `json:"ops"`
	Seconds     float64 `json:"seconds"`
	PerSecond   float64 `json:"per_second"`
	P50ms       float64 `json:"p50_ms"`
	P95ms       float64 `json:"p95_ms"`
	P99ms       float64 `json:"p99_ms"`
	Maxms       float64 `json:"max_ms"`
}

// Value is one named figure.
type Value struct {
	Name  string  `json:"name"`
	Value float64 `json:"value"`
	Unit  string  `json:"unit"`
}

// Target is one of the goals the issues set (8: the zone's; 18: the
// sandbox's) and whether this run met it. Value is the measured figure: a
// ratio (Unit "x"), or MB or ms for absolute goals.
type Target struct {
	Name  string  `json:"name"`
	Value float64 `json:"value"`
	Op    string  `json:"op"` // "<=" or ">="
	Goal  float64 `json:"goal"`
	Unit  string  `json:"unit"` // "x" for ratios
	Met   bool    `json:"met"`
}

func target(name string, value float64, op string, goal float64, unit string) Target {
	met := value <= goal
	if op == ">=" {
		met = value >= goal
	}
	return Target{Name: name, Value: value, Op: op, Goal: goal, Unit: unit, Met: met}
}

// runner is what sections share: options, built binaries, scratch space.
type runner struct {
	opts   Options
	dir    string // scratch directory, removed at the end
	bins   map[string]string
	logger *slog.Logger
}

func (r *runner) progressf(format string, args ...any) {
	if r.opts.Progress != nil {
		fmt.Fprintf(r.opts.Progress, format+"\n", args...)
	}
}

// pick returns short in --short mode, else full.
func pick[T any](r *runner, full, short T) T {
	if r.opts.Short {
		return short
	}
	return full
}

// Run runs the selected sections in order and returns their report. An
// error means a section could not run (a failed call, a zone that did not
// start), never that a figure missed its target.
func Run(ctx context.Context, opts Options) (*Report, error) {
	selected := sections
	if len(opts.Only) > 0 {
		selected = nil
		for _, s := range sections {
			if slices.Contains(opts.Only, s.name) {
				selected = append(selected, s)
			}
		}
		for _, n := range opts.Only {
			if !slices.Contains(Sections(), n) {
				return nil, fmt.Errorf("unknown section %q (sections: %s)", n, strings.Join(Sections(), ", "))
			}
		}
	}
	dir, err := os.MkdirTemp("", "openzone-bench-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	// Readable by others: a zone running as root runs sandboxed programs
	// (the binaries built here) as an unprivileged uid.
	if err := os.Chmod(dir, 0o755); err != nil {
		return nil, err
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	r := &runner{opts: opts, dir: dir, bins: map[string]string{}, logger: logger}
	if opts.CPUProfileDir != "" {
		if err := os.MkdirAll(opts.CPUProfileDir, 0o755); err != nil {
			return nil, err
		}
	}
	rep := &Report{Machine: machine(), Short: opts.Short, Started: time.Now().UTC()}
	for _, s := range selected {
		r.progressf("== %s: %s", s.name, s.title)
		start := time.Now()
		stop, err := r.profile(s.name)
		if err != nil {
			return nil, err
		}
		sec, err := s.run(ctx, r)
		stop()
		if err != nil {
			return rep, fmt.Errorf("%s: %w", s.name, err)
		}
		sec.Name, sec.Title = s.name, s.title
		sec.Seconds = time.Since(start).Seconds()
		rep.Sections = append(rep.Sections, sec)
		rep.Targets = append(rep.Targets, sec.Targets...)
	}
	rep.Seconds = time.Since(rep.Started).Seconds()
	return rep, nil
}

// profile starts a CPU profile of this process for one section.
func (r *runner) profile(name string) (stop func(), err error) {
	if r.opts.CPUProfileDir == "" {
		return func() {}, nil
	}
	f, err := os.Create(filepath.Join(r.opts.CPUProfileDir, name+".pprof"))
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}

// Binary import paths built by build.
const (
	pkgZone    = "github.com/openzone/openzone/cmd/openzone"
	pkgProgram = "github.com/openzone/openzone/examples/zoneprogram"
	pkgPlain   = "github.com/openzone/openzone/internal/bench/echoserver"
)

// build compiles a main package of this module once per run with go build,
// as internal/testenv does; it needs the Go toolchain and a working
// directory inside the repository.
func (r *runner) build(ctx context.Context, pkg string) (string, error) {
	if p, ok := r.bins[pkg]; ok {
		return p, nil
	}
	if pkg == pkgZone && r.opts.ZoneBinary != "" {
		r.bins[pkg] = r.opts.ZoneBinary
		return r.opts.ZoneBinary, nil
	}
	out := filepath.Join(r.dir, "bin", filepath.Base(pkg))
	r.progressf("   go build %s", pkg)
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, pkg)
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build %s (run the bench from the repository, with Go installed): %v\n%s", pkg, err, b)
	}
	r.bins[pkg] = out
	return out, nil
}

// WriteJSON writes the report as indented JSON.
func (rep *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(rep)
}

// Machine describes where the run happened.
type Machine struct {
	CPUs       int    `json:"cpus"`
	GOMAXPROCS int    `json:"gomaxprocs"`
	CPUModel   string `json:"cpu_model"`
	MemoryMB   int    `json:"memory_mb"`
	Kernel     string `json:"kernel"`
	Go         string `json:"go"`
	OS         string `json:"os"`
	Commit     string `json:"commit,omitempty"`
	// LoadAvg is /proc/loadavg's 1-minute figure at the start: above the
	// CPU count, other processes were competing for the CPUs.
	LoadAvg string `json:"load_avg,omitempty"`
}

func machine() Machine {
	m := Machine{CPUs: runtime.NumCPU(), GOMAXPROCS: runtime.GOMAXPROCS(0), Go: runtime.Version(), OS: runtime.GOOS + "/" + runtime.GOARCH}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPUModel = strings.TrimSpace(v)
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		var kb int
		if _, err := fmt.Sscanf(string(b), "MemTotal: %d kB", &kb); err == nil {
			m.MemoryMB = kb / 1024
		}
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		m.LoadAvg = strings.Fields(string(b))[0]
	}
	if out, err := exec.Command("git", "rev-parse", "--short", "HEAD").Output(); err == nil {
		m.Commit = strings.TrimSpace(string(out))
	}
	return m
}
