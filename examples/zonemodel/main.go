// Command zonemodel is OpenZone's example self-owned model (自有模型): a
// deterministic, rule-based chat summariser that shows the pattern every
// model follows. The zone calls it with is_async and a job_info (from a
// program's create_model_task); it acknowledges at once — the zone waits
// at most 5 s for that — then does the work and reports the result with
// program_async_job_call_back from the context of the call.
//
// Ability summarize: the input is whatever the model's input protocol
// expands to (its {chat} and {chatcontent} placeholders filled by the
// zone); the output is
//
//	{"summary":"…","messages":N,"speakers":["…"],"keywords":["…"],"input":"<the request data, verbatim>"}
//
// "input" lets tests check the zone's placeholder expansion byte for byte.
//
// Usage:
//
//	zonemodel [--addr :8080] [--api URL] [--debug-token T --access-token T] [--work 0s]
//
// Configuration comes from OPENZONE_API, OPENZONE_PROGRAM_ID and
// OPENZONE_SECRET like any program (package zonesdk).
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
	"sync"
	"syscall"
	"time"

	"github.com/openzone/openzone/sdk/zonesdk"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "zonemodel:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("zonemodel", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", zonesdk.Addr(), "listen address")
	api := fs.String("api", "", "zone base URL (overrides $"+zonesdk.EnvAPI+")")
	debugToken := fs.String("debug-token", os.Getenv("OPENZONE_DEBUG_TOKEN"), "debug mode: the model's debug credential (调试凭证)")
	accessToken := fs.String("access-token", os.Getenv("OPENZONE_ACCESS_TOKEN"), "debug mode: access_token of the app to debug")
	workTime := fs.Duration("work", 0, "how long the model \"thinks\" before reporting (after the acknowledgement)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if (*debugToken == "") != (*accessToken == "") {
		return errors.New("usage: debug mode needs both --debug-token and --access-token")
	}
	debugMode := *debugToken != ""
	log := slog.New(slog.NewTextHandler(stderr, nil))
	cfg, err := zonesdk.ConfigFromEnv()
	if *api != "" {
		cfg.ZoneURL = *api
	}
	if err != nil && !(debugMode || *api != "") {
		return err
	}
	cfg.Logger = log
	p, err := zonesdk.New(cfg)
	if err != nil {
		return err
	}
	m := &model{p: p, log: log, work: *workTime}
	p.Handle("summarize", m.handle)

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: p, ReadHeaderTimeout: 10 * time.Second}
	log.Info("listening", "addr", ln.Addr().String(), "model_id", p.ProgramID(), "debug_mode", debugMode)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	if debugMode {
		s, err := p.OpenDebugMode(ctx, *debugToken, *accessToken)
		if err != nil {
			srv.Close()
			return fmt.Errorf("debug mode could not be opened: %w", err)
		}
		log.Info("debug mode: SDK half open", "corpid", s.CorpID, "agentid", s.AgentID, "status", s.Status)
	}
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	err = srv.Shutdown(sctx)
	m.jobs.Wait()
	return err
}

type model struct {
	p    *zonesdk.Program
	log  *slog.Logger
	work time.Duration
	jobs sync.WaitGroup
}

// handle acknowledges an async call at once and reports later; a sync
// call (an app calling the model directly) is answered in place.
func (m *model) handle(ctx context.Context, req *zonesdk.Request) (string, error) {
	if !req.IsAsync {
		return summarize(req.Data), nil
	}
	m.jobs.Add(1)
	go func() {
		defer m.jobs.Done()
		ctx, cancel := context.WithTimeout(zonesdk.Detach(ctx), 2*time.Minute)
		defer cancel()
		if m.work > 0 {
			time.Sleep(m.work)
		}
		reply, err := m.p.Invoke(ctx, zonesdk.AsyncJobCallback, map[string]any{"errcode": 0, "result": summarize(req.Data)})
		if err != nil {
			m.log.Error("report failed", "err", err, "request_id", req.RequestID)
			return
		}
		if code, msg := zonesdk.Errcode(reply); code != 0 {
			m.log.Error("report refused", "errcode", code, "errmsg", msg, "request_id", req.RequestID)
			return
		}
		m.log.Info("reported", "ability", req.AbilityID, "request_id", req.RequestID)
	}()
	return "{}", nil
}
