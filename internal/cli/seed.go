package cli

import (
	"bytes"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
)

func init() {
	register(&command{
		name:  "seed apply",
		args:  "FILE [--zone URL] [--admin-token T] [--json]",
		short: "apply a seed file to a running zone (idempotent)",
		run:   runSeedApply,
	})
}

func runSeedApply(e *env, args []string) error {
	var r remote
	fs := newFlags(e, "seed apply")
	r.flags(fs)
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("want exactly one seed file")
	}
	data, err := os.ReadFile(pos[0])
	if err != nil {
		return err
	}
	abs, err := filepath.Abs(pos[0])
	if err != nil {
		return err
	}
	q := url.Values{"name": {filepath.Base(pos[0])}, "base": {filepath.Dir(abs)}}
	var sum map[string]int
	if err := r.admin("POST", "/admin/v1/seed", q, bytes.NewReader(data), "application/yaml", &sum); err != nil {
		return err
	}
	if r.json {
		return printJSON(e.stdout, sum)
	}
	fmt.Fprintf(e.stdout, "applied %s: %d providers, %d corps, %d programs, %d apps\n",
		pos[0], sum["providers"], sum["corps"], sum["programs"], sum["apps"])
	return nil
}
