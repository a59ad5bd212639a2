package cli

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/openzone/openzone"
	"github.com/openzone/openzone/internal/human"
)

func init() {
	register(&command{
		name:  "programs",
		args:  "[--zone URL] [--json]",
		short: "list programs and models with their deployment and instances",
		run:   runPrograms,
	})
	register(&command{
		name:  "secret",
		args:  "PROGRAM [--force] [--json]",
		short: "print OPENZONE_SECRET for an instance the zone does not start (deploy.url; --force for a zone-run one); the reveal is noted to the provider",
		run:   runSecret,
	})
	register(&command{
		name:  "logs",
		args:  "[PROGRAM] [--level ERR|INFO|DBG] [--req-id ID] [--since 1h] [--until TIME] [--limit 200] [--json] | PROGRAM --output [--tail 200]",
		short: "search a program's logs (日志查询: the lines it logged through the SDK), or --output: its instances' stdout and stderr",
		run:   runLogs,
	})
}

type instanceView struct {
	Name     string `json:"name"`
	URL      string `json:"url"`
	PID      int    `json:"pid"`
	State    string `json:"state"`
	Restarts int    `json:"restarts"`
	Sandbox  *struct {
		Blocked int `json:"blocked"`
	} `json:"sandbox"`
}

type programView struct {
	ID        string `json:"id"`
	Kind      string `json:"kind"`
	Name      string `json:"name"`
	Released  bool   `json:"released"`
	Abilities []struct {
		ID string `json:"id"`
	} `json:"abilities"`
	Instances []instanceView `json:"instances"`
	Isolation *struct {
		Sandboxed bool `json:"sandboxed"`
	} `json:"isolation"`
}

func runPrograms(e *env, args []string) error {
	var r remote
	fs := newFlags(e, "programs")
	r.flags(fs)
	if _, err := parse(fs, args); err != nil {
		return err
	}
	var raw map[string]any
	var out struct {
		Programs []programView `json:"programs"`
	}
	if r.json {
		if err := r.admin("GET", "/admin/v1/programs", nil, nil, "", &raw); err != nil {
			return err
		}
		return printJSON(e.stdout, raw)
	}
	if err := r.admin("GET", "/admin/v1/programs", nil, nil, "", &out); err != nil {
		return err
	}
	if len(out.Programs) == 0 {
		fmt.Fprintln(e.stdout, "no programs yet: apply a seed file with 'openzone seed apply FILE'")
		return nil
	}
	tw := tabwriter.NewWriter(e.stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PROGRAM\tKIND\tRELEASED\tABILITIES\tINSTANCES\tSANDBOX")
	for _, p := range out.Programs {
		inst, sbx := "not deployed", "-"
		if len(p.Instances) > 0 {
			healthy, blocked := 0, 0
			for _, i := range p.Instances {
				if i.State == "healthy" {
					healthy++
				}
				if i.Sandbox != nil {
					blocked += i.Sandbox.Blocked
				}
			}
			inst = strconv.Itoa(healthy) + "/" + strconv.Itoa(len(p.Instances)) + " healthy"
			sbx = "off"
			if p.Isolation != nil && p.Isolation.Sandboxed {
				sbx = "on, " + strconv.Itoa(blocked) + " blocked"
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%v\t%d\t%s\t%s\n", p.ID, p.Kind, p.Released, len(p.Abilities), inst, sbx)
	}
	return tw.Flush()
}

func runLogs(e *env, args []string) error {
	var r remote
	fs := newFlags(e, "logs")
	r.flags(fs)
	output := fs.Bool("output", false, "print the program instances' standard output and error, and the zone's lines about them, instead of its SDK logs")
	tail := fs.Int("tail", 200, "with --output: number of lines")
	level := fs.String("level", "", "lines at this level and the more severe: ERR, INFO or DBG (default all)")
	reqID := fs.String("req-id", "", "lines of one call: its request id (the inspector's request_id)")
	since := fs.String("since", "", "lines logged since: a duration back from now (1h, 2d) or an RFC 3339 time")
	until := fs.String("until", "", "lines logged before: a duration back from now or an RFC 3339 time")
	limit := fs.Int("limit", 200, "at most this many lines (1–1000), the newest")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if *output {
		if len(pos) != 1 {
			return usagef("want exactly one PROGRAM with --output")
		}
		return printOutput(e, &r, pos[0], *tail)
	}
	if len(pos) > 1 || len(pos) == 0 && *reqID == "" {
		return usagef("want a PROGRAM, or --req-id to search every program")
	}
	q := url.Values{"limit": {strconv.Itoa(*limit)}}
	if len(pos) == 1 {
		q.Set("program_id", pos[0])
	}
	for name, v := range map[string]string{"level": *level, "req_id": *reqID} {
		if v != "" {
			q.Set(name, v)
		}
	}
	for name, v := range map[string]string{"since": *since, "until": *until} {
		if v == "" {
			continue
		}
		t, err := timeArg(v)
		if err != nil {
			return usagef("--%s: %v", name, err)
		}
		q.Set(name, t.UTC().Format(time.RFC3339Nano))
	}
	var out struct {
		Lines []struct {
			Time     time.Time `json:"time"`
			Level    int       `json:"level"`
			ReqID    string    `json:"req_id"`
			PID      int64     `json:"pid"`
			TID      int64     `json:"tid"`
			File     string    `json:"file"`
			Line     int       `json:"line"`
			Text     string    `json:"text"`
			Instance string    `json:"instance"`
			Debug    bool      `json:"debug"`
		} `json:"lines"`
		Hours []struct {
			Hour    time.Time `json:"hour"`
			Dropped int64     `json:"dropped"`
		} `json:"hours"`
		CapBytes int64 `json:"cap_bytes"`
	}
	var raw json.RawMessage
	if err := r.admin("GET", "/admin/v1/logs", q, nil, "", &raw); err != nil {
		return err
	}
	if r.json {
		return printJSON(e.stdout, raw)
	}
	if err := json.Unmarshal(raw, &out); err != nil {
		return err
	}
	// Oldest first, as a log reads; each line in WeCom's format, then
	// where it came from.
	for i := len(out.Lines) - 1; i >= 0; i-- {
		l := out.Lines[i]
		from := l.Instance
		if l.Debug {
			from = "debug"
		}
		fmt.Fprintf(e.stdout, "<%d,%d>,%s,%s,%s,%s,%d,%s", l.PID, l.TID, l.Time.Local().Format("2006-01-02 15:04:05.000"),
			openzone.LogLevelName(l.Level), l.ReqID, l.File, l.Line, l.Text)
		if from != "" {
			fmt.Fprintf(e.stdout, "  [%s]", from)
		}
		fmt.Fprintln(e.stdout)
	}
	var dropped int64
	for _, h := range out.Hours {
		dropped += h.Dropped
	}
	if dropped > 0 {
		fmt.Fprintf(e.stderr, "openzone logs: %d lines were dropped in the last 24 hours: over the program's %s an hour, or lost by its SDK\n",
			dropped, human.Bytes(out.CapBytes))
	}
	if len(out.Lines) == 0 {
		fmt.Fprintln(e.stderr, "openzone logs: no lines match (programs send the lines of their SDK's logging calls; see 'openzone logs PROGRAM --output' for their standard output)")
	}
	return nil
}

// timeArg reads a time given as a duration back from now (90s, 1h, 2d) or
// as an RFC 3339 time.
func timeArg(s string) (time.Time, error) {
	if d, err := human.ParseDuration(s); err == nil {
		return time.Now().Add(-d), nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is neither a duration (1h, 2d) nor an RFC 3339 time", s)
	}
	return t, nil
}

// printOutput prints a deployed program's standard output and error.
func printOutput(e *env, r *remote, program string, tail int) error {
	var out struct {
		Lines []struct {
			Time     time.Time `json:"time"`
			Instance string    `json:"instance"`
			Stream   string    `json:"stream"`
			Text     string    `json:"text"`
		} `json:"lines"`
	}
	q := url.Values{"tail": {strconv.Itoa(tail)}}
	if err := r.admin("GET", "/admin/v1/programs/"+url.PathEscape(program)+"/logs", q, nil, "", &out); err != nil {
		return err
	}
	if r.json {
		return printJSON(e.stdout, out)
	}
	for _, l := range out.Lines {
		fmt.Fprintf(e.stdout, "%s %s %-6s %s\n", l.Time.Local().Format("15:04:05.000"), l.Instance, l.Stream, l.Text)
	}
	return nil
}

// runSecret prints the program secret as an environment assignment, to
// configure an instance that runs outside the zone.
func runSecret(e *env, args []string) error {
	var r remote
	fs := newFlags(e, "secret")
	r.flags(fs)
	force := fs.Bool("force", false, "reveal the secret of a program the zone runs itself (deploy.command)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("want PROGRAM")
	}
	var out struct {
		ProgramID string `json:"program_id"`
		SecretVer int    `json:"secret_ver"`
		Secret    string `json:"secret"`
	}
	var q url.Values
	if *force {
		q = url.Values{"force": {"1"}}
	}
	if err := r.admin("POST", "/admin/v1/programs/"+url.PathEscape(pos[0])+"/secret", q, nil, "", &out); err != nil {
		return err
	}
	if r.json {
		return printJSON(e.stdout, out)
	}
	fmt.Fprintf(e.stdout, "OPENZONE_PROGRAM_ID=%s\nOPENZONE_SECRET=%s\n", out.ProgramID, out.Secret)
	return nil
}
