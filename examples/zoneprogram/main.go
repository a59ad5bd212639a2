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
// OPENZONE_SECRET (package zonesdk); flags override.
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
	"syscall"
	"time"

	"github.com/openzone/openzone/sdk/zonesdk"
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
	debugToken := fs.String("debug-token", "", "debug credential (调试凭证) from the program's debug page")
	accessToken := fs.String("access-token", "", "access_token of the app in debug mode")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))

	cfg, err := loadConfig(*api)
	if *debugToken != "" || *accessToken != "" {
		if err := openDebugMode(ctx, log, &cfg, *debugToken, *accessToken); err != nil {
			return err
		}
	}
	if err != nil {
		return err
	}
	cfg.Logger = log
	p, err := zonesdk.New(cfg)
	if err != nil {
		return err
	}
	a := newApp(p, *name, log)

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           p,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	log.Info("listening", "addr", ln.Addr().String(), "program_id", p.ProgramID(), "zone", p.ZoneURL(), "name", *name)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()

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
	log.Info("stopped")
	return err
}

// loadConfig reads the zonesdk environment, with --api overriding
// OPENZONE_API; errors about a variable the flag replaced are dropped.
func loadConfig(api string) (zonesdk.Config, error) {
	cfg, envErr := zonesdk.ConfigFromEnv()
	if api != "" {
		cfg.ZoneURL = api
	}
	var errs []error
	for _, err := range unjoin(envErr) {
		var ee *zonesdk.EnvError
		if api != "" && errors.As(err, &ee) && ee.Var == zonesdk.EnvAPI {
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
// SpecUtil.OpenDebugMode): with a debug token and the app's access token
// it will fetch a debug secret from the zone and put it into cfg. This
// zone version does not support it yet, so it only says so; the program
// then runs with its environment configuration.
func openDebugMode(ctx context.Context, log *slog.Logger, cfg *zonesdk.Config, debugToken, accessToken string) error {
	_, _, _, _ = ctx, cfg, debugToken, accessToken
	log.Warn("debug mode: not supported by this zone version yet")
	return nil
}
