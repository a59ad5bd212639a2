package cli

import (
	"fmt"
	"net/url"
	"strconv"
	"text/tabwriter"
	"time"
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
		args:  "PROGRAM [--tail 200] [--json]",
		short: "print a deployed program's log (stdout, stderr and zone lines)",
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
	tail := fs.Int("tail", 200, "number of lines")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("want exactly one PROGRAM")
	}
	var out struct {
		Lines []struct {
			Time     time.Time `json:"time"`
			Instance string    `json:"instance"`
			Stream   string    `json:"stream"`
			Text     string    `json:"text"`
		} `json:"lines"`
	}
	q := url.Values{"tail": {strconv.Itoa(*tail)}}
	if err := r.admin("GET", "/admin/v1/programs/"+url.PathEscape(pos[0])+"/logs", q, nil, "", &out); err != nil {
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
