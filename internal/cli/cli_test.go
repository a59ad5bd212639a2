package cli_test

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/openzone/openzone"
	"github.com/openzone/openzone/internal/cli"
	"github.com/openzone/openzone/internal/store"
	"github.com/openzone/openzone/internal/testenv"
	"github.com/openzone/openzone/sdk/zonesdk"
	"github.com/openzone/openzone/sdk/zonewire"
)

const seed = `
providers: [{id: isv, name: ISV}]
corps: [{corpid: wwdemo, name: Demo, members: [{userid: zhangsan, name: Z}], external_contacts: [{external_userid: wmcustomer1, name: C}]}]
programs:
  - id: prog-echo
    provider: isv
    deploy: {command: ["{{EXAMPLE}}", --name, cli], instances: 1}
    abilities: [{id: echo, input: {"text": ""}, output: {"text": "", "served_by": ""}}]
apps: [{corpid: wwdemo, agentid: 1000002, type: self_built, secret: s, programs: [prog-echo]}]
`

// run runs the CLI against z and returns exit code, stdout and stderr.
func run(z *testenv.Zone, args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	if z != nil {
		args = append(args, "--zone", z.URL, "--admin-token", z.AdminToken())
	}
	code := cli.Main(args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestCLI(t *testing.T) {
	z := testenv.Start(t, testenv.Options{Seed: seed})

	t.Run("Call", func(t *testing.T) {
		code, out, errs := run(z, "call", "prog-echo", "echo", `{"text":"hi"}`)
		if code != 0 || strings.TrimSpace(out) != `{"text":"hi","served_by":"cli"}` {
			t.Fatalf("exit %d out %q err %q", code, out, errs)
		}
	})
	t.Run("CallJSON", func(t *testing.T) {
		code, out, _ := run(z, "call", "--json", "prog-echo", "echo", `{"text":"hi"}`)
		var r map[string]any
		if code != 0 || json.Unmarshal([]byte(out), &r) != nil || r["errcode"] != float64(0) {
			t.Fatalf("exit %d out %q", code, out)
		}
	})
	t.Run("CallErrcode", func(t *testing.T) {
		code, _, errs := run(z, "call", "prog-echo", "echo", `{"text":1}`)
		if code != cli.ExitFailure || !strings.Contains(errs, "790016") {
			t.Fatalf("exit %d err %q", code, errs)
		}
	})
	t.Run("Task", func(t *testing.T) {
		code, out, errs := run(z, "task", "prog-echo", "echo", `{"text":"async"}`)
		// Not a terminal: plain lines, no spinner's control codes.
		if strings.ContainsAny(errs, "\r\x1b") {
			t.Errorf("task wrote control codes to a non-terminal: %q", errs)
		}
		if code != 0 || strings.TrimSpace(out) != `{"text":"async","served_by":"cli"}` {
			t.Fatalf("exit %d out %q err %q", code, out, errs)
		}
		code, out, _ = run(z, "task", "--no-wait", "prog-echo", "echo", `{"text":"later"}`)
		jobID := strings.TrimSpace(out)
		if code != 0 || !strings.HasPrefix(jobID, "job_") {
			t.Fatalf("--no-wait: exit %d out %q", code, out)
		}
		code, out, _ = run(z, "task", "--json", "--job", jobID)
		var r struct {
			JobID        string `json:"jobid"`
			ResponseData string `json:"response_data"`
		}
		if code != 0 || json.Unmarshal([]byte(out), &r) != nil || r.JobID != jobID || !strings.Contains(r.ResponseData, "later") {
			t.Fatalf("--job: exit %d out %q", code, out)
		}
		code, _, errs = run(z, "task", "prog-echo", "echo", `{"text":1}`)
		if code != cli.ExitFailure || !strings.Contains(errs, "790016") {
			t.Fatalf("bad request: exit %d err %q", code, errs)
		}
		code, _, errs = run(z, "task", "--job", "job_nope")
		if code != cli.ExitFailure || !strings.Contains(errs, "40058") {
			t.Fatalf("unknown job: exit %d err %q", code, errs)
		}
	})
	t.Run("Programs", func(t *testing.T) {
		code, out, _ := run(z, "programs")
		if code != 0 || !strings.Contains(out, "prog-echo") || !strings.Contains(out, "1/1 healthy") {
			t.Fatalf("exit %d out %q", code, out)
		}
	})
	t.Run("Traffic", func(t *testing.T) {
		code, out, _ := run(z, "traffic", "--program", "prog-echo")
		if code != 0 || !strings.Contains(out, "deployed") || !strings.Contains(out, "echo") {
			t.Fatalf("exit %d out %q", code, out)
		}
	})
	t.Run("Secret", func(t *testing.T) {
		// prog-echo is run by the zone: its secret is not for reading out.
		code, out, errs := run(z, "secret", "prog-echo")
		if code != cli.ExitFailure || !strings.Contains(errs, "run by the zone itself") || strings.Contains(out, "OPENZONE_SECRET") {
			t.Fatalf("secret of a zone-run program: exit %d out %q err %q", code, out, errs)
		}
		code, out, errs = run(z, "secret", "prog-echo", "--force")
		var sec string
		for _, l := range strings.Split(out, "\n") {
			if v, ok := strings.CutPrefix(l, "OPENZONE_SECRET="); ok {
				sec = v
			}
		}
		if code != 0 || !strings.Contains(out, "OPENZONE_PROGRAM_ID=prog-echo") || sec == "" {
			t.Fatalf("exit %d out %q err %q", code, out, errs)
		}
		// The secret works: an instance holding it is the program.
		s, err := zonewire.ParseSecret(sec)
		if err != nil {
			t.Fatal(err)
		}
		p, err := zonesdk.New(zonesdk.Config{ZoneURL: z.URL, ProgramID: "prog-echo", Secret: s})
		if err != nil {
			t.Fatal(err)
		}
		ctx := zonesdk.WithInvokeContext(t.Context(), zonesdk.InvokeContext{CorpID: "wwdemo", AgentID: 1000002})
		reply, err := p.Invoke(ctx, "ping", map[string]any{})
		if code, msg := zonesdk.Errcode(reply); err != nil || code != 0 {
			t.Fatalf("ping with the revealed secret: %v %d %s", err, code, msg)
		}
		// The reveal is noted to the provider, without the secret.
		var notes struct {
			Notifications []struct{ Kind, Body string } `json:"notifications"`
		}
		z.Admin("GET", "/admin/v1/notifications", nil, &notes)
		found := false
		for _, n := range notes.Notifications {
			if n.Kind == "program_secret" {
				found = true
				if !strings.Contains(n.Body, "although the zone runs this program itself (forced)") {
					t.Fatalf("notification does not say the program is zone-run: %s", n.Body)
				}
				if strings.Contains(n.Body, sec[strings.Index(sec, ":")+1:]) {
					t.Fatalf("notification shows the secret: %s", n.Body)
				}
			}
		}
		if !found {
			t.Fatalf("no program_secret notification: %+v", notes.Notifications)
		}
		if code, _, errs := run(z, "secret", "no-such-program"); code != cli.ExitFailure || !strings.Contains(errs, "800001") {
			t.Fatalf("unknown program: exit %d err %q", code, errs)
		}
	})
	t.Run("Logs", func(t *testing.T) {
		code, out, _ := run(z, "logs", "prog-echo", "--output")
		if code != 0 || !strings.Contains(out, "started pid") {
			t.Fatalf("exit %d out %q", code, out)
		}
	})
	t.Run("LogsSearch", func(t *testing.T) {
		// Lines as the program's SDK would have sent them (日志查询).
		now := z.Clock.Now()
		rid := "0123456789abcdef0123456789abcdef"
		var lines []*openzone.ProgramLog
		for i, lv := range []int{openzone.LogLevelError, openzone.LogLevelInfo, openzone.LogLevelDebug} {
			lines = append(lines, &openzone.ProgramLog{ProgramID: "prog-echo", Time: now.Add(time.Duration(i) * time.Millisecond),
				Level: lv, ReqID: rid, PID: 7, TID: 8, File: "main.go", Line: i, Text: "line " + strconv.Itoa(i), Instance: "prog-echo/1", Received: now})
		}
		if _, err := z.Store().ProgramLogInsert(t.Context(), store.ProgramLogInsertParams{ProgramID: "prog-echo",
			Hour: now.Truncate(time.Hour), Lines: lines, Sizes: []int64{1, 1, 1}, Dropped: 2}); err != nil {
			t.Fatal(err)
		}
		code, out, errs := run(z, "logs", "prog-echo", "--since", "1h")
		got := strings.Split(strings.TrimSpace(out), "\n")
		if code != 0 || len(got) != 3 || !strings.HasPrefix(got[0], "<7,8>,") || !strings.Contains(got[0], ",ERR,"+rid+",main.go,0,line 0  [prog-echo/1]") {
			t.Fatalf("exit %d out %q err %q", code, out, errs)
		}
		if !strings.Contains(errs, "2 lines were dropped") {
			t.Errorf("the dropped lines are not reported: %q", errs)
		}
		if code, out, _ := run(z, "logs", "prog-echo", "--level", "INFO"); code != 0 || strings.Contains(out, ",DBG,") || strings.Count(out, "\n") != 2 {
			t.Errorf("--level INFO: exit %d out %q", code, out)
		}
		if code, out, _ := run(z, "logs", "--req-id", rid); code != 0 || strings.Count(out, "\n") != 3 {
			t.Errorf("--req-id alone: exit %d out %q", code, out)
		}
		if code, _, errs := run(z, "logs", "prog-echo", "--level", "WARN"); code != cli.ExitFailure || !strings.Contains(errs, "level") {
			t.Errorf("--level WARN: exit %d err %q", code, errs)
		}
		if code, _, _ := run(z, "logs", "prog-echo", "--since", "yesterday"); code != cli.ExitUsage {
			t.Errorf("--since yesterday: exit %d, want usage", code)
		}
		if code, _, _ := run(z, "logs"); code != cli.ExitUsage {
			t.Errorf("no program: exit %d, want usage", code)
		}
	})
	t.Run("SeedApply", func(t *testing.T) {
		dir := t.TempDir()
		good := filepath.Join(dir, "more.yaml")
		os.WriteFile(good, []byte("corps: [{corpid: wwmore, name: More}]\n"), 0o600)
		code, out, errs := run(z, "seed", "apply", good)
		if code != 0 || !strings.Contains(out, "1 corps") {
			t.Fatalf("exit %d out %q err %q", code, out, errs)
		}
		bad := filepath.Join(dir, "bad.yaml")
		os.WriteFile(bad, []byte("corps:\n  - corpid: wwx\n    nmae: X\n"), 0o600)
		code, _, errs = run(z, "seed", "apply", bad)
		if code != cli.ExitFailure || !strings.Contains(errs, "bad.yaml:3") || !strings.Contains(errs, `"nmae"`) {
			t.Fatalf("exit %d err %q", code, errs)
		}
	})
	t.Run("ChatSend", func(t *testing.T) {
		code, out, errs := run(z, "chat", "send", "你好", "--from", "zhangsan", "--to", "wmcustomer1")
		if code != 0 || !strings.Contains(out, "archived") {
			t.Fatalf("exit %d out %q err %q", code, out, errs)
		}
		// The app has no public key and no receiving program: the CLI says
		// why no event came, and what to run.
		if !strings.Contains(out, "0 event(s) raised") || !strings.Contains(out, "no event: no app of corp wwdemo has both a public key (set_public_key) and a receiving program (set_receive_callback)") ||
			!strings.Contains(out, "set_receive_callback '{\"program_id\":\"PROGRAM\"}' --corp wwdemo --agent 1000002") {
			t.Fatalf("no explanation of the missing event:\n%s", out)
		}
		code, _, errs = run(z, "chat", "send", "x", "--from", "nobody", "--to", "wmcustomer1")
		if code != cli.ExitFailure || !strings.Contains(errs, "nobody") {
			t.Fatalf("unknown sender: exit %d err %q", code, errs)
		}
	})
	t.Run("ChatImport", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "msgs.jsonl")
		var b strings.Builder
		for i := 0; i < 25; i++ {
			b.WriteString(`{"sender":{"type":2,"id":"wmcustomer1"},"receiver_list":[{"type":1,"id":"zhangsan"}],"msgtype":1,"text":{"content":"m"}}` + "\n\n")
		}
		os.WriteFile(path, []byte(b.String()), 0o600)
		code, out, errs := run(z, "chat", "import", path, "--batch", "10")
		if code != 0 || !strings.Contains(out, "imported 25 messages") || !strings.Contains(errs, "25/25 100%") {
			t.Fatalf("exit %d out %q err %q", code, out, errs)
		}
		bad := filepath.Join(t.TempDir(), "bad.jsonl")
		os.WriteFile(bad, []byte(`{"sender":{"type":1,"id":"zhangsan"},"receiver_list":[{"type":2,"id":"wmcustomer1"}],"msgtype":1,"text":{"content":"ok"}}`+"\n"+`{"msgtype":99}`+"\n"), 0o600)
		code, _, errs = run(z, "chat", "import", bad)
		if code != cli.ExitFailure || !strings.Contains(errs, "line 1") || !strings.Contains(errs, "msgtype 99") {
			t.Fatalf("bad file: exit %d err %q", code, errs)
		}
	})
	t.Run("TrafficReplayExport", func(t *testing.T) {
		if code, _, errs := run(z, "call", "prog-echo", "echo", `{"text":"to replay"}`); code != 0 {
			t.Fatalf("call: %s", errs)
		}
		var list struct{ Traffic []struct{ ID int64 } }
		z.Admin("GET", "/admin/v1/traffic?kind=call&limit=1", nil, &list)
		id := strconv.FormatInt(list.Traffic[0].ID, 10)
		code, out, errs := run(z, "traffic", "replay", id, "--request", `{"text":"edited"}`)
		if code != 0 || strings.TrimSpace(out) != `{"text":"edited","served_by":"cli"}` {
			t.Fatalf("replay: exit %d out %q err %q", code, out, errs)
		}
		if code, _, errs := run(z, "traffic", "replay", id, "--request", `{"text":1}`); code != cli.ExitFailure || !strings.Contains(errs, "790016") {
			t.Fatalf("replay off-protocol: exit %d err %q", code, errs)
		}
		file := filepath.Join(t.TempDir(), "fx.json")
		code, _, errs = run(z, "traffic", "export", id, "-o", file)
		b, _ := os.ReadFile(file)
		if code != 0 || !strings.Contains(string(b), `"openzone.traffic"`) || !strings.Contains(string(b), "to replay") {
			t.Fatalf("export: exit %d err %q file %s", code, errs, b)
		}
		if code, _, errs := run(z, "traffic", "export", "x"); code != cli.ExitUsage {
			t.Fatalf("export x: exit %d err %q", code, errs)
		}
	})
	t.Run("ErrBadAdminToken", func(t *testing.T) {
		var out, errb bytes.Buffer
		code := cli.Main([]string{"programs", "--zone", z.URL, "--admin-token", "wrong"}, &out, &errb)
		if code != cli.ExitFailure || !strings.Contains(errb.String(), "admin token") {
			t.Fatalf("exit %d err %q", code, errb.String())
		}
	})
	t.Run("ErrZoneUnreachable", func(t *testing.T) {
		var out, errb bytes.Buffer
		code := cli.Main([]string{"programs", "--zone", "http://127.0.0.1:1", "--admin-token", "x"}, &out, &errb)
		if code != cli.ExitFailure || !strings.Contains(errb.String(), "cannot reach") {
			t.Fatalf("exit %d err %q", code, errb.String())
		}
	})
}

func TestCLIUsage(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		code int
		has  string
	}{
		{"Help", []string{"help"}, cli.ExitOK, "commands:"},
		{"Unknown", []string{"frobnicate"}, cli.ExitUsage, "unknown command"},
		{"CallMissingArgs", []string{"call", "prog"}, cli.ExitUsage, "PROGRAM ABILITY"},
		{"BadFlag", []string{"serve", "--nope"}, cli.ExitUsage, "nope"},
		{"Version", []string{"version"}, cli.ExitOK, "openzone"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errs := run(nil, tc.args...)
			if code != tc.code || !strings.Contains(out+errs, tc.has) {
				t.Fatalf("exit %d, want %d; output %q %q", code, tc.code, out, errs)
			}
		})
	}
}

// TestCompletion: the completion callback offers commands, subcommands,
// flags and the zone's program ids; the bash script drives it.
func TestCompletion(t *testing.T) {
	z := testenv.Start(t, testenv.Options{Seed: seed})
	complete := func(words ...string) []string {
		var out, errb bytes.Buffer
		if code := cli.Main(append([]string{"__complete"}, words...), &out, &errb); code != 0 {
			t.Fatalf("__complete %q: exit %d %s", words, code, errb.String())
		}
		return strings.Fields(out.String())
	}
	has := func(got []string, want ...string) bool {
		for _, w := range want {
			if !slices.Contains(got, w) {
				return false
			}
		}
		return true
	}
	if got := complete(""); !has(got, "call", "debug", "completion", "sdk") || slices.Contains(got, "__complete") {
		t.Errorf("first words: %v", got)
	}
	if got := complete("debug", "l"); !slices.Equal(got, []string{"listen"}) {
		t.Errorf("debug l: %v", got)
	}
	if got := complete("call", "--"); !has(got, "--corp", "--agent", "--notify-id", "--zone", "--json") {
		t.Errorf("call flags: %v", got)
	}
	if got := complete("call", "--zone", z.URL, "--admin-token", z.AdminToken(), ""); !slices.Equal(got, []string{"prog-echo"}) {
		t.Errorf("call's program: %v", got)
	}
	if got := complete("call", "--zone", z.URL, "--admin-token", z.AdminToken(), "prog-echo", ""); len(got) != 0 {
		t.Errorf("after the program: %v", got)
	}
	if got := complete("completion", ""); !slices.Equal(got, []string{"bash", "fish", "zsh"}) {
		t.Errorf("completion's shells: %v", got)
	}
	// The bash script, with the binary on PATH as users have it.
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("no bash")
	}
	bin := t.TempDir()
	if err := os.Symlink(testenv.CLI(t), filepath.Join(bin, "openzone")); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("bash", "-c", `source <(openzone completion bash); COMP_WORDS=(openzone debug l); COMP_CWORD=2; _openzone; printf '%s\n' "${COMPREPLY[@]}"`)
	cmd.Env = append(os.Environ(), "PATH="+bin+":"+os.Getenv("PATH"))
	out, err := cmd.CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "listen" {
		t.Fatalf("bash completion: %v %q", err, out)
	}
	for _, sh := range []string{"zsh", "fish"} {
		if code, out, _ := run(nil, "completion", sh); code != 0 || !strings.Contains(out, "__complete") {
			t.Errorf("completion %s: exit %d\n%s", sh, code, out)
		}
	}
}
