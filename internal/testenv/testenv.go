// Package testenv boots real zones for end-to-end tests: a server.Server on
// 127.0.0.1:0 with a temporary data directory, a seed file, real program
// binaries built from this repository, and an adjustable clock. Only tests
// import it.
package testenv

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/openzone/openzone/internal/store/postgres/pgtest"
	"github.com/openzone/openzone/server"
)

var (
	buildMu  sync.Mutex
	builtDir string
	built    = map[string]string{}
)

// Build compiles the main package pkg (an import path) once per test
// process and returns the binary's path.
func Build(tb testing.TB, pkg string) string {
	tb.Helper()
	buildMu.Lock()
	defer buildMu.Unlock()
	if p, ok := built[pkg]; ok {
		return p
	}
	if builtDir == "" {
		d, err := os.MkdirTemp("", "openzone-testbin-")
		if err != nil {
			tb.Fatal(err)
		}
		shareDir(tb, d)
		builtDir = d
	}
	out := filepath.Join(builtDir, filepath.Base(pkg))
	cmd := exec.Command("go", "build", "-o", out, pkg)
	if b, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("go build %s: %v\n%s", pkg, err, b)
	}
	built[pkg] = out
	return out
}

// SharedDir returns a new temporary folder (removed after the test) that
// others may read: for what a deployed program loads (an SDK, a script),
// since a zone running as root runs sandboxed programs as an unprivileged
// uid.
func SharedDir(tb testing.TB) string {
	tb.Helper()
	d := tb.TempDir()
	shareDir(tb, d)
	return d
}

func shareDir(tb testing.TB, d string) {
	tb.Helper()
	if err := os.Chmod(d, 0o755); err != nil {
		tb.Fatal(err)
	}
}

// CLI returns the path of the built openzone command.
func CLI(tb testing.TB) string { return Build(tb, "github.com/openzone/openzone/cmd/openzone") }

// Example returns the path of the built example program.
func Example(tb testing.TB) string {
	return Build(tb, "github.com/openzone/openzone/examples/zoneprogram")
}

// Clock is an adjustable clock: real time plus an offset.
type Clock struct{ offset atomic.Int64 }

// Now returns the clock's time.
func (c *Clock) Now() time.Time { return time.Now().Add(time.Duration(c.offset.Load())) }

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) { c.offset.Add(int64(d)) }

// Options configures Start.
type Options struct {
	// Seed is a YAML seed file; {{EXAMPLE}} is replaced by the example
	// program's path and {{BIN:pkg}} by the path of that package built.
	Seed        string
	CallTimeout time.Duration
	// RetryBackoff shortens delivery retries (see server.Config).
	RetryBackoff func(attempt int) time.Duration
	// Logger defaults to one that writes through tb.Log at warn level.
	Logger *slog.Logger
	// DB is the zone's database (server.Config.DB): "" is SQLite in the
	// zone's temporary data directory; Stores gives a PostgreSQL one.
	DB string
	// NodeName, ArchiveKey and ClusterInterval are passed to server.Config:
	// zones sharing a PostgreSQL database need the same ArchiveKey.
	NodeName        string
	ArchiveKey      string
	ClusterInterval time.Duration
	// ListenerPingInterval and ListenerPongTimeout shorten the debug
	// listener's dead-peer detection (see server.Config).
	ListenerPingInterval, ListenerPongTimeout time.Duration
	// Configure, when set, changes the server's config last (settings
	// no other option covers: outbound policy, limits…).
	Configure func(*server.Config)
	// LogHourlyBytes caps program logs per hour (see server.Config).
	LogHourlyBytes int64
}

// Stores runs fn once per store a zone can run on, each as a subtest:
// "sqlite" always, and "postgres" (a fresh schema, dropped afterwards)
// when OPENZONE_TEST_POSTGRES_URL is set; when OPENZONE_REQUIRE_POSTGRES=1
// and it is not, the postgres subtest fails instead of skipping.
func Stores(t *testing.T, fn func(t *testing.T, db string)) {
	t.Run("sqlite", func(t *testing.T) { fn(t, "") })
	t.Run("postgres", func(t *testing.T) { fn(t, pgtest.URL(t)) })
}

// Zone is a running zone under test.
type Zone struct {
	*server.Server
	Clock *Clock
	URL   string
	tb    testing.TB
	http  *http.Client
	cfg   server.Config
}

// Start boots a zone with opts and stops it when the test ends.
func Start(tb testing.TB, opts Options) *Zone {
	tb.Helper()
	dir := tb.TempDir()
	seedPath := ""
	if opts.Seed != "" {
		s := opts.Seed
		if strings.Contains(s, "{{EXAMPLE}}") {
			s = strings.ReplaceAll(s, "{{EXAMPLE}}", Example(tb))
		}
		for {
			i := strings.Index(s, "{{BIN:")
			if i < 0 {
				break
			}
			j := strings.Index(s[i:], "}}")
			pkg := s[i+6 : i+j]
			s = s[:i] + Build(tb, pkg) + s[i+j+2:]
		}
		seedPath = filepath.Join(dir, "seed.yaml")
		if err := os.WriteFile(seedPath, []byte(s), 0o600); err != nil {
			tb.Fatal(err)
		}
	}
	clock := &Clock{}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(tbWriter{tb}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	cfg := server.Config{
		Addr:         "127.0.0.1:0",
		DataDir:      filepath.Join(dir, "data"),
		AdminToken:   "test-admin-token",
		SeedFile:     seedPath,
		Now:          clock.Now,
		Logger:       log,
		CallTimeout:  opts.CallTimeout,
		RetryBackoff: opts.RetryBackoff,
		DB:           opts.DB,

		NodeName:        opts.NodeName,
		ArchiveKey:      opts.ArchiveKey,
		ClusterInterval: opts.ClusterInterval,

		ListenerPingInterval: opts.ListenerPingInterval,
		ListenerPongTimeout:  opts.ListenerPongTimeout,
		LogHourlyBytes:       opts.LogHourlyBytes,
	}
	if opts.Configure != nil {
		opts.Configure(&cfg)
	}
	z := &Zone{Clock: clock, tb: tb, http: &http.Client{Timeout: 60 * time.Second}, cfg: cfg}
	z.start()
	tb.Cleanup(func() { z.stop() })
	return z
}

func (z *Zone) start() {
	z.tb.Helper()
	srv, err := server.New(z.cfg)
	if err != nil {
		z.tb.Fatal(err)
	}
	if err := srv.Start(context.Background()); err != nil {
		z.tb.Fatalf("start zone: %v", err)
	}
	z.Server, z.URL = srv, srv.URL()
}

func (z *Zone) stop() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	z.Server.Shutdown(ctx)
}

// Restart shuts the zone down and starts it again on the same data
// directory (on a new port: read URL again), as an operator's restart.
func (z *Zone) Restart() {
	z.tb.Helper()
	z.stop()
	z.cfg.SeedFile = "" // applied once; a restart keeps what is stored
	z.start()
}

type tbWriter struct{ tb testing.TB }

func (w tbWriter) Write(p []byte) (int, error) {
	w.tb.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// Token gets an access_token with gettoken.
func (z *Zone) Token(corpID, secret string) string {
	z.tb.Helper()
	var out struct {
		Errcode     int    `json:"errcode"`
		Errmsg      string `json:"errmsg"`
		AccessToken string `json:"access_token"`
	}
	z.GetJSON("/cgi-bin/gettoken?corpid="+url.QueryEscape(corpID)+"&corpsecret="+url.QueryEscape(secret), &out)
	if out.Errcode != 0 {
		z.tb.Fatalf("gettoken: %d %s", out.Errcode, out.Errmsg)
	}
	return out.AccessToken
}

// GetJSON GETs path and decodes the JSON reply into out.
func (z *Zone) GetJSON(path string, out any) int {
	z.tb.Helper()
	resp, err := z.http.Get(z.URL + path)
	if err != nil {
		z.tb.Fatal(err)
	}
	return decode(z.tb, resp, out)
}

// PostApp POSTs body (marshalled unless it is a string or []byte) to an app
// API path with the token and decodes the reply into a map.
func (z *Zone) PostApp(path, token string, body any) map[string]any {
	z.tb.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			z.tb.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	u := z.URL + path
	if token != "" {
		u += "?access_token=" + url.QueryEscape(token)
	}
	resp, err := z.http.Post(u, "application/json", rd)
	if err != nil {
		z.tb.Fatal(err)
	}
	var out map[string]any
	if st := decode(z.tb, resp, &out); st != http.StatusOK {
		z.tb.Fatalf("POST %s: HTTP %d, want 200 (WeCom answers errors with 200)", path, st)
	}
	return out
}

// Admin sends an admin API request and decodes the reply into out.
func (z *Zone) Admin(method, path string, body io.Reader, out any) int {
	z.tb.Helper()
	req, err := http.NewRequest(method, z.URL+path, body)
	if err != nil {
		z.tb.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+z.AdminToken())
	resp, err := z.http.Do(req)
	if err != nil {
		z.tb.Fatal(err)
	}
	return decode(z.tb, resp, out)
}

// AdminUpload posts data as the multipart part "media" to an admin API
// path (a media upload) and decodes the reply into out.
func (z *Zone) AdminUpload(path, filename string, data []byte, out any) int {
	z.tb.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	fw, err := mw.CreateFormFile("media", filename)
	if err != nil {
		z.tb.Fatal(err)
	}
	fw.Write(data)
	mw.Close()
	req, err := http.NewRequest(http.MethodPost, z.URL+path, &body)
	if err != nil {
		z.tb.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+z.AdminToken())
	req.Header.Set("Content-Type", mw.FormDataContentType())
	resp, err := z.http.Do(req)
	if err != nil {
		z.tb.Fatal(err)
	}
	return decode(z.tb, resp, out)
}

func decode(tb testing.TB, resp *http.Response, out any) int {
	tb.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatal(err)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			tb.Fatalf("reply is not JSON (HTTP %d): %v: %s", resp.StatusCode, err, b)
		}
	}
	return resp.StatusCode
}

// Errcode returns a reply's errcode as an int.
func Errcode(m map[string]any) int {
	f, _ := m["errcode"].(float64)
	return int(f)
}

// Eventually polls cond until it holds or 15 s pass.
func Eventually(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(25 * time.Millisecond)
	}
	tb.Fatalf("timed out waiting for %s", what)
}

// Describe formats a reply for failure messages.
func Describe(m map[string]any) string {
	b, _ := json.Marshal(m)
	return fmt.Sprintf("%s", b)
}

// Fresh returns a new, empty database of the same kind as db (one Stores
// gave): "" stays "" (SQLite in a new data directory), a PostgreSQL URL
// becomes a new schema.
func Fresh(tb testing.TB, db string) string {
	if db == "" {
		return ""
	}
	return pgtest.URL(tb)
}

// DataDir returns the zone's data directory.
func (z *Zone) DataDir() string { return z.cfg.DataDir }

// Python returns the Python interpreter tests of WeCom-style Python programs
// run: $OPENZONE_PYTHON, else Debian's /usr/bin/python3 (what CI runs),
// else python3 on PATH. Without one the test skips, unless
// OPENZONE_REQUIRE_PYTHON=1 (which .ci/run sets) makes it fail.
func Python(tb testing.TB) string {
	tb.Helper()
	if p := os.Getenv("OPENZONE_PYTHON"); p != "" {
		return p
	}
	for _, p := range []string{"/usr/bin/python3", "python3"} {
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	if os.Getenv("OPENZONE_REQUIRE_PYTHON") == "1" {
		tb.Fatal("no python3, and OPENZONE_REQUIRE_PYTHON=1")
	}
	tb.Skip("no python3")
	return ""
}
