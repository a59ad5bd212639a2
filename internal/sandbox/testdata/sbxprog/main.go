// Command sbxprog is the program the sandbox tests run: it reports what it
// can and cannot do from where it runs. Plain HTTP: GET /do?op=OP&arg=ARG.
// As a zone program (with OPENZONE_SECRET set), the ability "do" takes
// {"op", "arg"} and answers the same JSON, and the op "invoke" calls the
// SDK interface ping. It listens on $HOST:$PORT, or --addr (":8080" hard
// binds as WeCom's samples do).
//
// Ops: whoami, connect (arg host:port), lookup (arg name), fetch (arg URL),
// read and write (arg path; write takes data), fill (arg MB, written to
// /mnt/data/fill), alloc (arg MB, kept), exit (arg status).
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/openzone/openzone/sdk/zonesdk"
)

var (
	held [][]byte // memory alloc keeps
	sdk  *zonesdk.Program
)

func main() {
	addr := flag.String("addr", "", "listen address (default $HOST:$PORT)")
	flag.Parse()
	if *addr == "" {
		*addr = zonesdk.Addr()
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /do", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(do(r.Context(), r.FormValue("op"), r.FormValue("arg"), r.FormValue("data")))
	})
	if os.Getenv(zonesdk.EnvSecret) != "" {
		cfg, err := zonesdk.ConfigFromEnv()
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		if sdk, err = zonesdk.New(cfg); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		sdk.Handle("do", func(ctx context.Context, req *zonesdk.Request) (string, error) {
			var in struct{ Op, Arg, Data string }
			if err := json.Unmarshal([]byte(req.Data), &in); err != nil {
				return "", err
			}
			b, err := json.Marshal(do(ctx, in.Op, in.Arg, in.Data))
			return string(b), err
		})
		mux.Handle("POST /{$}", sdk)
	}
	fmt.Println("sbxprog listening on", *addr)
	if err := http.ListenAndServe(*addr, mux); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// do runs one op and says how it went: {"result": …, "err": "…"}.
func do(ctx context.Context, op, arg, data string) map[string]any {
	res, err := run(ctx, op, arg, data)
	out := map[string]any{"result": res, "err": ""}
	if err != nil {
		out["err"] = err.Error()
	}
	return out
}

func run(ctx context.Context, op, arg, data string) (any, error) {
	switch op {
	case "whoami":
		host, _ := os.Hostname()
		cwd, _ := os.Getwd()
		return map[string]any{"uid": os.Getuid(), "gid": os.Getgid(), "pid": os.Getpid(), "ppid": os.Getppid(),
			"hostname": host, "cwd": cwd, "api": os.Getenv("OPENZONE_API"), "port": os.Getenv("PORT"),
			"instance": os.Getenv("OPENZONE_INSTANCE"), "extra": os.Getenv("SBX_EXTRA")}, nil
	case "connect":
		c, err := net.DialTimeout("tcp", arg, 3*time.Second)
		if err == nil {
			c.Close()
		}
		return nil, err
	case "lookup":
		ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		return net.DefaultResolver.LookupHost(ctx, arg)
	case "fetch":
		resp, err := (&http.Client{Timeout: 5 * time.Second}).Get(arg)
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return map[string]any{"status": resp.StatusCode, "body": string(b)}, nil
	case "read":
		if fi, err := os.Stat(arg); err == nil && fi.IsDir() {
			ents, err := os.ReadDir(arg)
			var names []string
			for _, e := range ents {
				names = append(names, e.Name())
			}
			return strings.Join(names, " "), err
		}
		b, err := os.ReadFile(arg)
		return string(b), err
	case "write":
		return nil, os.WriteFile(arg, []byte(data), 0o644)
	case "fill":
		mb, _ := strconv.Atoi(arg)
		return nil, os.WriteFile("/mnt/data/fill", make([]byte, mb<<20), 0o644)
	case "alloc":
		mb, _ := strconv.Atoi(arg)
		for range mb {
			b := make([]byte, 1<<20)
			for i := range b {
				b[i] = 1
			}
			held = append(held, b)
		}
		return len(held), nil
	case "exit":
		code, _ := strconv.Atoi(arg)
		os.Exit(code)
	case "invoke":
		if sdk == nil {
			return nil, fmt.Errorf("not a zone program here")
		}
		return sdk.Invoke(ctx, "ping", map[string]any{})
	}
	return nil, fmt.Errorf("unknown op %q", op)
}
