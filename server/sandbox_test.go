//go:build linux

package server_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/openzone/openzone"
	"github.com/openzone/openzone/internal/sandbox/sandboxtest"
	"github.com/openzone/openzone/internal/supervisor"
	"github.com/openzone/openzone/internal/testenv"
)

const sbxBin = "{{BIN:github.com/openzone/openzone/internal/sandbox/testdata/sbxprog}}"

// sandboxSeed deploys WeCom-style programs under isolation auto (the
// default), one with isolation off, and one with a small memory limit.
const sandboxSeed = `
providers: [{id: isv, name: Test ISV}]
corps: [{corpid: wwtest, name: Test Corp}]
programs:
  - id: prog-8080
    provider: isv
    name: Binds 8080 as WeCom's samples do
    deploy: {command: ["{{EXAMPLE}}", --addr, ":8080", --name, deployed], instances: 2}
    abilities: [{id: echo, input: {"text": ""}, output: {"text": "", "served_by": ""}}]
  - id: prog-probe
    provider: isv
    name: Tries things
    deploy:
      command: ["` + sbxBin + `", --addr, ":8080"]
      limits: {memory_mb: 64, cpus: 0.5, disk_mb: 16}
    abilities: [{id: do, input: {"op": "", "arg": "", "data": ""}, output: {"result": null, "err": ""}}]
  - id: prog-other
    provider: isv
    name: Another program
    deploy: {command: ["` + sbxBin + `"]}
    abilities: [{id: do, input: {"op": "", "arg": "", "data": ""}, output: {"result": null, "err": ""}}]
  - id: prog-plain
    provider: isv
    name: Isolation off
    deploy: {command: ["{{EXAMPLE}}", --name, plain], isolation: "off"}
    abilities: [{id: echo, input: {"text": ""}, output: {"text": "", "served_by": ""}}]
apps:
  - {corpid: wwtest, agentid: 1000002, type: self_built, secret: s1, programs: [prog-8080, prog-probe, prog-other, prog-plain]}
`

// do calls the ability "do" of an sbxprog program and returns its result
// and error text; errcode is the call's.
func do(t *testing.T, z *testenv.Zone, tok, program, op, arg, data string) (result any, errText string, errcode int) {
	t.Helper()
	in, _ := json.Marshal(map[string]string{"op": op, "arg": arg, "data": data})
	r := z.PostApp("/cgi-bin/chatdata/sync_call_program", tok, syncCall(program, "do", string(in)))
	if errcode = testenv.Errcode(r); errcode != 0 {
		return nil, "", errcode
	}
	var out struct {
		Result any    `json:"result"`
		Err    string `json:"err"`
	}
	if err := json.Unmarshal([]byte(r["response_data"].(string)), &out); err != nil {
		t.Fatalf("%s %s: %v: %s", op, arg, err, testenv.Describe(r))
	}
	return out.Result, out.Err, 0
}

type programView struct {
	Isolation struct {
		Mode      string `json:"mode"`
		Sandboxed bool   `json:"sandboxed"`
		Note      string `json:"note"`
	} `json:"isolation"`
	Instances []supervisor.InstanceStatus `json:"instances"`
}

func getProgram(t *testing.T, z *testenv.Zone, id string) programView {
	t.Helper()
	var v programView
	if st := z.Admin("GET", "/admin/v1/programs/"+id, nil, &v); st != 200 {
		t.Fatalf("GET program %s: HTTP %d", id, st)
	}
	return v
}

func TestSandbox(t *testing.T) {
	sandboxtest.Require(t, sandboxtest.Host(t))
	z := testenv.Start(t, testenv.Options{Seed: sandboxSeed})
	tok := z.Token("wwtest", "s1")
	rt := z.Supervisor()
	waitInstances := func(id string, n int) {
		testenv.Eventually(t, fmt.Sprintf("%d healthy instances of %s", n, id), func() bool {
			st := rt.Instances(id)
			healthy := 0
			for _, s := range st {
				if s.State == supervisor.StateHealthy {
					healthy++
				}
			}
			return healthy == n
		})
	}

	t.Run("TwoInstancesBind8080", func(t *testing.T) {
		waitInstances("prog-8080", 2)
		for i := range 6 {
			r := z.PostApp("/cgi-bin/chatdata/sync_call_program", tok, syncCall("prog-8080", "echo", fmt.Sprintf(`{"text":"%d"}`, i)))
			if testenv.Errcode(r) != 0 {
				t.Fatalf("call %d: %s", i, testenv.Describe(r))
			}
		}
		z.FlushTraffic(t.Context())
		var tr struct{ Traffic []openzone.TrafficRecord }
		z.Admin("GET", "/admin/v1/traffic?program_id=prog-8080&limit=20", nil, &tr)
		served := map[string]bool{}
		for _, rec := range tr.Traffic {
			served[rec.Instance] = true
		}
		if len(served) != 2 {
			t.Errorf("calls served by %v, want both instances", served)
		}
		v := getProgram(t, z, "prog-8080")
		if !v.Isolation.Sandboxed || v.Isolation.Mode != "auto" {
			t.Errorf("isolation = %+v, want sandboxed under auto", v.Isolation)
		}
		for _, in := range v.Instances {
			if in.Sandbox == nil || in.Sandbox.Limits.MemoryMB == 0 {
				t.Errorf("instance %s shows no sandbox and limits: %+v", in.Name, in.Sandbox)
			}
		}
	})

	t.Run("OnlyTheProgramAPI", func(t *testing.T) {
		waitInstances("prog-probe", 1)
		zoneHost := strings.TrimPrefix(z.URL, "http://")
		if _, e, code := do(t, z, tok, "prog-probe", "connect", zoneHost, ""); code != 0 || !strings.Contains(e, "connection refused") {
			t.Errorf("connect to the zone's port %s from inside: errcode %d, err %q; want connection refused", zoneHost, code, e)
		}
		if _, e, code := do(t, z, tok, "prog-probe", "lookup", "openzone-exfiltrate.example", ""); code != 0 || e == "" {
			t.Errorf("DNS lookup from inside: errcode %d, err %q; want a failure", code, e)
		}
		res, e, code := do(t, z, tok, "prog-probe", "invoke", "", "")
		if code != 0 || e != "" {
			t.Fatalf("SDK invoke from inside: errcode %d, err %q", code, e)
		}
		if m, _ := res.(map[string]any); m["errcode"] != float64(0) || m["program_id"] != "prog-probe" {
			t.Errorf("SDK invoke ping from inside = %v", res)
		}
		// The sandbox's program API is counted as the zone's port is.
		req, _ := http.NewRequest("GET", z.URL+"/metrics", nil)
		req.Header.Set("Authorization", "Bearer "+z.AdminToken())
		if resp, err := http.DefaultClient.Do(req); err != nil {
			t.Error(err)
		} else {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if !strings.Contains(string(b), `openzone_http_requests_total{code="200",face="spec"}`) {
				t.Errorf("/metrics counts no program API request from the sandboxes")
			}
		}
		// The provider sees the attempt: instance status and logs.
		// The sandbox reports attempts as they happen: wait for them.
		var attempts []string
		wants := []string{"dns openzone-exfiltrate.example", "connect " + zoneHost}
		testenv.Eventually(t, "the blocked attempts in the instance's status", func() bool {
			attempts = attempts[:0]
			for _, a := range getProgram(t, z, "prog-probe").Instances[0].Sandbox.Attempts {
				attempts = append(attempts, a.Kind+" "+a.Target)
			}
			for _, want := range wants {
				if !strings.Contains(strings.Join(attempts, "\n"), want) {
					return false
				}
			}
			return true
		})
		// And the program's console page lists it.
		if page := consolePage(t, z, "/console/programs/prog-probe"); !strings.Contains(page, "openzone-exfiltrate.example") || !strings.Contains(page, " blocked</b>") {
			t.Errorf("the console's program page does not show the blocked attempts:\n%.3000s", page)
		}
		testenv.Eventually(t, "the blocked lookup in the program's logs", func() bool {
			for _, l := range rt.Logs("prog-probe", 0) {
				if strings.Contains(l.Text, "blocked: DNS lookup of openzone-exfiltrate.example") {
					return true
				}
			}
			return false
		})
	})

	t.Run("DataPersistsAndIsPrivate", func(t *testing.T) {
		waitInstances("prog-probe", 1)
		waitInstances("prog-other", 1)
		if _, e, code := do(t, z, tok, "prog-probe", "write", "/mnt/data/note", "kept"); code != 0 || e != "" {
			t.Fatalf("write /mnt/data/note: errcode %d, err %q", code, e)
		}
		before := rt.Instances("prog-probe")[0]
		do(t, z, tok, "prog-probe", "exit", "1", "") // the call fails with the instance
		testenv.Eventually(t, "prog-probe restarted", func() bool {
			s := rt.Instances("prog-probe")[0]
			return s.Restarts > before.Restarts && s.State == supervisor.StateHealthy
		})
		if got, e, code := do(t, z, tok, "prog-probe", "read", "/mnt/data/note", ""); code != 0 || got != "kept" {
			t.Errorf("/mnt/data/note after a restart = %v (errcode %d, err %q), want kept", got, code, e)
		}
		if got, _, _ := do(t, z, tok, "prog-other", "read", "/mnt/data", ""); got != "" {
			t.Errorf("another program's /mnt/data holds %v, want nothing", got)
		}
		host := z.Sandbox().DataDir("prog-probe")
		if _, e, _ := do(t, z, tok, "prog-other", "read", filepath.Join(host, "note"), ""); !strings.Contains(e, "no such file") {
			t.Errorf("another program reading %s: err %q, want no such file (the zone's data directory is hidden)", host, e)
		}
	})

	t.Run("MemoryHog", func(t *testing.T) {
		m := sandboxtest.Host(t)
		sandboxtest.RequireLimits(t, m)
		waitInstances("prog-probe", 1)
		before := rt.Instances("prog-probe")[0]
		if _, _, code := do(t, z, tok, "prog-probe", "alloc", "256", ""); code == 0 {
			t.Error("a call that takes 256 MB under a 64 MB limit succeeded")
		}
		testenv.Eventually(t, "the hog killed and restarted", func() bool {
			s := rt.Instances("prog-probe")[0]
			return s.Restarts > before.Restarts && s.State == supervisor.StateHealthy
		})
		in := getProgram(t, z, "prog-probe").Instances[0]
		if !strings.Contains(in.LastExit, "out of memory") {
			t.Errorf("last exit %q does not say the instance ran out of memory", in.LastExit)
		}
	})

	t.Run("IsolationOff", func(t *testing.T) {
		waitInstances("prog-plain", 1)
		r := z.PostApp("/cgi-bin/chatdata/sync_call_program", tok, syncCall("prog-plain", "echo", `{"text":"hi"}`))
		if testenv.Errcode(r) != 0 || r["response_data"] != `{"text":"hi","served_by":"plain"}` {
			t.Fatalf("call: %s", testenv.Describe(r))
		}
		v := getProgram(t, z, "prog-plain")
		if v.Isolation.Sandboxed || !strings.HasPrefix(v.Isolation.Note, "isolation off: ") {
			t.Errorf("isolation = %+v, want off with a note", v.Isolation)
		}
		if in := v.Instances[0]; in.Sandbox != nil || in.PID == 0 {
			t.Errorf("instance = %+v, want a plain process", in)
		}
	})
}

// consolePage signs in to the console with the admin token and returns the
// page at path.
func consolePage(t *testing.T, z *testenv.Zone, path string) string {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 30 * time.Second}
	resp, err := c.PostForm(z.URL+"/console/login", url.Values{"token": {z.AdminToken()}, "next": {path}})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("console %s: HTTP %d", path, resp.StatusCode)
	}
	return string(b)
}
