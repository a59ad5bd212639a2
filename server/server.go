// Package server builds a whole zone from a Config: storage, the program
// supervisor, the gateway and the three HTTP faces (app API /cgi-bin, program
// API /spec/v1, admin API /admin/v1) on one listener. It is the only package
// that wires concrete drivers, and it holds no global state, so a test can
// run several zones in one process.
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
	"github.com/openzone/openzone/internal/adminapi"
	"github.com/openzone/openzone/internal/appapi"
	"github.com/openzone/openzone/internal/archive"
	"github.com/openzone/openzone/internal/console"
	"github.com/openzone/openzone/internal/debugmode"
	"github.com/openzone/openzone/internal/events"
	"github.com/openzone/openzone/internal/gateway"
	"github.com/openzone/openzone/internal/human"
	"github.com/openzone/openzone/internal/jobs"
	"github.com/openzone/openzone/internal/listener"
	"github.com/openzone/openzone/internal/specapi"
	"github.com/openzone/openzone/internal/store"
	"github.com/openzone/openzone/internal/store/postgres"
	"github.com/openzone/openzone/internal/supervisor"
	"github.com/openzone/openzone/internal/tasks"
	"github.com/openzone/openzone/internal/traffic"
	"github.com/openzone/openzone/internal/wire"
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
	// RetryBackoff, when set, replaces the delivery retry schedule of
	// internal/jobs (tests use short steps); it gets the failed attempt.
	RetryBackoff func(attempt int) time.Duration
	// TrafficRetention is how long traffic records are kept. Default 7
	// days; never less than a debug credential's 3 days.
	TrafficRetention time.Duration
	// NodeName names this zone node, stable across restarts; default
	// "<hostname>:<absolute data dir>". Nodes sharing a database need
	// distinct names (docs/operations.md); on PostgreSQL it starts the
	// names of the program instances the node runs.
	NodeName string
	// ListenerPingInterval and ListenerPongTimeout tune the debug
	// listener's dead-peer detection (default 5 s and 10 s; tests shorten
	// them).
	ListenerPingInterval time.Duration
	ListenerPongTimeout  time.Duration
}

// Server is one running zone.
type Server struct {
	cfg        Config
	log        *slog.Logger
	store      store.Store
	cluster    store.Cluster // nil on SQLite
	supervisor *supervisor.Supervisor
	gateway    *gateway.Gateway
	recorder   *traffic.Recorder
	debug      *debugmode.Service
	hub        *listener.Hub
	jobs       *jobs.Runner
	events     *events.Service
	tasks      *tasks.Service
	archive    *archive.Service
	app        *appapi.API
	http       *http.Server
	ln         net.Listener
	token      string
	started    time.Time

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
	if cfg.TrafficRetention < openzone.DebugTokenTTL {
		return nil, fmt.Errorf("traffic retention %s is shorter than a debug credential's %s", human.Duration(cfg.TrafficRetention), human.Duration(openzone.DebugTokenTTL))
	}
	if cfg.DB != "" && !strings.HasPrefix(cfg.DB, "sqlite:") && !postgres.IsURL(cfg.DB) {
		return nil, fmt.Errorf("database %q is not supported: use a postgres:// URL, sqlite:PATH, or nothing for SQLite in the data directory", redactURL(cfg.DB))
	}
	if cfg.ClusterInterval <= 0 {
		cfg.ClusterInterval = 2 * time.Second
	}
	return &Server{cfg: cfg, log: cfg.Logger}, nil
}

// Start opens the database, applies migrations and the seed file, starts
// deployed programs and binds the listener. A busy port is an error here,
// not later.
func (s *Server) Start(ctx context.Context) error {
	s.started = time.Now()
	dataDir, err := filepath.Abs(s.cfg.DataDir)
	if err != nil {
		return fmt.Errorf("data directory: %w", err)
	}
	s.cfg.DataDir = dataDir
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return fmt.Errorf("data directory: %w", err)
	}
	st, jcfg, err := s.openStore(ctx)
	if err != nil {
		return fmt.Errorf("open database: %w", err)
	}
	s.store = st
	if s.token, err = s.adminToken(ctx); err != nil {
		st.Close()
		return err
	}

	ln, err := net.Listen("tcp", s.cfg.Addr)
	if err != nil {
		st.Close()
		return fmt.Errorf("listen on %s: %w", s.cfg.Addr, err)
	}
	s.ln = ln
	s.cfg.NodeName = nodeName(s.cfg.NodeName, dataDir)

	rcfg := supervisor.Config{
		Logger:  s.log,
		LogDir:  filepath.Join(dataDir, "logs"),
		ZoneURL: s.URL,
		Host:    s.cfg.InstanceHost,
	}
	var remote func(context.Context, string, string) (supervisor.Instance, bool)
	var relay gateway.RelayFunc
	if s.cluster != nil {
		rcfg.NamePrefix = s.cfg.NodeName + "/"
		remote, relay = s.remoteInstance, s.relay
		if s.cfg.AdvertiseURL == "" {
			s.cfg.AdvertiseURL = s.URL()
		}
	}
	s.supervisor = supervisor.New(rcfg)
	bgCtx, stopBg := context.WithCancel(context.Background())
	s.stopBg = stopBg
	// On SQLite this process is the only one (the file is locked), so the
	// debug service may answer routes from memory; on PostgreSQL another
	// node may open or close debug mode at any time.
	s.debug = debugmode.New(debugmode.Config{Store: st, Now: s.cfg.Now, Log: s.log, AllowedHosts: s.cfg.DebugAllowedHosts,
		Exclusive: s.cluster == nil,
		OpenedFunc: func(programID, corpID string, agentID int64) {
			s.bg.Add(1)
			go func() {
				defer s.bg.Done()
				s.preflight(bgCtx, programID, corpID, agentID)
			}()
		}})
	// The listeners this node held before a restart are gone; other
	// nodes' are not (docs/decisions.md).
	node := s.cfg.NodeName
	if n, err := st.DebugListenerLoseAll(ctx, store.DebugListenerLoseAllParams{Node: node, At: s.cfg.Now(), Reason: "the zone restarted"}); err != nil {
		st.Close()
		return err
	} else if n > 0 {
		s.log.Info("debug listeners of the previous run marked lost", "count", n)
	}
	s.hub = listener.NewHub(listener.Config{
		Store: st, Now: s.cfg.Now, Log: s.log, Node: node, CallTimeout: s.cfg.CallTimeout,
		PingInterval: s.cfg.ListenerPingInterval, PongTimeout: s.cfg.ListenerPongTimeout,
		HeldFunc:    s.heldCount,
		ConnectFunc: s.listenerConnected,
		ChangedFunc: s.debug.Changed,
	})
	s.gateway = gateway.New(gateway.Config{
		Store: st, Supervisor: s.supervisor, Timeout: s.cfg.CallTimeout,
		DebugRouteFunc: s.debug.Route, Listeners: s.hub, RemoteFunc: remote, RelayFunc: relay, Node: node,
	})
	s.recorder = traffic.New(st, s.log)
	archiveKey, err := s.archiveKey(ctx)
	if err != nil {
		s.Shutdown(ctx)
		return err
	}
	jcfg.Logger = s.log
	jcfg.JobTimeout, jcfg.RescueStuckJobsAfter = s.cfg.JobTimeout, s.cfg.JobRescueAfter
	// One SQLite file is one process (it is locked), so jobs left running
	// belong to a dead process; on PostgreSQL they may be another node's.
	jcfg.Exclusive = s.cluster == nil
	if s.cluster != nil {
		jcfg.NodeName = s.cfg.NodeName
	}
	if s.cfg.RetryBackoff != nil {
		jcfg.RetryPolicy = &jobs.RetryPolicy{Backoff: s.cfg.RetryBackoff}
	}
	if s.jobs, err = jobs.New(jcfg); err != nil {
		s.Shutdown(ctx)
		return fmt.Errorf("job queue: %w", err)
	}
	s.events = events.New(events.Config{Store: st, Jobs: s.jobs, Gateway: s.gateway, Recorder: s.recorder, Now: s.cfg.Now, Log: s.log})
	s.archive = archive.New(archive.Config{Store: st, Key: archiveKey, Now: s.cfg.Now, Log: s.log, Event: s.events.Enqueue})
	s.tasks = tasks.New(tasks.Config{Store: st, Jobs: s.jobs, Gateway: s.gateway, Supervisor: s.supervisor, Archive: s.archive,
		Recorder: s.recorder, DebugRoute: s.debug.Route, Key: archiveKey, Now: s.cfg.Now, Log: s.log,
		NodeID: newNodeID(), NodeName: node})
	s.app = appapi.New(appapi.Config{Store: st, Gateway: s.gateway, Recorder: s.recorder, Now: s.cfg.Now, Logger: s.log,
		Debug: s.debug, Notify: s.events.CheckNotify, Tasks: s.tasks})
	registry := specapi.NewRegistry()
	s.archive.Register(registry)
	s.events.Register(registry)
	s.tasks.Register(registry)
	spec := specapi.New(specapi.Config{
		Store: st, Keys: s.keys, Registry: registry,
		Debug: s.debug, AuthFunc: s.app.Authenticate,
		Recorder: s.recorder, Now: s.cfg.Now, Logger: s.log,
	})
	admin := adminapi.New(adminapi.Config{
		Store: st, Supervisor: s.supervisor, Recorder: s.recorder, Logger: s.log,
		AdminToken: s.token, ApplySeedFunc: s.ApplySeed, TokenFunc: s.app.TokenForApp,
		Debug: s.debug, Archive: s.archive, Listeners: s.hub,
		SaveProgramFunc: s.saveProgram, ChangedFunc: s.app.Invalidate,
		CallFunc: s.app.CallAs, EnqueueEventFunc: s.events.Enqueue,
		Now:  s.cfg.Now,
		Info: s.info(),
	})

	mux := http.NewServeMux()
	s.app.Register(mux)
	spec.Register(mux)
	admin.Register(mux)
	// The console calls the admin API in-process, through the same mux.
	con, err := console.New(console.Config{Admin: mux, Logger: s.log, Now: s.cfg.Now})
	if err != nil {
		s.Shutdown(ctx)
		return err
	}
	con.Register(mux)
	mux.Handle("GET /display/message", s.archive.DisplayHandler())
	if s.cluster != nil {
		mux.HandleFunc("POST "+relayPath, s.handleRelay)
	}
	// The listener serves while the seed is applied and programs start;
	// health says ok only once Start is done, so a script that waits for
	// it (or a load balancer) finds the seed's corps and apps.
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		if !s.ready.Load() {
			http.Error(w, "starting", http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte("ok\n"))
	})
	s.http = &http.Server{
		Handler:           recoverer(s.log, mux),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	go func() {
		if err := s.http.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("http server stopped", "err", err)
		}
	}()

	if s.cfg.SeedFile != "" {
		data, err := os.ReadFile(s.cfg.SeedFile)
		if err != nil {
			s.Shutdown(ctx)
			return fmt.Errorf("seed file: %w", err)
		}
		abs, _ := filepath.Abs(s.cfg.SeedFile)
		if _, err := s.ApplySeed(ctx, filepath.Base(s.cfg.SeedFile), data, filepath.Dir(abs)); err != nil {
			s.Shutdown(ctx)
			return fmt.Errorf("seed file: %w", err)
		}
	}
	if err := s.reconcileAll(ctx); err != nil {
		s.Shutdown(ctx)
		return err
	}
	if err := s.jobs.Start(context.WithoutCancel(ctx)); err != nil {
		s.Shutdown(ctx)
		return fmt.Errorf("job queue: %w", err)
	}
	s.bg.Add(2)
	go s.prune(bgCtx)
	go func() {
		defer s.bg.Done()
		s.tasks.Run(bgCtx)
	}()
	if s.cluster != nil {
		s.publish(ctx)
		s.bg.Add(1)
		go s.clusterLoop(bgCtx)
	}
	s.ready.Store(true)
	s.log.Info("zone started", "addr", s.Addr(), "data_dir", dataDir, "database", s.dbKind(), "node", s.cfg.NodeName, "version", Version)
	return nil
}

// keys finds the keys of a program's secret by version: the production
// secret, or a live debug secret (docs/protocol.md §15.2).
func (s *Server) keys(ctx context.Context, programID string, ver int) (*wire.Keys, *openzone.DebugSession, error) {
	if ver >= wire.DebugSecretVerMin {
		if _, err := s.store.ProgramGet(ctx, programID); err != nil {
			return nil, nil, err
		}
		return s.debug.InvokeKeys(ctx, programID, ver)
	}
	k, err := s.gateway.Keys(ctx, programID)
	if err != nil {
		return nil, nil, err
	}
	if k.Secret.Ver != ver {
		return nil, nil, nil
	}
	return k, nil, nil
}

// prune deletes expired access tokens, replay ids, event tokens and
// notify_ids, archived messages past their corp's retention, and traffic
// older than its retention: at start, then every ten minutes.
func (s *Server) prune(ctx context.Context) {
	defer s.bg.Done()
	t := time.NewTicker(10 * time.Minute)
	defer t.Stop()
	for {
		s.Prune(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Prune runs one pass of the pruner now (the zone runs it every ten
// minutes); tests with an injected clock call it.
func (s *Server) Prune(ctx context.Context) {
	now := s.cfg.Now()
	if err := s.store.Prune(ctx, now); err != nil && ctx.Err() == nil {
		s.log.Warn("prune tokens and replay window", "err", err)
	}
	if corps, err := s.store.CorpList(ctx); err == nil {
		for _, c := range corps {
			days := max(c.RetentionDays, 1)
			if n, err := s.store.MessagePrune(ctx, c.CorpID, now.Add(-time.Duration(days)*24*time.Hour)); err != nil && ctx.Err() == nil {
				s.log.Warn("prune archive", "corpid", c.CorpID, "err", err)
			} else if n > 0 {
				s.log.Info("pruned archived messages past the corp's retention", "corpid", c.CorpID, "deleted", n, "retention_days", days)
			}
		}
	}
	if n, err := s.store.TaskPrune(ctx, now); err != nil && ctx.Err() == nil {
		s.log.Warn("prune tasks", "err", err)
	} else if n > 0 {
		s.log.Info("pruned tasks past their retention", "deleted", n, "retention", human.Duration(tasks.Retention))
	}
	if n, err := s.store.TrafficPrune(ctx, now.Add(-s.cfg.TrafficRetention)); err != nil && ctx.Err() == nil {
		s.log.Warn("prune traffic", "err", err)
	} else if n > 0 {
		s.log.Info("pruned traffic records", "deleted", n, "retention", human.Duration(s.cfg.TrafficRetention))
	}
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
		if s.cluster != nil && s.supervisor != nil {
			// Other nodes stop routing to this node's instances at once.
			if err := s.cluster.InstancesPublish(ctx, store.InstancesPublishParams{Node: s.cfg.NodeName, Instances: nil, Now: s.cfg.Now()}); err != nil {
				errs = append(errs, fmt.Errorf("unpublish instances: %w", err))
			}
			if err := s.cluster.NodePublish(ctx, store.NodePublishParams{Node: s.cfg.NodeName, URL: "", Now: s.cfg.Now()}); err != nil {
				errs = append(errs, fmt.Errorf("unpublish node: %w", err))
			}
		}
		if s.supervisor != nil {
			if err := s.supervisor.Shutdown(ctx); err != nil {
				errs = append(errs, fmt.Errorf("supervisor: %w", err))
			}
		}
		if s.http != nil {
			if err := s.http.Shutdown(ctx); err != nil {
				errs = append(errs, fmt.Errorf("http: %w", err))
			}
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
