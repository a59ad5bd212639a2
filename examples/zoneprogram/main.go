// Command zoneprogram is OpenZone's example zone program (专区程序示例): a Go
// port of the behaviour of WeCom's official sample program. It serves the
// abilities echo, invoke_<interface> (one per SDK interface) and
// get_callback_data, and stores events for apps to fetch. See README.md.
//
// Usage:
//
//	zoneprogram [--addr :8080] [--name zoneprogram] [--api URL]
//	            [--debug-token TOKEN --access-token TOKEN]
//
// Configuration comes from OPENZONE_API, OPENZONE_PROGRAM_ID and
// OPENZONE_SECRET (package zonesdk); flags override. With a debug token
// and an access token (flags, or OPENZONE_DEBUG_TOKEN and
// OPENZONE_ACCESS_TOKEN) the program runs in debug mode (调试模式) on a
// developer's machine: it needs neither OPENZONE_SECRET nor
// OPENZONE_PROGRAM_ID (the debug credential names the program), and once it listens it
// opens the SDK half of debug mode, exiting with the zone's errcode when
// the zone refuses.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/openzone/openzone/sdk/zonesdk"
)

// Environment variables of debug mode, read when the flags are not given.
const (
	envDebugToken  = "OPENZONE_DEBUG_TOKEN"
	envAccessToken = "OPENZONE_ACCESS_TOKEN"
)

// shutdownTimeout bounds the graceful shutdown: in-flight calls, then
// async jobs still reporting their results.
const shutdownTimeout = 15 * time.Second

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		<-ctx.Done()
		stop() // a second signal kills the process at once
	}()
	if err := run(ctx, os.Args[1:], os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "zoneprogram:", err)
		os.Exit(1)
	}
}

// run parses args, serves until ctx is done, then shuts down gracefully.
func run(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("zoneprogram", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", zonesdk.Addr(), "listen address: :$PORT, or :8080 like WeCom programs")
	name := fs.String("name", "zoneprogram", "instance name, returned as served_by by the echo ability")
	api := fs.String("api", "", "zone base URL (overrides $"+zonesdk.EnvAPI+")")
	debugToken := fs.String("debug-token", "", "debug mode: the program's debug credential (调试凭证) from its debug page (default $"+envDebugToken+")")
	accessToken := fs.String("access-token", "", "debug mode: access_token of the app to debug (default $"+envAccessToken+")")
	asyncDelay := fs.Duration("async-delay", 0, "simulate slow async work: wait this long after acknowledging an async call before reporting its result")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	dt, at := flagOrEnv(*debugToken, envDebugToken), flagOrEnv(*accessToken, envAccessToken)
	if (dt == "") != (at == "") {
		missing := "--access-token ($" + envAccessToken + ")"
		if dt == "" {
			missing = "--debug-token ($" + envDebugToken + ")"
		}
		return fmt.Errorf("usage: debug mode needs both --debug-token and --access-token: %s is missing", missing)
	}
	debugMode := dt != ""
	log := slog.New(slog.NewTextHandler(stderr, nil))

	cfg, err := loadConfig(*api, debugMode)
	if err != nil {
		return err
	}
	cfg.Logger = log
	p, err := zonesdk.New(cfg)
	if err != nil {
		return err
	}
	a := newApp(p, *name, log)
	a.asyncDelay = *asyncDelay

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           p,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	log.Info("listening", "addr", ln.Addr().String(), "program_id", p.ProgramID(), "zone", p.ZoneURL(), "name", *name, "debug_mode", debugMode)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()

	// The SDK half of debug mode opens once the program listens: from then
	// on the zone may forward the app's calls and events to it.
	if debugMode {
		if err := openDebugMode(ctx, log, p, dt, at); err != nil {
			srv.Close()
			return err
		}
	}

	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	err = srv.Shutdown(sctx)
	if werr := a.wait(sctx); werr != nil {
		log.Warn("async jobs still running at exit", "err", werr)
	}
	// The log lines not yet sent to the zone (日志).
	if cerr := p.Close(sctx); cerr != nil {
		log.Warn("log lines not sent", "err", cerr)
	}
	log.Info("stopped")
	return err
}

// flagOrEnv returns the flag's value, else the environment variable's.
func flagOrEnv(flagValue, env string) string {
	if v := strings.TrimSpace(flagValue); v != "" {
		return v
	}
	return strings.TrimSpace(os.Getenv(env))
}

// loadConfig reads the zonesdk environment, with --api overriding
// OPENZONE_API; errors about a variable the flag replaced are dropped. In
// debug mode an unset OPENZONE_SECRET or OPENZONE_PROGRAM_ID is fine: the
// program on a developer's machine gets a debug secret instead, and the
// debug credential names the program (a malformed secret is still an
// error).
func loadConfig(api string, debugMode bool) (zonesdk.Config, error) {
	cfg, envErr := zonesdk.ConfigFromEnv()
	if api != "" {
		cfg.ZoneURL = api
	}
	noSecret := strings.TrimSpace(os.Getenv(zonesdk.EnvSecret)) == ""
	var errs []error
	for _, err := range unjoin(envErr) {
		var ee *zonesdk.EnvError
		if errors.As(err, &ee) && (api != "" && ee.Var == zonesdk.EnvAPI ||
			debugMode && (noSecret && ee.Var == zonesdk.EnvSecret || ee.Var == zonesdk.EnvProgramID)) {
			continue
		}
		errs = append(errs, err)
	}
	return cfg, errors.Join(errs...)
}

// unjoin returns the errors joined in err.
func unjoin(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// openDebugMode is the SDK half of debug mode (开启专区调试模式, WeCom's
// SpecUtil.OpenDebugMode): with the program's debug credential (调试凭证)
// and the app's access_token it gets a debug secret from the zone, which p
// uses for that app's calls and invokes from then on. A refusal is an
// error naming the zone's errcode and what to do about it. Neither token is
// ever logged.
func openDebugMode(ctx context.Context, log *slog.Logger, p *zonesdk.Program, debugToken, accessToken string) error {
	s, err := p.OpenDebugMode(ctx, debugToken, accessToken)
	if err != nil {
		code, msg := zonesdk.CodeInternal, err.Error()
		var ze *zonesdk.ZoneError
		var ie *zonesdk.InvokeError
		switch {
		case errors.As(err, &ze):
			code, msg = ze.Errcode, ze.Errmsg
		case errors.As(err, &ie):
			code, msg = ie.Code, ie.Msg
		}
		log.Error("debug mode: SDK half not open", "errcode", code, "errmsg", msg)
		return fmt.Errorf("debug mode could not be opened: errcode %d: %s%s", code, msg, debugHint(code))
	}
	state := "on: the app's calls and events now come to the receiver URL (接收事件服务器) set on the program's debug page"
	if s.Status != 2 {
		state = "waiting for the app's open_debug_mode"
	}
	log.Info("debug mode: SDK half open", "corpid", s.CorpID, "agentid", s.AgentID, "status", s.Status,
		"expires_at", s.ExpiresAt.Format(time.RFC3339), "debug_mode", state)
	return nil
}

// debugHint says what to do about the errcode of a refused debug opening.
func debugHint(code int) string {
	hint, ok := map[int]string{
		40014:                  "the access_token is invalid: get one with gettoken for the app to debug",
		42001:                  "the access_token has expired: get a fresh one with gettoken",
		40058:                  "check --debug-token: it must be this program's debug credential (调试凭证)",
		710641:                 "the app lacks the zone permission (数据与智能专区)",
		790020:                 "the program is not configured for this app",
		710671:                 "the debug credential (调试凭证) has expired: get a new one on the program's debug page",
		710672:                 "the app is not in a test scenario: debug mode needs a self-built app in its own corp, a custom app in one of the provider's test corps, or a test-installed third-party app",
		800001:                 "the zone knows no program with this id: check " + zonesdk.EnvProgramID,
		zonesdk.CodeNetwork:    "the zone is unreachable: check --api / " + zonesdk.EnvAPI,
		zonesdk.CodeHTTPStatus: "is --api / " + zonesdk.EnvAPI + " the zone's base URL?",
	}[code]
	if !ok {
		return ""
	}
	return " (" + hint + ")"
}
