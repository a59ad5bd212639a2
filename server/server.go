// Package server builds a whole zone from a Config: storage, the services
// and the three HTTP faces (app API /cgi-bin, program API /spec/v1, admin
// API /admin/v1, with the console) on one listener. It composes and does
// nothing else: the work is in the services (docs/architecture.md). It is
// the only package that wires concrete drivers, and it holds no global
// state, so a test can run several zones in one process.
//
//	srv, err := server.New(server.Config{Addr: "127.0.0.1:0", DataDir: dir})
//	err = srv.Start(ctx)
//	fmt.Println(srv.URL())
//	defer srv.Shutdown(ctx)
package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/openzone/openzone"
	"github.com/openzone/openzone/internal/apps"
	"github.com/openzone/openzone/internal/archive"
	"github.com/openzone/openzone/internal/atrest"
	"github.com/openzone/openzone/internal/cluster"
	"github.com/openzone/openzone/internal/debugmode"
	"github.com/openzone/openzone/internal/deploy"
	"github.com/openzone/openzone/internal/display"
	"github.com/openzone/openzone/internal/events"
	"github.com/openzone/openzone/internal/gateway"
	"github.com/openzone/openzone/internal/guard"
	"github.com/openzone/openzone/internal/human"
	"github.com/openzone/openzone/internal/jobs"
	"github.com/openzone/openzone/internal/knowledge"
	"github.com/openzone/openzone/internal/listener"
	"github.com/openzone/openzone/internal/logs"
	"github.com/openzone/openzone/internal/media"
	"github.com/openzone/openzone/internal/metrics"
	"github.com/openzone/openzone/internal/outbound"
	"github.com/openzone/openzone/internal/quota"
	"github.com/openzone/openzone/internal/sandbox"
	"github.com/openzone/openzone/internal/store"
	"github.com/openzone/openzone/internal/store/postgres"
	"github.com/openzone/openzone/internal/supervisor"
	"github.com/openzone/openzone/internal/tasks"
	"github.com/openzone/openzone/internal/traffic"
)

// Version is the zone's version, reported by the admin API and the CLI.
var Version = "0.1.0-dev"

// Config configures a zone. Every field is optional.
type Config struct {
	// Addr is the listen address of all three HTTP faces. Default
	// 127.0.0.1:8780; ":0" or "127.0.0.1:0" picks a free port (see Addr).
	Addr string
	// DataDir holds the SQLite database, the admin token file and program
	// logs. Default ./openzone-data.
	DataDir string
	// DB selects the database: "" means SQLite in DataDir, "sqlite:PATH"
	// a SQLite file elsewhere, and a postgres:// (or postgresql://) URL
	// PostgreSQL, which several zone nodes may share (docs/operations.md).
	DB string
	// AdvertiseURL is where the other nodes reach this one (on PostgreSQL):
	// a call that reaches a node the program's debug listener is not
	// connected to is relayed through it. Default http://<the bound
	// address>, which must then not be a wildcard.
	AdvertiseURL string
	// InstanceHost is the address this node's program instances listen on
	// and other nodes reach them at. Default 127.0.0.1, which serves nodes
	// on one machine; nodes on several machines set a routable address.
	InstanceHost string
	// ArchiveKey is the zone's archive key, base64 of 32 bytes. Default:
	// OPENZONE_ARCHIVE_KEY, else DataDir/archive.key (generated once).
	// Nodes sharing a database must all have the same one.
	ArchiveKey string
	// JobTimeout bounds one run of a durable job (a delivery); default 30 s.
	// JobRescueAfter is how long a job may stay running before it is taken
	// to be lost with its node (or process) and run again; default 1 min,
	// never less than JobTimeout. Nodes of one zone should agree on both.
	JobTimeout, JobRescueAfter time.Duration
	// ClusterInterval is how often a node on PostgreSQL publishes its
	// program instances and picks up deployments changed through another
	// node. Default 2 s.
	ClusterInterval time.Duration
	// AdminToken authenticates the admin API. Default: OPENZONE_ADMIN_TOKEN,
	// else a token generated once and kept in DataDir/admin-token.
	AdminToken string
	// SeedFile is applied (idempotently) at start when set.
	SeedFile string
	// Now is the zone clock; tests inject one to test expiry. Default time.Now.
	Now func() time.Time
	// Logger defaults to a text logger on stderr.
	Logger *slog.Logger
	// CallTimeout bounds one call to a program or debug receiver (710675).
	// Default 30 s.
	CallTimeout time.Duration
	// DebugAllowedHosts restricts debug receiver URLs to these hosts
	// (names, IPs or patterns like "*.example.com"). Empty allows any.
	DebugAllowedHosts []string
	// OutboundStrict makes every request the zone sends to an address it
	// was given (receiver URLs, apps' callback URLs, programs deployed
	// with a URL) refuse loopback, private and other non-public targets
	// too, besides the link-local and metadata addresses always refused
	// (docs/operations.md, "Security"). The instances the zone runs and
	// the other nodes are reached as before.
	OutboundStrict bool
	// OutboundAllow lists CIDR prefixes (or addresses) strict mode still
	// lets the zone reach, e.g. "10.1.0.0/16".
	OutboundAllow []string
	// ModelCallsPerDay is each corp's daily quota (reset at midnight China
	// time) of calls of each of WeCom's models (the general model,
	// summaries, recommended replies, customer tags) and of
	// create_model_task; ModelMessagesPerDay of messages analysed for
	// sentiment and for spam. 0: WeCom's 10,000 and 100,000; negative: no
	// limit. Past a quota the task is refused with 45009.
	ModelCallsPerDay, ModelMessagesPerDay int64
	// ModelBackend answers WeCom's models whose model id has no backend
	// set (seed ww_models): "builtin" (default) or "openai".
	ModelBackend string
	// OpenAIBaseURL, OpenAIModel and OpenAIKey configure the openai
	// backend: an OpenAI-compatible chat-completions endpoint (the CLI
	// reads them from OPENZONE_OPENAI_BASE_URL, OPENZONE_OPENAI_MODEL,
	// OPENZONE_OPENAI_API_KEY). Requests go through the outbound policy.
	OpenAIBaseURL, OpenAIModel, OpenAIKey string
	// OpenAITimeout bounds one request to it (default 60 s);
	// OpenAIAttempts is how often a busy or failed request is tried
	// (default 3), waiting OpenAIBackoff (default 1 s) doubled between.
	OpenAITimeout, OpenAIBackoff time.Duration
	OpenAIAttempts               int
	// MaxInstances bounds the program instances this zone runs, all
	// programs together; default 256 (deploy.DefaultMaxInstances). A seed
	// file or program that would pass it is refused.
	MaxInstances int
	// TrustedProxies lists the reverse proxies (CIDR prefixes or
	// addresses) whose X-Forwarded-For and X-Forwarded-Proto the zone
	// believes: the console's session cookie is Secure when such a proxy
	// says the client used HTTPS, and failed sign-ins are counted per
	// client behind it. Empty: the peer is the client.
	TrustedProxies []string
	// FailedAttempts is how many failed attempts a source may make at the
	// doors that take a secret — gettoken, the console's sign-in,
	// /spec/v1/debug/open, counted together — before it must wait; after
	// that one more every FailedAttemptsEvery. Defaults 20 and 6 s;
	// FailedAttempts < 0 turns the limit off.
	FailedAttempts      int
	FailedAttemptsEvery time.Duration
	// RetryBackoff, when set, replaces the delivery retry schedule of
	// internal/jobs (tests use short steps); it gets the failed attempt.
	RetryBackoff func(attempt int) time.Duration
	// EventOrderHold is how long an event whose delivery keeps failing
	// holds back the later events of its program and corp (delivered in
	// the order they were raised) before it steps aside: they go ahead, it
	// keeps its retries, and the step-aside is reported. Default 5 min; a
	// negative hold delivers events in no particular order
	// (docs/decisions.md, "Event order").
	EventOrderHold time.Duration
	// TrafficRetention is how long traffic records are kept. Default 7
	// days; never less than a debug credential's 3 days.
	TrafficRetention time.Duration
	// LogRetention is how long program log lines are kept (日志查询).
	// Default 30 days.
	LogRetention time.Duration
	// LogHourlyBytes caps the bytes of log lines kept per program per hour
	// (WeCom: 1 GB); lines over it are dropped and counted. Default 1 GiB.
	LogHourlyBytes int64
	// NodeName names this zone node, stable across restarts; default
	// "<hostname>:<absolute data dir>". Nodes sharing a database need
	// distinct names (docs/operations.md); on PostgreSQL it starts the
	// names of the program instances the node runs.
	NodeName string
	// SyncMsgNoTokenPerMinute limits sync_msg calls without an event
	// token per app a minute (45009 past it): 0 the default 600, negative
	// none. Nodes of one zone share the count.
	SyncMsgNoTokenPerMinute int64
	// MetricsAddr, when set, serves Prometheus metrics at /metrics on a
	// listener of its own without authentication (bind it where only the
	// scraper reaches). The zone's own address always serves /metrics to
	// the admin token (docs/operations.md, "Metrics").
	MetricsAddr string
	// ListenerPingInterval and ListenerPongTimeout tune the debug
	// listener's dead-peer detection (default 5 s and 10 s; tests shorten
	// them).
	ListenerPingInterval time.Duration
	ListenerPongTimeout  time.Duration
}

// Server is one running zone.
type Server struct {
	cfg     Config
	policy  outbound.Policy // for targets the zone was given
	quota   *quota.Service
	box     *atrest.Box // seals secrets at rest
	door    *guard.Door // where requests come from; failed attempts
	log     *slog.Logger
	store   store.Store
	cluster store.Cluster // nil on SQLite
	token   string
	ln      net.Listener
	started time.Time

	// The services, in the order Start composes them.
	node        *cluster.Node // nil on SQLite
	supervisor  *supervisor.Supervisor
	sandbox     *sandbox.Manager
	programAPI  *http.ServeMux // the program API alone, for sandboxes
	routes      *debugmode.Routes
	hub         *listener.Hub
	gateway     *gateway.Gateway
	recorder    *traffic.Recorder
	jobs        *jobs.Runner
	events      *events.Service
	archive     *archive.Service
	tasks       *tasks.Service
	logs        *logs.Service
	display     *display.Service
	media       *media.Service
	knowledge   *knowledge.Service
	apps        *apps.Service
	listeners   *listener.Service
	debug       *debugmode.Service
	deploy      *deploy.Service
	http        *http.Server
	metrics     *metrics.Metrics
	metricsSrv  *http.Server // on MetricsAddr; nil without one
	metricsAddr string

	ready    atomic.Bool // Start finished: /healthz says ok
	stopOnce sync.Once
	stopErr  error
	stopBg   context.CancelFunc
	bg       sync.WaitGroup
}

// New checks cfg and returns a Server; it does no I/O.
func New(cfg Config) (*Server, error) {
	if cfg.Addr == "" {
		cfg.Addr = "127.0.0.1:8780"
	}
	if cfg.DataDir == "" {
		cfg.DataDir = "openzone-data"
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	if cfg.TrafficRetention == 0 {
		cfg.TrafficRetention = 7 * 24 * time.Hour
	}
	if cfg.LogRetention == 0 {
		cfg.LogRetention = 30 * 24 * time.Hour
	}
	if cfg.LogRetention < time.Hour {
		return nil, fmt.Errorf("log retention %s is under an hour", human.Duration(cfg.LogRetention))
	}
	if cfg.TrafficRetention < openzone.DebugTokenTTL {
		return nil, fmt.Errorf("traffic retention %s is shorter than a debug credential's %s", human.Duration(cfg.TrafficRetention), human.Duration(openzone.DebugTokenTTL))
	}
	if cfg.DB != "" && !strings.HasPrefix(cfg.DB, "sqlite:") && !postgres.IsURL(cfg.DB) {
		return nil, fmt.Errorf("database %q is not supported: use a postgres:// URL, sqlite:PATH, or nothing for SQLite in the data directory", redactURL(cfg.DB))
	}
	if cfg.ClusterInterval <= 0 {
		cfg.ClusterInterval = 2 * time.Second
	}
	allow, err := outbound.ParsePrefixes(cfg.OutboundAllow)
	if err != nil {
		return nil, fmt.Errorf("outbound allow list: %w", err)
	}
	switch cfg.ModelBackend {
	case "", openzone.BackendBuiltin:
	case openzone.BackendOpenAI:
		if cfg.OpenAIBaseURL == "" {
			return nil, fmt.Errorf("model backend openai needs an endpoint: set OPENZONE_OPENAI_BASE_URL")
		}
	default:
		return nil, fmt.Errorf("model backend %q: use builtin or openai (a program stands in per model id, in the seed's ww_models)", cfg.ModelBackend)
	}
	proxies, err := guard.ParseProxies(cfg.TrustedProxies)
	if err != nil {
		return nil, fmt.Errorf("trusted proxies: %w", err)
	}
	door := &guard.Door{Proxies: proxies}
	if cfg.FailedAttempts >= 0 {
		if cfg.FailedAttempts == 0 {
			cfg.FailedAttempts = 20
		}
		if cfg.FailedAttemptsEvery <= 0 {
			cfg.FailedAttemptsEvery = 6 * time.Second
		}
		door.Failures = guard.NewFailures(cfg.FailedAttempts, 1/cfg.FailedAttemptsEvery.Seconds())
	}
	return &Server{cfg: cfg, log: cfg.Logger, policy: outbound.Policy{Strict: cfg.OutboundStrict, Allow: allow}, door: door}, nil
}

// Start opens the database, applies migrations and the seed file, starts
// deployed programs and binds the listener. A busy port is an error here,
// not later.
func (s *Server) Start(ctx context.Context) error {
	s.started = time.Now()
	jcfg, err := s.open(ctx)
	if err != nil {
		return err
	}
	key, err := s.archiveKey(ctx)
	if err == nil {
		err = s.sealSecrets(ctx, key)
	}
	if err == nil {
		s.token, err = s.adminToken(ctx)
	}
	if err == nil {
		err = s.compose(jcfg, key)
	}
	if err == nil {
		err = s.serve()
	}
	if err == nil {
		err = s.boot(ctx)
	}
	if err != nil {
		s.Shutdown(ctx)
		return err
	}
	s.ready.Store(true)
	s.log.Info("zone started", "addr", s.Addr(), "data_dir", s.cfg.DataDir, "database", s.dbKind(), "node", s.cfg.NodeName, "version", Version)
	return nil
}

// open prepares the data directory, opens the database and binds the
// listener; on failure it closes what it opened.
func (s *Server) open(ctx context.Context) (jobs.Config, error) {
	dataDir, err := filepath.Abs(s.cfg.DataDir)
	if err != nil {
		return jobs.Config{}, fmt.Errorf("data directory: %w", err)
	}
	s.cfg.DataDir = dataDir
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return jobs.Config{}, fmt.Errorf("data directory: %w", err)
	}
	st, jcfg, err := s.openStore(ctx)
	if err != nil {
		return jcfg, fmt.Errorf("open database: %w", err)
	}
	s.store = st
	if s.ln, err = net.Listen("tcp", s.cfg.Addr); err != nil {
		st.Close()
		return jcfg, fmt.Errorf("listen on %s: %w", s.cfg.Addr, err)
	}
	s.cfg.NodeName = nodeName(s.cfg.NodeName, dataDir)
	if s.cluster != nil && s.cfg.AdvertiseURL == "" {
		s.cfg.AdvertiseURL = s.URL()
	}
	// The listeners this node held before a restart are gone; other
	// nodes' are not (docs/decisions.md).
	n, err := st.DebugListenerLoseAll(ctx, store.DebugListenerLoseAllParams{Node: s.cfg.NodeName, At: s.cfg.Now(), Reason: "the zone restarted"})
	if err != nil {
		s.ln.Close()
		st.Close()
		return jcfg, err
	}
	if n > 0 {
		s.log.Info("debug listeners of the previous run marked lost", "count", n)
	}
	return jcfg, nil
}

// Addr returns the bound address (host:port), useful with port 0.
func (s *Server) Addr() string {
	if s.ln == nil {
		return s.cfg.Addr
	}
	return s.ln.Addr().String()
}

// URL returns the zone's base URL.
func (s *Server) URL() string { return "http://" + s.Addr() }

// AdminToken returns the admin API's bearer token.
func (s *Server) AdminToken() string { return s.token }

// Store returns the zone's store (for tests and embedders).
func (s *Server) Store() store.Store { return s.store }

// Supervisor returns the program supervisor (for tests and embedders).
func (s *Server) Supervisor() *supervisor.Supervisor { return s.supervisor }

// Sandbox returns the sandbox manager (for tests and embedders).
func (s *Server) Sandbox() *sandbox.Manager { return s.sandbox }

// ApplySeed parses a seed file and applies it in one transaction, all of it
// or nothing, idempotently; relative command paths resolve against base
// (the seed file's directory). Programs it names are then redeployed to
// match.
func (s *Server) ApplySeed(ctx context.Context, name string, data []byte, base string) (*deploy.Summary, error) {
	return s.deploy.ApplySeed(ctx, name, data, base)
}

// FlushTraffic waits until traffic recorded so far is in the store.
func (s *Server) FlushTraffic(ctx context.Context) { s.recorder.Flush(ctx) }

// Shutdown stops the zone in reverse start order: stop taking requests,
// stop programs, write queued traffic, close the database. Safe to call twice.
func (s *Server) Shutdown(ctx context.Context) error {
	s.stopOnce.Do(func() {
		var errs []error
		if s.stopBg != nil {
			s.stopBg()
		}
		if s.listeners != nil {
			s.listeners.Close() // pre-flight probes under way
		}
		if s.hub != nil {
			s.hub.Close() // hijacked connections: http.Server.Shutdown does not close them
		}
		s.bg.Wait()
		// No new deliveries; then the instances stop while the zone still
		// listens, so async work they acknowledged can be reported.
		if s.jobs != nil {
			if err := s.jobs.Stop(ctx); err != nil {
				errs = append(errs, fmt.Errorf("jobs: %w", err))
			}
		}
		if s.node != nil {
			// Other nodes stop routing to this node's instances at once.
			if err := s.node.Leave(ctx, s.cfg.Now()); err != nil {
				errs = append(errs, err)
			}
		}
		if s.supervisor != nil {
			if err := s.supervisor.Shutdown(ctx); err != nil {
				errs = append(errs, fmt.Errorf("supervisor: %w", err))
			}
		}
		if s.metricsSrv != nil {
			s.metricsSrv.Close()
		}
		if s.sandbox != nil {
			s.sandbox.Close() // its sandboxes went with the supervisor
		}
		if s.http != nil {
			if err := s.http.Shutdown(ctx); err != nil {
				errs = append(errs, fmt.Errorf("http: %w", err))
			}
		} else if s.ln != nil {
			s.ln.Close()
		}
		if s.recorder != nil {
			s.recorder.Close()
		}
		if s.store != nil {
			if err := s.store.Close(); err != nil {
				errs = append(errs, fmt.Errorf("store: %w", err))
			}
		}
		s.stopErr = errors.Join(errs...)
	})
	return s.stopErr
}

// recoverer turns a panic in a handler into a logged internal error and a
// WeCom-shaped errcode -1, never a stack trace to the client.
func recoverer(log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				log.Error("panic in handler", "path", r.URL.Path, "panic", v, "stack", string(debug.Stack()))
				w.Header().Set("Content-Type", "application/json; charset=UTF-8")
				w.WriteHeader(http.StatusInternalServerError)
				w.Write([]byte(`{"errcode":-1,"errmsg":"system busy"}`))
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// redactURL hides a password in a database URL.
func redactURL(u string) string {
	if i := strings.Index(u, "://"); i >= 0 {
		rest := u[i+3:]
		if at := strings.LastIndex(rest, "@"); at >= 0 {
			cred := rest[:at]
			if c := strings.Index(cred, ":"); c >= 0 {
				return u[:i+3] + cred[:c] + ":***" + rest[at:]
			}
		}
	}
	return u
}

// newNodeID names one process start of a node.
func newNodeID() string {
	var b [8]byte
	rand.Read(b[:])
	return "node_" + hex.EncodeToString(b[:])
}

// nodeName is name, or "<hostname>:<data dir>": stable across restarts of
// the same zone, distinct for two zones on one machine.
func nodeName(name, dataDir string) string {
	if name != "" {
		return name
	}
	host, _ := os.Hostname()
	abs, err := filepath.Abs(dataDir)
	if err != nil {
		abs = dataDir
	}
	return host + ":" + abs
}
