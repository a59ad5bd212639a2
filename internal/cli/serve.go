package cli

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/openzone/openzone/internal/human"
	"github.com/openzone/openzone/server"
)

func init() {
	register(&command{
		name:  "serve",
		args:  "[--addr 127.0.0.1:8780] [--data ./openzone-data] [--db URL] [--seed FILE] [--admin-token TOKEN]",
		short: "run a zone (app API, program API, admin API on one port)",
		run:   runServe,
	})
}

type serveFlags struct {
	addr, data, db, seed, token, logFormat, logLevel string
	debugHosts, node, instanceHost, advertise        string
	outboundAllow, trustedProxies, metricsAddr       string
	outboundStrict                                   bool
	retention, jobTimeout, jobRescue, eventHold      time.Duration
	logRetention                                     time.Duration
	logHourlyBytes                                   int64
	modelBackend                                     string
	modelCalls, modelMsgs, syncMsgNoToken            int64
}

func (f *serveFlags) parse(e *env, name string, args []string) error {
	fs := newFlags(e, name)
	fs.StringVar(&f.addr, "addr", envOr("OPENZONE_ADDR", "127.0.0.1:8780"), "listen address (OPENZONE_ADDR)")
	fs.StringVar(&f.data, "data", envOr("OPENZONE_DATA", "openzone-data"), "data directory (OPENZONE_DATA)")
	fs.StringVar(&f.db, "db", os.Getenv("OPENZONE_DB"), "database (OPENZONE_DB): a postgres:// URL, which several nodes may share, or sqlite:PATH; empty: SQLite in the data directory")
	fs.StringVar(&f.node, "node", os.Getenv("OPENZONE_NODE"), "this node's name, stable across restarts and distinct among nodes sharing a database (OPENZONE_NODE); default hostname:data directory")
	fs.StringVar(&f.advertise, "advertise-url", os.Getenv("OPENZONE_ADVERTISE_URL"), "where the other nodes reach this one (OPENZONE_ADVERTISE_URL); default http://ADDR")
	fs.StringVar(&f.instanceHost, "instance-host", envOr("OPENZONE_INSTANCE_HOST", "127.0.0.1"), "address deployed program instances listen on and other nodes reach them at (OPENZONE_INSTANCE_HOST)")
	fs.StringVar(&f.seed, "seed", "", "seed file to apply at start (idempotent)")
	fs.StringVar(&f.token, "admin-token", os.Getenv("OPENZONE_ADMIN_TOKEN"), "admin token (OPENZONE_ADMIN_TOKEN); default: generated once, kept in the data directory")
	fs.StringVar(&f.debugHosts, "debug-allow-hosts", os.Getenv("OPENZONE_DEBUG_ALLOW_HOSTS"), "comma-separated hosts (or *.domain patterns) debug receiver URLs may use; empty: any")
	fs.BoolVar(&f.outboundStrict, "outbound-strict", os.Getenv("OPENZONE_OUTBOUND_STRICT") == "1", "refuse loopback and private targets too when calling receiver, callback and deploy URLs (OPENZONE_OUTBOUND_STRICT=1); link-local and metadata addresses are always refused")
	fs.StringVar(&f.outboundAllow, "outbound-allow", os.Getenv("OPENZONE_OUTBOUND_ALLOW"), "comma-separated CIDR prefixes strict mode still lets the zone reach (OPENZONE_OUTBOUND_ALLOW)")
	fs.StringVar(&f.trustedProxies, "trusted-proxy", os.Getenv("OPENZONE_TRUSTED_PROXIES"), "comma-separated addresses or CIDR prefixes of the reverse proxies whose X-Forwarded-For and X-Forwarded-Proto the zone believes (OPENZONE_TRUSTED_PROXIES)")
	fs.StringVar(&f.modelBackend, "model-backend", envOr("OPENZONE_MODEL_BACKEND", "builtin"), "backend of WeCom's own models whose model id the seed's ww_models leaves unset: builtin or openai (OPENZONE_MODEL_BACKEND; openai reads OPENZONE_OPENAI_BASE_URL, OPENZONE_OPENAI_MODEL, OPENZONE_OPENAI_API_KEY)")
	fs.Int64Var(&f.modelCalls, "model-calls-per-day", 0, "each corp's daily quota of calls of each of WeCom's models and of create_model_task (0: WeCom's 10000; negative: none)")
	fs.Int64Var(&f.modelMsgs, "model-messages-per-day", 0, "each corp's daily quota of messages analysed for sentiment, and for spam (0: WeCom's 100000; negative: none)")
	fs.StringVar(&f.metricsAddr, "metrics-addr", os.Getenv("OPENZONE_METRICS_ADDR"), "serve Prometheus metrics at /metrics on this address without authentication (OPENZONE_METRICS_ADDR); the zone's own address serves them to the admin token")
	fs.Int64Var(&f.syncMsgNoToken, "sync-msg-no-token-per-minute", 0, "sync_msg calls without an event token each app may make a minute (0: 600; negative: no limit)")
	fs.DurationVar(&f.jobTimeout, "job-timeout", 30*time.Second, "how long one run of a durable job (a delivery) may take")
	fs.DurationVar(&f.jobRescue, "job-rescue-after", time.Minute, "how long a job may stay running before it is taken as lost with its node and run again (at least --job-timeout)")
	fs.DurationVar(&f.eventHold, "event-order-hold", 5*time.Minute, "how long an event whose delivery keeps failing holds back the later events of its program and corp before it steps aside (they go ahead, it keeps its retries); negative: no order")
	f.retention = 7 * 24 * time.Hour
	fs.Var(human.Flag{D: &f.retention}, "traffic-retention", "how long traffic records are kept, e.g. 7d or 72h (at least 3 days)")
	f.logRetention = 30 * 24 * time.Hour
	fs.Var(human.Flag{D: &f.logRetention}, "program-log-retention", "how long program log lines (日志查询) are kept, e.g. 30d")
	fs.Int64Var(&f.logHourlyBytes, "program-log-hourly-bytes", 1<<30, "bytes of log lines a program may log per hour; lines over it are dropped and counted (WeCom: 1 GB)")
	fs.StringVar(&f.logFormat, "log-format", "text", "log format: text or json")
	fs.StringVar(&f.logLevel, "log-level", "info", "log level: debug, info, warn, error")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("unexpected argument %q", pos[0])
	}
	return nil
}

func (f *serveFlags) logger(e *env) (*slog.Logger, error) {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(f.logLevel)); err != nil {
		return nil, usagef("--log-level %q is not one of debug, info, warn, error", f.logLevel)
	}
	opts := &slog.HandlerOptions{Level: lvl}
	switch f.logFormat {
	case "text":
		return slog.New(slog.NewTextHandler(e.stderr, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(e.stderr, opts)), nil
	}
	return nil, usagef("--log-format %q is not text or json", f.logFormat)
}

func runServe(e *env, args []string) error {
	var f serveFlags
	if err := f.parse(e, "serve", args); err != nil {
		return err
	}
	return serve(e, &f, nil)
}

// serve runs a zone until SIGINT/SIGTERM; a second signal exits at once.
// ready, when set, is called once the zone is up.
func serve(e *env, f *serveFlags, ready func(*server.Server)) error {
	log, err := f.logger(e)
	if err != nil {
		return err
	}
	srv, err := server.New(server.Config{
		Addr: f.addr, DataDir: f.data, DB: f.db, SeedFile: f.seed, AdminToken: f.token, Logger: log,
		DebugAllowedHosts: splitList(f.debugHosts), OutboundStrict: f.outboundStrict, OutboundAllow: splitList(f.outboundAllow),
		TrustedProxies: splitList(f.trustedProxies), TrafficRetention: f.retention, MetricsAddr: f.metricsAddr, SyncMsgNoTokenPerMinute: f.syncMsgNoToken,
		LogRetention: f.logRetention, LogHourlyBytes: f.logHourlyBytes,
		NodeName: f.node, InstanceHost: f.instanceHost, AdvertiseURL: f.advertise, JobTimeout: f.jobTimeout, JobRescueAfter: f.jobRescue,
		EventOrderHold: f.eventHold,
		ModelBackend:   f.modelBackend, ModelCallsPerDay: f.modelCalls, ModelMessagesPerDay: f.modelMsgs,
		OpenAIBaseURL: os.Getenv("OPENZONE_OPENAI_BASE_URL"), OpenAIModel: os.Getenv("OPENZONE_OPENAI_MODEL"), OpenAIKey: os.Getenv("OPENZONE_OPENAI_API_KEY"),
	})
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := srv.Start(ctx); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "OpenZone %s listening on %s\n", server.Version, srv.URL())
	if f.token == "" {
		fmt.Fprintf(e.stdout, "admin token: %s   (%s)\n", srv.AdminToken(), srv.AdminTokenKept())
	}
	if ready != nil {
		ready(srv)
	}
	<-ctx.Done()
	stop() // a second signal now kills the process
	fmt.Fprintln(e.stdout, "shutting down…")
	sctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	return srv.Shutdown(sctx)
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
