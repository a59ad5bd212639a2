package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
)

func init() {
	register(&command{
		name:  "traffic replay",
		args:  "ID [--request JSON] [--json]",
		short: "make a recorded call or event again, as recorded or with an edited payload",
		run:   runTrafficReplay,
	})
	register(&command{
		name:  "traffic export",
		args:  "ID... [-o FILE]",
		short: "write recorded traffic as a JSON fixture (masked as recorded)",
		run:   runTrafficExport,
	})
}

func runTrafficReplay(e *env, args []string) error {
	var r remote
	fs := newFlags(e, "traffic replay")
	r.flags(fs)
	request := fs.String("request", "", "the payload to send instead of the recorded one (request_data, or the event's data)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("want exactly one traffic ID")
	}
	if _, err := strconv.ParseInt(pos[0], 10, 64); err != nil {
		return usagef("traffic ID %q is not a number (see 'openzone traffic')", pos[0])
	}
	var body *bytes.Reader
	if *request != "" {
		b, _ := json.Marshal(map[string]string{"request": *request})
		body = bytes.NewReader(b)
	} else {
		body = bytes.NewReader(nil)
	}
	var out map[string]any
	if err := r.admin("POST", "/admin/v1/traffic/"+pos[0]+"/replay", nil, body, "application/json", &out); err != nil {
		return err
	}
	if r.json {
		return printJSON(e.stdout, out)
	}
	code, _ := out["result_errcode"].(float64)
	if resp, _ := out["response"].(string); resp != "" {
		fmt.Fprintln(e.stdout, resp)
	}
	if id, _ := out["event_id"].(string); id != "" {
		fmt.Fprintf(e.stderr, "event %s: %v\n", id, out["state"])
	}
	if note, _ := out["note"].(string); note != "" {
		fmt.Fprintln(e.stderr, "note:", note)
	}
	if code != 0 {
		return fmt.Errorf("replay of %s: errcode %d: %v", pos[0], int(code), out["result_errmsg"])
	}
	return nil
}

func runTrafficExport(e *env, args []string) error {
	var r remote
	fs := newFlags(e, "traffic export")
	r.flags(fs)
	file := fs.String("o", "", "write the fixture to FILE instead of standard output")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) == 0 {
		return usagef("give the traffic IDs to export (see 'openzone traffic')")
	}
	ids := make([]int64, 0, len(pos))
	for _, p := range pos {
		for _, f := range strings.Split(p, ",") {
			n, err := strconv.ParseInt(strings.TrimSpace(f), 10, 64)
			if err != nil {
				return usagef("traffic ID %q is not a number", f)
			}
			ids = append(ids, n)
		}
	}
	b, _ := json.Marshal(map[string]any{"ids": ids})
	var out json.RawMessage
	if err := r.admin("POST", "/admin/v1/traffic/export", nil, bytes.NewReader(b), "application/json", &out); err != nil {
		return err
	}
	var buf bytes.Buffer
	json.Indent(&buf, out, "", "  ")
	buf.WriteByte('\n')
	if *file == "" {
		_, err := e.stdout.Write(buf.Bytes())
		return err
	}
	if err := os.WriteFile(*file, buf.Bytes(), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(e.stderr, "wrote %d record(s) to %s\n", len(ids), *file)
	return nil
}
