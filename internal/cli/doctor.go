package cli

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/openzone/openzone/internal/sandbox"
)

func init() {
	register(&command{
		name:  "doctor",
		args:  "[--json]",
		short: "say what this host supports: sandboxes for deployed instances, limits, images (deploy.image)",
		run:   runDoctor,
	})
}

// runDoctor probes this host as a zone started here would (the same
// probe sandbox, the same cgroups, the same OCI runtime lookup) and says
// what it found. It needs no running zone.
func runDoctor(e *env, args []string) error {
	fs := newFlags(e, "doctor")
	asJSON := fs.Bool("json", false, "machine-readable output")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("unexpected arguments %q", pos)
	}
	dir, err := os.MkdirTemp("", "openzone-doctor-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	m := sandbox.New(sandbox.Config{DataDir: dir})
	defer m.Close()
	sup := m.Probe()
	if *asJSON {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(sup)
	}
	if sup.Sandbox {
		fmt.Fprintln(e.stdout, "this host sandboxes deployed instances (deploy.isolation auto and on)")
	} else {
		fmt.Fprintln(e.stdout, "isolation off: "+sup.Reason)
		fmt.Fprintln(e.stdout, "  deployed instances run as plain local processes; deploy.isolation: on and deploy.image are refused")
	}
	for _, c := range sup.Checks {
		mark := "ok  "
		if !c.OK {
			mark = "no  "
		}
		fmt.Fprintf(e.stdout, "  %s %s: %s\n", mark, c.Name, c.Note)
	}
	if sup.UID != "" {
		fmt.Fprintln(e.stdout, "users: "+sup.UID)
	}
	return nil
}
