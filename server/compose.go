package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/openzone/openzone/internal/adminapi"
	"github.com/openzone/openzone/internal/appapi"
	"github.com/openzone/openzone/internal/apps"
	"github.com/openzone/openzone/internal/archive"
	"github.com/openzone/openzone/internal/cluster"
	"github.com/openzone/openzone/internal/console"
	"github.com/openzone/openzone/internal/debugmode"
	"github.com/openzone/openzone/internal/deploy"
	"github.com/openzone/openzone/internal/display"
	"github.com/openzone/openzone/internal/events"
	"github.com/openzone/openzone/internal/gateway"
	"github.com/openzone/openzone/internal/jobs"
	"github.com/openzone/openzone/internal/knowledge"
	"github.com/openzone/openzone/internal/listener"
	"github.com/openzone/openzone/internal/logs"
	"github.com/openzone/openzone/internal/media"
	"github.com/openzone/openzone/internal/metrics"
	"github.com/openzone/openzone/internal/outbound"
	"github.com/openzone/openzone/internal/quota"
	"github.com/openzone/openzone/internal/sandbox"
	"github.com/openzone/openzone/internal/specapi"
	"github.com/openzone/openzone/internal/supervisor"
	"github.com/openzone/openzone/internal/tasks"
	"github.com/openzone/openzone/internal/traffic"
	"github.com/openzone/openzone/internal/webfetch"
	"github.com/openzone/openzone/internal/wwmodels"
	pysdk "github.com/openzone/openzone/sdk/python"
)

// compose builds the services, each from those below it
// (docs/architecture.md draws them).
func (s *Server) compose(jcfg jobs.Config, archiveKey []byte) error {
	cfg, st, log, now := s.cfg, s.store, s.log, s.cfg.Now
	s.metrics = metrics.New()
	// Sandboxed instances reach the program API alone: this mux gets only
	// its routes (serve), and the sandboxes are served from it, counted and
	// guarded as the zone's port is (docs/decisions.md, "Sandboxes").
	s.programAPI = http.NewServeMux()
	s.sandbox = sandbox.New(sandbox.Config{DataDir: cfg.DataDir, API: s.metrics.Handler(recoverer(log, s.programAPI)), Logger: log, Host: cfg.InstanceHost,
		SDKFunc: func(dir string) error { return os.CopyFS(dir, pysdk.Files) }})
	scfg := supervisor.Config{Logger: log, LogDir: filepath.Join(cfg.DataDir, "logs"), ZoneURL: s.URL(), Host: cfg.InstanceHost,
		Sandbox: s.sandbox}
	if s.cluster != nil {
		scfg.NamePrefix = cfg.NodeName + "/"
	}
	s.supervisor = supervisor.New(scfg)
	// The multi-node parts; left nil (no interface holding a nil pointer)
	// on SQLite, where this node is alone.
	var remote gateway.Remote
	var nodes listener.NodeFinder
	if s.cluster != nil {
		s.node = cluster.New(cluster.Config{Store: s.cluster, Supervisor: s.supervisor, Name: cfg.NodeName,
			AdvertiseURL: cfg.AdvertiseURL, Interval: cfg.ClusterInterval, Logger: log})
		remote, nodes = s.node, s.node
	}
	// On SQLite this process is the only one (the file is locked), so
	// debug routes may be answered from memory; on PostgreSQL another node
	// may open or close debug mode at any time.
	s.routes = debugmode.NewRoutes(debugmode.RoutesConfig{Store: st, Now: now, Exclusive: s.cluster == nil})
	s.hub = listener.NewHub(listener.HubConfig{Store: st, Now: now, Logger: log, Node: cfg.NodeName, CallTimeout: cfg.CallTimeout,
		PingInterval: cfg.ListenerPingInterval, PongTimeout: cfg.ListenerPongTimeout, Routes: s.routes,
		Nodes: nodes, AdminToken: s.token})
	s.gateway = gateway.New(gateway.Config{Store: st, Supervisor: s.supervisor, Timeout: cfg.CallTimeout,
		Debug: s.routes, Listeners: s.hub, Remote: remote, Outbound: gateway.NewInstanceClient(s.policy)})
	s.recorder = traffic.New(st, log)
	s.recorder.Observe(s.metrics)
	var err error
	if s.jobs, err = jobs.New(s.jobsConfig(jcfg)); err != nil {
		return fmt.Errorf("job queue: %w", err)
	}
	s.events = events.New(events.Config{Store: st, Jobs: s.jobs, Gateway: s.gateway, Recorder: s.recorder, Now: now, Logger: log, Metrics: s.metrics,
		OrderHold: cfg.EventOrderHold, HTTPClient: outbound.New(outbound.Config{Policy: s.policy, Timeout: 10 * time.Second})})
	s.quota = quota.New(quota.Config{Store: st, Now: now})
	s.archive = archive.New(archive.Config{Store: st, Key: archiveKey, Now: now, Logger: log, Events: s.events,
		Quota: s.quota, SyncMsgNoTokenPerMinute: cfg.SyncMsgNoTokenPerMinute})
	s.media = media.New(media.Config{Store: st, Key: archiveKey, Now: now})
	s.knowledge = knowledge.New(knowledge.Config{Store: st, Jobs: s.jobs, Media: s.media, Events: s.events, Key: archiveKey,
		Fetcher: webfetch.New(s.policy, 0, 0), Now: now, Logger: log})
	var openai *wwmodels.OpenAIConfig
	if cfg.OpenAIBaseURL != "" {
		openai = &wwmodels.OpenAIConfig{BaseURL: cfg.OpenAIBaseURL, Model: cfg.OpenAIModel, APIKey: cfg.OpenAIKey,
			Client: outbound.New(outbound.Config{Policy: s.policy}), Timeout: cfg.OpenAITimeout,
			Attempts: cfg.OpenAIAttempts, Backoff: cfg.OpenAIBackoff}
	}
	s.tasks = tasks.New(tasks.Config{Store: st, Jobs: s.jobs, Gateway: s.gateway, Supervisor: s.supervisor, Archive: s.archive,
		Recorder: s.recorder, Debug: s.routes, Knowledge: s.knowledge, Key: archiveKey, Now: now, Logger: log, NodeID: newNodeID(), NodeName: cfg.NodeName, Metrics: s.metrics,
		Quota: s.quota, ModelCallsPerDay: cfg.ModelCallsPerDay, ModelMessagesPerDay: cfg.ModelMessagesPerDay,
		ModelBackend: cfg.ModelBackend, OpenAI: openai})
	s.display = display.New(display.Config{Store: st, Archive: s.archive, Now: now, Logger: log})
	s.logs = logs.New(logs.Config{Store: st, HourlyBytes: cfg.LogHourlyBytes, Now: now, Logger: log})
	s.metrics.Watch(metrics.Gauges{Queues: s.jobs.Depths, Instances: s.supervisor.States,
		TrafficQueue: func() (int, int64) { return s.recorder.Queued(), s.recorder.Dropped() }})
	s.apps = apps.New(apps.Config{Store: st, Gateway: s.gateway, Tasks: s.tasks, Notifies: s.events, Recorder: s.recorder, Now: now})
	s.listeners = listener.NewService(listener.Config{Hub: s.hub, Prober: s.gateway, Sessions: s.routes,
		Held: []listener.HeldSource{s.events, s.tasks}, Store: st, Logger: log})
	s.debug = debugmode.New(debugmode.Config{Store: st, Now: now, Logger: log, AllowedHosts: cfg.DebugAllowedHosts,
		Routes: s.routes, Prober: s.listeners, Apps: s.apps})
	s.deploy = deploy.New(deploy.Config{Store: st, Supervisor: s.supervisor, Keys: s.gateway, Apps: s.apps,
		Archive: s.archive, Sandbox: s.sandbox, Dir: cfg.DataDir, MaxInstances: cfg.MaxInstances, Now: now, Logger: log})
	return nil
}

// jobsConfig completes the job queue's settings.
func (s *Server) jobsConfig(jcfg jobs.Config) jobs.Config {
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
	return jcfg
}

// serve puts the faces on one mux and starts serving it.
func (s *Server) serve() error {
	st, log, now := s.store, s.log, s.cfg.Now
	registry := specapi.NewRegistry()
	s.archive.Register(registry)
	s.events.Register(registry)
	s.tasks.Register(registry)
	s.display.Register(registry)
	s.knowledge.Register(registry)
	var relay adminapi.Relay
	if s.cluster != nil {
		relay = s.hub
	}
	mux := http.NewServeMux()
	appapi.New(appapi.Config{Apps: s.apps, Tasks: s.tasks, Debug: s.debug, Logs: s.logs, Display: s.display, Media: s.media, Store: st, Now: now, Logger: log, Door: s.door}).Register(mux)
	spec := specapi.New(specapi.Config{Store: st, Keys: s.gateway, Debug: s.debug, Logs: s.logs, Registry: registry, Recorder: s.recorder,
		Now: now, Logger: log, Door: s.door})
	spec.Register(mux)
	spec.Register(s.programAPI)
	admin := adminapi.New(adminapi.Config{Store: st, Supervisor: s.supervisor, Recorder: s.recorder, Logger: log, AdminToken: s.token,
		Deploy: s.deploy, Apps: s.apps, Debug: s.debug, Archive: s.archive, Events: s.events, Logs: s.logs, Listeners: s.listeners, Models: s.tasks,
		Knowledge: s.knowledge, Media: s.media,
		Relay: relay, Info: s.info(), Now: now, Proxies: s.door.Proxies})
	admin.Register(mux)
	// The console calls the admin API in-process, through the same mux.
	con, err := console.New(console.Config{Admin: mux, Logger: log, Now: now, Proxies: s.door.Proxies, Failures: s.door.Failures})
	if err != nil {
		return err
	}
	con.Register(mux)
	mux.Handle("GET /display/message", s.display.MessageHandler())
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
	mux.Handle("GET /metrics", admin.Protect(s.metrics.Exposition()))
	if err := s.serveMetrics(); err != nil {
		return err
	}
	s.http = &http.Server{
		Handler:           s.metrics.Handler(recoverer(log, mux)),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	go func() {
		if err := s.http.Serve(s.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("http server stopped", "err", err)
		}
	}()
	return nil
}

// boot applies the seed file, starts the deployed programs and the job
// queue, and runs the background loops.
func (s *Server) boot(ctx context.Context) error {
	s.deploy.Notice()
	// Messages archived before key tags existed get theirs, so the display
	// page finds them (once; later starts find none).
	if n, err := s.archive.TagMessages(ctx); err != nil {
		return fmt.Errorf("tag archived messages: %w", err)
	} else if n > 0 {
		s.log.Info("archived messages tagged for the display page", "count", n)
	}
	if s.cfg.SeedFile != "" {
		data, err := os.ReadFile(s.cfg.SeedFile)
		if err != nil {
			return fmt.Errorf("seed file: %w", err)
		}
		abs, _ := filepath.Abs(s.cfg.SeedFile)
		if _, err := s.deploy.ApplySeed(ctx, filepath.Base(s.cfg.SeedFile), data, filepath.Dir(abs)); err != nil {
			return fmt.Errorf("seed file: %w", err)
		}
	}
	if err := s.deploy.ReconcileAll(ctx); err != nil {
		return err
	}
	if err := s.jobs.Start(context.WithoutCancel(ctx)); err != nil {
		return fmt.Errorf("job queue: %w", err)
	}
	bgCtx, stopBg := context.WithCancel(context.Background())
	s.stopBg = stopBg
	s.background(bgCtx, s.prune)
	s.background(bgCtx, s.tasks.Run)
	if s.node != nil {
		s.node.Publish(ctx)
		s.background(bgCtx, func(ctx context.Context) { s.node.Run(ctx, s.deploy) })
	}
	return nil
}

// background runs fn until Shutdown.
func (s *Server) background(ctx context.Context, fn func(context.Context)) {
	s.bg.Add(1)
	go func() {
		defer s.bg.Done()
		fn(ctx)
	}()
}

// serveMetrics serves /metrics alone on MetricsAddr, when it is set.
func (s *Server) serveMetrics() error {
	if s.cfg.MetricsAddr == "" {
		return nil
	}
	ln, err := net.Listen("tcp", s.cfg.MetricsAddr)
	if err != nil {
		return fmt.Errorf("metrics: listen on %s: %w", s.cfg.MetricsAddr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", s.metrics.Exposition())
	s.metricsSrv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	s.metricsAddr = ln.Addr().String()
	s.log.Info("metrics served", "addr", s.metricsAddr)
	go s.metricsSrv.Serve(ln)
	return nil
}

// MetricsAddr returns the bound address of MetricsAddr's listener ("" when
// there is none).
func (s *Server) MetricsAddr() string {
	return s.metricsAddr
}
