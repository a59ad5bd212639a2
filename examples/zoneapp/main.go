// Command zoneapp is OpenZone's example app (示例应用): the app side of the
// zone's "fetch new messages" choreography (docs/wecom.md). It receives
// 应用接收专区通知 (program_notify) on its callback URL, fetches the event
// with get_callback_data, pulls new messages with the program's
// invoke_sync_msg, RSA-decrypts each message's secret_key and shows the
// message through the zone's 会话展示组件 stand-in (/display/message).
// GET /messages lists what it showed. See README.md.
//
// It uses the standard library only, as an app of yours would: the
// callback decryption is in callback.go.
//
// Usage:
//
//	zoneapp --key app.pem --gen-key                      # create a key, print its public key, exit
//	zoneapp --zone URL --corpid ID --secret S --token T --aes-key K \
//	        --program PROGRAM --key app.pem [--set-key [--key-ver N]] [--addr 127.0.0.1:9000]
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
)

// shutdownTimeout bounds the graceful shutdown.
const shutdownTimeout = 15 * time.Second

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		<-ctx.Done()
		stop() // a second signal kills the process at once
	}()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr, nil); err != nil {
		fmt.Fprintln(os.Stderr, "zoneapp:", err)
		os.Exit(1)
	}
}

type config struct {
	addr, zone, corpID, secret, token, aesKey, program, keyPath string
	genKey, setKey                                              bool
	keyVer                                                      int
}

func parseFlags(args []string, stderr io.Writer) (*config, error) {
	c := &config{}
	fs := flag.NewFlagSet("zoneapp", flag.ContinueOnError)
	fs.SetOutput(stderr)
	zone := os.Getenv("OPENZONE_URL")
	if zone == "" {
		zone = "http://127.0.0.1:8780"
	}
	fs.StringVar(&c.addr, "addr", "127.0.0.1:9000", "listen address of the callback URL (and of GET /messages)")
	fs.StringVar(&c.zone, "zone", zone, "zone base URL ($OPENZONE_URL)")
	fs.StringVar(&c.corpID, "corpid", "", "corpid of the app's corp (also the callback receiveid)")
	fs.StringVar(&c.secret, "secret", "", "app secret, for gettoken")
	fs.StringVar(&c.token, "token", "", "callback Token")
	fs.StringVar(&c.aesKey, "aes-key", "", "callback EncodingAESKey (43 characters)")
	fs.StringVar(&c.program, "program", "", "program_id of the zone program serving get_callback_data and invoke_sync_msg")
	fs.StringVar(&c.keyPath, "key", "", "path of the app's RSA private key (PEM)")
	fs.BoolVar(&c.genKey, "gen-key", false, "generate a 2048-bit key at --key if missing, and print its public key")
	fs.BoolVar(&c.setKey, "set-key", false, "on startup call set_public_key and set_receive_callback")
	fs.IntVar(&c.keyVer, "key-ver", 1, "public_key_ver for set_public_key (must grow when the key changes)")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	if c.keyPath == "" {
		return nil, errors.New("--key is required")
	}
	return c, nil
}

// missing names the flags serving needs that are empty.
func (c *config) missing() []string {
	var m []string
	for _, f := range []struct{ name, v string }{
		{"--zone", c.zone}, {"--corpid", c.corpID}, {"--secret", c.secret}, {"--token", c.token},
		{"--aes-key", c.aesKey}, {"--program", c.program}, {"--addr", c.addr},
	} {
		if f.v == "" {
			m = append(m, f.name)
		}
	}
	return m
}

// run parses args and serves until ctx is done; ready, when not nil, is
// told the listen address once the callback URL is served and, with
// --set-key, the key and the receiving program are set.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, ready func(net.Addr)) error {
	cfg, err := parseFlags(args, stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))

	key, created, err := loadKey(cfg.keyPath, cfg.genKey)
	if err != nil {
		return err
	}
	pub, err := publicKeyPEM(key)
	if err != nil {
		return err
	}
	if created {
		log.Info("generated RSA-2048 key", "path", cfg.keyPath)
	}
	if cfg.genKey {
		fmt.Fprint(stdout, pub)
		if cfg.corpID == "" { // key only
			return nil
		}
	}
	if m := cfg.missing(); len(m) > 0 {
		return fmt.Errorf("missing %s", strings.Join(m, ", "))
	}
	cb, err := newCallbackCrypto(cfg.token, cfg.aesKey, cfg.corpID)
	if err != nil {
		return err
	}

	appCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	a := newApp(appCtx, newZoneClient(cfg.zone, cfg.corpID, cfg.secret), cb, key, cfg.program, log)

	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: a.handler(), ReadHeaderTimeout: 10 * time.Second}
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	log.Info("callback URL served", "addr", ln.Addr().String(), "zone", cfg.zone, "program_id", cfg.program)

	// Serve first, then register: events may follow set_receive_callback.
	if cfg.setKey {
		if err := a.register(ctx, pub, cfg.keyVer); err != nil {
			srv.Close()
			return err
		}
	}
	if ready != nil {
		ready(ln.Addr())
	}

	select {
	case err := <-serveErr:
		return err
	case <-ctx.Done():
	}
	sctx, scancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer scancel()
	err = srv.Shutdown(sctx)
	cancel() // stop choreographies still running
	if werr := a.wait(sctx); err == nil {
		err = werr
	}
	log.Info("stopped")
	return err
}
