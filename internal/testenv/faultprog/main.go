// Command faultprog is a zone program that misbehaves on request, so
// end-to-end tests can drive every failure a real program can cause: a
// non-JSON result, a result off its protocol, a slow reply, an HTTP error,
// a crash mid-call. It uses the real SDK, like any program.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/openzone/openzone/sdk/zonesdk"
)

func main() {
	addr := flag.String("addr", zonesdk.Addr(), "listen address")
	name := flag.String("name", "faultprog", "name returned as served_by")
	flag.Parse()
	cfg, err := zonesdk.ConfigFromEnv()
	if err != nil {
		slog.Error("config", "err", err)
		os.Exit(2)
	}
	p, err := zonesdk.New(cfg)
	if err != nil {
		slog.Error("sdk", "err", err)
		os.Exit(2)
	}
	// text returns the request's text as the raw result: "not json" makes a
	// non-JSON result (790013), `{"x":1}` one off the protocol (790014).
	p.Handle("text", func(ctx context.Context, req *zonesdk.Request) (string, error) {
		in, err := parse(req)
		if err != nil {
			return "", err
		}
		return in.Text, nil
	})
	p.Handle("sleep", func(ctx context.Context, req *zonesdk.Request) (string, error) {
		in, err := parse(req)
		if err != nil {
			return "", err
		}
		time.Sleep(time.Duration(in.MS) * time.Millisecond)
		return `{}`, nil
	})
	p.Handle("fail", func(ctx context.Context, req *zonesdk.Request) (string, error) {
		return "", errors.New("this ability always fails")
	})
	p.Handle("crash", func(ctx context.Context, req *zonesdk.Request) (string, error) {
		os.Exit(3)
		return "", nil
	})
	p.Handle("echo", func(ctx context.Context, req *zonesdk.Request) (string, error) {
		in, err := parse(req)
		if err != nil {
			return "", err
		}
		b, _ := json.Marshal(map[string]string{"text": in.Text, "served_by": *name})
		return string(b), nil
	})
	if err := http.ListenAndServe(*addr, p); err != nil {
		slog.Error("listen", "err", err)
		os.Exit(1)
	}
}

type input struct {
	Text string `json:"text"`
	MS   int    `json:"ms"`
}

func parse(req *zonesdk.Request) (input, error) {
	var in input
	err := json.Unmarshal([]byte(req.Data), &in)
	return in, err
}
