package cli

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

func init() {
	register(&command{
		name:  "traffic",
		args:  "[--program ID] [--kind call|event|invoke|notify] [--limit 20] [--follow] [--json]",
		short: "list recorded calls, events and SDK invokes, newest first",
		run:   runTraffic,
	})
	register(&command{
		name:  "version",
		args:  "",
		short: "print the version",
		run: func(e *env, args []string) error {
			fmt.Fprintln(e.stdout, "openzone", versionString())
			return nil
		},
	})
}

func runTraffic(e *env, args []string) error {
	var r remote
	fs := newFlags(e, "traffic")
	r.flags(fs)
	program := fs.String("program", "", "only this program")
	kind := fs.String("kind", "", "only this kind: call, event, invoke or notify")
	limit := fs.Int("limit", 20, "how many records")
	follow := fs.Bool("follow", false, "keep printing new records as they come (like tail -f)")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	if *follow {
		return followTraffic(e, &r, *program, *kind)
	}
	q := url.Values{"limit": {strconv.Itoa(*limit)}}
	if *program != "" {
		q.Set("program_id", *program)
	}
	if *kind != "" {
		q.Set("kind", *kind)
	}
	var out struct {
		Traffic []struct {
			ID        int64     `json:"id"`
			Kind      string    `json:"kind"`
			Route     string    `json:"route"`
			ProgramID string    `json:"program_id"`
			AbilityID string    `json:"ability_id"`
			Interface string    `json:"interface"`
			Instance  string    `json:"instance"`
			Errcode   int       `json:"errcode"`
			StartedAt time.Time `json:"started_at"`
			TotalMS   float64   `json:"total_ms"`
			ProgramMS float64   `json:"program_ms"`
		} `json:"traffic"`
	}
	if r.json {
		var raw map[string]any
		if err := r.admin("GET", "/admin/v1/traffic", q, nil, "", &raw); err != nil {
			return err
		}
		return printJSON(e.stdout, raw)
	}
	if err := r.admin("GET", "/admin/v1/traffic", q, nil, "", &out); err != nil {
		return err
	}
	if len(out.Traffic) == 0 {
		fmt.Fprintln(e.stdout, "no traffic yet: make a call with 'openzone call PROGRAM ABILITY DATA'")
		return nil
	}
	tw := tabwriter.NewWriter(e.stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tTIME\tKIND\tROUTE\tPROGRAM\tABILITY/INTERFACE\tINSTANCE\tERRCODE\tTOTAL ms\tPROGRAM ms")
	for _, t := range out.Traffic {
		what := t.AbilityID
		if t.Interface != "" {
			what = t.Interface
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%d\t%.2f\t%.2f\n", t.ID, t.StartedAt.Local().Format("15:04:05"),
			t.Kind, t.Route, t.ProgramID, what, t.Instance, t.Errcode, t.TotalMS, t.ProgramMS)
	}
	return tw.Flush()
}

// followTraffic prints new records oldest first, one line each (JSON lines
// with --json), until interrupted.
func followTraffic(e *env, r *remote, program, kind string) error {
	var after int64
	first := true
	for {
		q := url.Values{"limit": {"1000"}, "after_id": {strconv.FormatInt(after, 10)}}
		if first {
			q.Set("limit", "10")
		}
		if program != "" {
			q.Set("program_id", program)
		}
		if kind != "" {
			q.Set("kind", kind)
		}
		var out struct {
			Traffic []map[string]any `json:"traffic"`
		}
		if err := r.admin("GET", "/admin/v1/traffic", q, nil, "", &out); err != nil {
			return err
		}
		for i := len(out.Traffic) - 1; i >= 0; i-- {
			t := out.Traffic[i]
			if id, _ := t["id"].(float64); int64(id) > after {
				after = int64(id)
			}
			if r.json {
				b, _ := json.Marshal(t)
				fmt.Fprintln(e.stdout, string(b))
				continue
			}
			what, _ := t["ability_id"].(string)
			if s, _ := t["interface"].(string); s != "" {
				what = s
			}
			started, _ := time.Parse(time.RFC3339Nano, fmt.Sprint(t["started_at"]))
			// Fixed columns, long names cut: a follow stream stays aligned.
			fmt.Fprintf(e.stdout, "%s  %s %s %s %s errcode=%-7v %8.2f ms\n", started.Local().Format("15:04:05.000"),
				fit(fmt.Sprint(t["kind"]), 6), fit(orDash(t["route"]), 8), fit(fmt.Sprint(t["program_id"]), 16), fit(what, 24), t["errcode"], t["total_ms"])
		}
		first = false
		time.Sleep(500 * time.Millisecond)
	}
}

func orDash(v any) string {
	if s, _ := v.(string); s != "" {
		return s
	}
	return "-"
}

// fit pads s to n columns, or cuts it to n with "…" at the end.
func fit(s string, n int) string {
	r := []rune(s)
	if len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s + strings.Repeat(" ", n-len(r))
}
