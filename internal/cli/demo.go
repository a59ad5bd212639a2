package cli

import (
	_ "embed"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/openzone/openzone/server"
)

//go:embed demo.yaml
var demoSeed string

func init() {
	register(&command{
		name:  "demo",
		args:  "[--addr 127.0.0.1:8780] [--data ./openzone-data]",
		short: "run a demo zone: SQLite, the example program deployed, seed data",
		run:   runDemo,
	})
}

func runDemo(e *env, args []string) error {
	var f serveFlags
	if err := f.parse(e, "demo", args); err != nil {
		return err
	}
	if f.seed != "" {
		return usagef("demo brings its own seed; use serve --seed for yours")
	}
	if err := os.MkdirAll(f.data, 0o700); err != nil {
		return err
	}
	prog, err := buildExample(e, f.data, "zoneprogram")
	if err != nil {
		return err
	}
	model, err := buildExample(e, f.data, "zonemodel")
	if err != nil {
		return err
	}
	seedPath := filepath.Join(f.data, "demo-seed.yaml")
	seed := strings.NewReplacer("{{PROGRAM}}", prog, "{{MODEL}}", model).Replace(demoSeed)
	if err := os.WriteFile(seedPath, []byte(seed), 0o600); err != nil {
		return err
	}
	f.seed = seedPath
	return serve(e, &f, func(srv *server.Server) {
		r := &remote{zone: srv.URL(), token: srv.AdminToken()}
		keyPath, err := setUpDemoArchive(r, f.data)
		if err != nil {
			fmt.Fprintf(e.stderr, "openzone demo: the demo app's archive set-up failed (messages will raise no events): %v\n", err)
		}
		self := "openzone"
		if _, err := os.Stat("cmd/openzone"); err == nil {
			self = "go run ./cmd/openzone"
		}
		u := srv.URL()
		fmt.Fprintf(e.stdout, `
Demo zone ready: corp wwdemo, self-built app 1000002 (secret demo-secret),
program prog-echo (示例程序) deployed as 2 instances, model model-summary
(自有模型). In another terminal:

  # a sync call (应用同步调用专区程序) through the CLI
  %[1]s call prog-echo echo '{"text":"hello"}'

  # an async call (应用异步调用专区程序): waits for the program's report
  %[1]s task prog-echo echo '{"text":"hello"}'

  # the same with curl, as a WeCom app would do it
  TOKEN=$(curl -s '%[2]s/cgi-bin/gettoken?corpid=wwdemo&corpsecret=demo-secret' | sed -E 's/.*"access_token":"([^"]+)".*/\1/')
  curl -s -X POST "%[2]s/cgi-bin/chatdata/sync_call_program?access_token=$TOKEN" \
    -d '{"program_id":"prog-echo","ability_id":"echo","request_data":"{\"text\":\"hello\"}"}'

  # archive a message (会话存档): prog-echo gets conversation_new_message and
  # tells the app with spec_notify_app (the app's private key: %[3]s)
  %[1]s chat send '您好' --from zhangsan --to wmcustomer1

  # what crossed the zone, and the program's log
  %[1]s traffic
  %[1]s logs prog-echo

  # the web console (控制台): sign in with the admin token (in the data directory's admin-token)
  %[2]s/console/

Ctrl-C stops the zone and its programs.
`, self, u, keyPath)
	})
}

// buildExample returns the path of an example (zoneprogram, zonemodel):
// built from source when run inside the repository with a Go toolchain,
// else a binary of that name next to this executable.
func buildExample(e *env, dataDir, name string) (string, error) {
	out, err := filepath.Abs(filepath.Join(dataDir, "bin", name))
	if err != nil {
		return "", err
	}
	if _, err := os.Stat("examples/" + name + "/main.go"); err == nil {
		if goBin, err := exec.LookPath("go"); err == nil {
			fmt.Fprintf(e.stdout, "building examples/%s with go build (the first time compiles its dependencies: up to a minute on a small machine)…\n", name)
			start := time.Now()
			cmd := exec.Command(goBin, "build", "-o", out, "./examples/"+name)
			cmd.Stdout, cmd.Stderr = e.stderr, e.stderr
			if err := cmd.Run(); err != nil {
				return "", fmt.Errorf("building examples/%s failed: %v", name, err)
			}
			fmt.Fprintf(e.stdout, "built examples/%s in %s\n", name, time.Since(start).Round(100*time.Millisecond))
			return out, nil
		}
	}
	if self, err := os.Executable(); err == nil {
		p := filepath.Join(filepath.Dir(self), name)
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("cannot find examples/%s: run the demo from the repository root (with Go installed), or put a %s binary next to openzone", name, name)
}
