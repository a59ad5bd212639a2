package seed

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/openzone/openzone"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

// golden renders what Parse returns, including what JSON hides (secrets)
// and the protocol bytes exactly as stored.
func golden(t *testing.T, f *File) []byte {
	t.Helper()
	type protocolBytes struct{ Ability, Input, Output string }
	view := struct {
		File      *File
		Secrets   []string
		Protocols []protocolBytes
	}{File: f}
	for _, a := range f.Apps {
		view.Secrets = append(view.Secrets, a.App.Secret)
	}
	for _, p := range f.Programs {
		for _, a := range p.Abilities {
			view.Protocols = append(view.Protocols, protocolBytes{p.ID + "/" + a.ID, string(a.Input), string(a.Output)})
		}
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(view); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestParseGolden(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile("testdata/full.yaml")
	if err != nil {
		t.Fatal(err)
	}
	f, err := Parse("full.yaml", data)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	got := golden(t, f)
	path := filepath.Join("testdata", "full.golden")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("Parse(testdata/full.yaml) differs from %s (run go test -update and review the diff):\n%s", path, got)
	}
	if err := f.Validate(); err != nil {
		t.Fatalf("Validate after Parse: %v", err)
	}
}

// designExample is the seed format's reference example, except for the app's provider:
// a self_built app has none (see the package doc).
const designExample = `providers:
  - id: isv-demo
    name: Demo ISV
    test_corps: [wwdemo]            # corps where this provider's custom apps may debug
corps:
  - corpid: wwdemo
    name: Demo Corp
    members: [{userid: zhangsan, name: Zhang San}]
    external_contacts: [{external_userid: wmcustomer1, name: Customer One}]
programs:
  - id: prog-echo
    provider: isv-demo
    kind: program                   # program | model
    name: Echo
    released: false                 # unreleased: only test scenarios may attach it
    deploy:                         # omit: not deployed (debug mode only)
      command: [./bin/zoneprogram, --name, deployed]   # supervised local process(es)
      instances: 1
      # url: http://host:8080       # or: run elsewhere, reached at this URL
    abilities:
      - id: echo
        input:  {"text": ""}
        output: {"text": "", "served_by": ""}
apps:
  - corpid: wwdemo
    agentid: 1000002
    type: self_built                # self_built | custom | third_party
    secret: demo-secret
    test_install: false             # third_party only
    callback: {url: "http://127.0.0.1:9000/cb", token: "T", encoding_aes_key: "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"}
    programs: [prog-echo]
`

func TestParseDesignExample(t *testing.T) {
	t.Parallel()
	f, err := Parse("demo.yaml", []byte(designExample))
	if err != nil {
		t.Fatal(err)
	}
	p := f.Programs[0]
	if got, want := string(p.Abilities[0].Output), `{"text":"","served_by":""}`; got != want {
		t.Errorf("output = %s, want %s", got, want)
	}
	if p.Deploy.Instances != 1 || p.Kind != openzone.KindProgram || p.Released {
		t.Errorf("program = %+v", p)
	}
	a := f.Apps[0]
	if a.App.Secret != "demo-secret" || !a.App.ZonePermission || a.App.AgentID != 1000002 || len(a.Programs) != 1 {
		t.Errorf("app = %+v", a)
	}
	if f.Corps[0].Members[0].CorpID != "wwdemo" {
		t.Errorf("member corp = %q", f.Corps[0].Members[0].CorpID)
	}
}

func TestParseEmpty(t *testing.T) {
	t.Parallel()
	for _, in := range []string{"", "# only a comment\n", "---\n", "providers:\ncorps: []\n"} {
		f, err := Parse("e.yaml", []byte(in))
		if err != nil {
			t.Fatalf("Parse(%q): %v", in, err)
		}
		if len(f.Providers)+len(f.Corps)+len(f.Programs)+len(f.Apps) != 0 {
			t.Fatalf("Parse(%q) = %+v, want empty", in, f)
		}
	}
}

func TestParseDefaults(t *testing.T) {
	t.Parallel()
	f, err := Parse("d.yaml", []byte(`
providers: [{id: p}]
corps: [{corpid: c}]
programs:
  - {id: a, provider: p, deploy: {command: [x]}}
  - {id: b, provider: p, deploy: {url: "http://h"}}
  - {id: c, provider: p}
apps: [{corpid: c, agentid: 1, type: self_built, secret: s}]
`))
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []openzone.Deploy{
		{Command: []string{"x"}, Instances: 1},
		{URL: "http://h"},
		{},
	} {
		got := f.Programs[i].Deploy
		if got.URL != want.URL || got.Instances != want.Instances || len(got.Command) != len(want.Command) {
			t.Errorf("programs[%d].deploy = %+v, want %+v", i, got, want)
		}
		if f.Programs[i].Kind != openzone.KindProgram {
			t.Errorf("programs[%d].kind = %q", i, f.Programs[i].Kind)
		}
	}
	a := f.Apps[0].App
	if !a.ZonePermission || a.TestInstall {
		t.Errorf("app defaults: %+v", a)
	}
}

func TestParse_DeploySandbox(t *testing.T) {
	f, err := Parse("t.yaml", []byte(`
providers: [{id: p}]
programs:
  - id: a
    provider: p
    deploy:
      command: [/bin/sh, /usr/local/wwspecdemo/start.sh]
      image: ./app.tar
      sdk_path: /opt/sdk
      isolation: on
      limits: {memory_mb: 256, cpus: 0.5, disk_mb: 64}
  - {id: b, provider: p, deploy: {command: [x], isolation: off, limits: {cpus: 2}}}
`))
	if err != nil {
		t.Fatal(err)
	}
	want := []openzone.Deploy{
		{Command: []string{"/bin/sh", "/usr/local/wwspecdemo/start.sh"}, Instances: 1, Image: "./app.tar", SDKPath: "/opt/sdk",
			Isolation: "on", Limits: openzone.Limits{MemoryMB: 256, CPUs: 0.5, DiskMB: 64}},
		{Command: []string{"x"}, Instances: 1, Isolation: "off", Limits: openzone.Limits{CPUs: 2}},
	}
	for i, w := range want {
		if got := f.Programs[i].Deploy; !reflect.DeepEqual(got, w) {
			t.Errorf("programs[%d].deploy = %+v, want %+v", i, got, w)
		}
	}
}

// head defines one of everything; cases append to it or replace it.
const head = `providers: [{id: isv, test_corps: [ww]}]
corps: [{corpid: ww, members: [{userid: u1}]}]
`
const prog = `programs:
  - id: p1
    provider: isv
    abilities: [{id: a1, input: {}, output: {}}]
`

// parseErrorCases has one case per kind of error, with its exact message.
var parseErrorCases = []struct {
	name, yaml, want string
}{
	// YAML itself
	{"yaml syntax", "providers: [a, b\ncorps: []\n", `t.yaml:1: did not find expected ',' or ']'`},
	{"yaml tab", "providers:\n\t- id: a\n", `t.yaml:2: found character that cannot start any token`},
	{"two documents", "providers: []\n---\ncorps: []\n", `t.yaml:2: a seed file holds one YAML document, found another`},
	{"top level not a mapping", "- a\n", `t.yaml:1: the top level: want a mapping, got a list`},
	{"duplicate key", "providers: []\ncorps: []\nproviders: []\n", `t.yaml:3: duplicate key "providers" in the top level (first at line 1)`},
	{"complex key", "? [a]\n: b\n", `t.yaml:1: the top level: a key must be a string, got a list`},
	{"alias cycle", head + prog[:len(prog)-len("    abilities: [{id: a1, input: {}, output: {}}]\n")] + "    abilities: [{id: a1, input: &x {a: [*x]}, output: {}}]\n",
		`t.yaml:6: programs[0].abilities[0].input.a[0].a[0]: anchor "x" contains itself`},
	{"merge of a scalar", "providers: [{<<: 1, id: a}]\n", `t.yaml:1: providers[0]: a merge key (<<) wants a mapping or a list of mappings, got an integer 1`},

	// unknown keys and wrong types
	{"unknown top-level key", "provider: []\n", `t.yaml:1: unknown key "provider" at the top level (known: providers, corps, programs, apps, ww_models)`},
	{"unknown key", head + prog + "    deploy:\n      command: [x]\n      instance: 2\n",
		`t.yaml:9: unknown key "instance" in programs[0].deploy (known: command, instances, url, isolation, image, sdk_path, limits)`},
	{"want a list", "providers: [{id: isv, test_corps: ww}]\n", `t.yaml:1: providers[0].test_corps: want a list, got a string "ww"`},
	{"want a mapping", "corps: [{corpid: ww, members: [zhangsan]}]\n", `t.yaml:1: corps[0].members[0]: want a mapping, got a string "zhangsan"`},
	{"want a string", "providers: [{id: [a]}]\n", `t.yaml:1: providers[0].id: want a string, got a list`},
	{"null in a list", "providers: [{id: isv, test_corps: [ww, ~]}]\n", `t.yaml:1: providers[0].test_corps[1]: want a string, got null`},
	{"want a boolean", head + prog + "    released: \"no\"\n", `t.yaml:7: programs[0].released: want true or false, got a string "no"`},
	{"want an integer", head + "apps: [{corpid: ww, agentid: abc, type: self_built, secret: s}]\n",
		`t.yaml:3: apps[0].agentid: want an integer, got a string "abc"`},
	{"integer too large", head + "apps: [{corpid: ww, agentid: 99999999999999999999, type: self_built, secret: s}]\n",
		`t.yaml:3: apps[0].agentid: want an integer, got a number 99999999999999999999`},

	// required keys
	{"missing provider id", "providers: [{name: x}]\n", `t.yaml:1: missing key "id" in providers[0]`},
	{"empty provider id", "providers:\n  - id: \"\"\n", `t.yaml:2: providers[0].id: must not be empty`},
	{"missing corpid", "corps:\n  - name: x\n", `t.yaml:2: missing key "corpid" in corps[0]`},
	{"missing userid", "corps:\n  - corpid: ww\n    members:\n      - name: x\n", `t.yaml:4: missing key "userid" in corps[0].members[0]`},
	{"missing external_userid", "corps:\n  - corpid: ww\n    external_contacts: [{name: x}]\n", `t.yaml:3: missing key "external_userid" in corps[0].external_contacts[0]`},
	{"missing program id", head + "programs: [{provider: isv}]\n", `t.yaml:3: missing key "id" in programs[0]`},
	{"missing program provider", head + "programs: [{id: p}]\n", `t.yaml:3: missing key "provider" in programs[0]`},
	{"missing ability id", head + "programs: [{id: p, provider: isv, abilities: [{input: {}, output: {}}]}]\n", `t.yaml:3: missing key "id" in programs[0].abilities[0]`},
	{"missing ability input", head + "programs:\n  - id: p\n    provider: isv\n    abilities:\n      - id: a\n        output: {}\n",
		`t.yaml:7: missing key "input" in programs[0].abilities[0]`},
	{"missing app corpid", "apps: [{agentid: 1}]\n", `t.yaml:1: missing key "corpid" in apps[0]`},
	{"missing agentid", head + "apps: [{corpid: ww, type: self_built, secret: s}]\n", `t.yaml:3: missing key "agentid" in apps[0]`},
	{"missing type", head + "apps: [{corpid: ww, agentid: 1, secret: s}]\n", `t.yaml:3: missing key "type" in apps[0]`},
	{"missing secret", head + "apps:\n  - corpid: ww\n    agentid: 1\n    type: self_built\n", `t.yaml:4: missing key "secret" in apps[0]`},

	// values
	{"bad app type", head + "apps:\n  - corpid: ww\n    agentid: 1\n    type: selfbuilt\n    secret: s\n",
		`t.yaml:6: apps[0].type: "selfbuilt" is not one of self_built, custom, third_party`},
	{"bad program kind", head + "programs: [{id: p, provider: isv, kind: modle}]\n", `t.yaml:3: programs[0].kind: "modle" is not one of program, model`},
	{"agentid zero", head + "apps: [{corpid: ww, agentid: 0, type: self_built, secret: s}]\n", `t.yaml:3: apps[0].agentid: must be a positive integer, got 0`},
	{"agentid negative", head + "apps: [{corpid: ww, agentid: -5, type: self_built, secret: s}]\n", `t.yaml:3: apps[0].agentid: must be a positive integer, got -5`},

	// duplicates name both lines
	{"duplicate provider", "providers:\n  - id: a\n  - id: a\n", `t.yaml:3: providers[1].id: "a" is already defined by providers[0].id (line 2)`},
	{"duplicate corp", "corps:\n  - corpid: ww\n  - corpid: ww\n", `t.yaml:3: corps[1].corpid: "ww" is already defined by corps[0].corpid (line 2)`},
	{"duplicate member", "corps:\n  - corpid: ww\n    members: [{userid: u}, {userid: u}]\n", `t.yaml:3: corps[0].members[1].userid: "u" is already defined by corps[0].members[0].userid (line 3)`},
	{"duplicate program", head + prog + "  - id: p1\n    provider: isv\n", `t.yaml:7: programs[1].id: "p1" is already defined by programs[0].id (line 4)`},
	{"duplicate ability", head + "programs:\n  - id: p\n    provider: isv\n    abilities:\n      - {id: a, input: {}, output: {}}\n      - {id: a, input: {}, output: {}}\n",
		`t.yaml:8: programs[0].abilities[1].id: "a" is already defined by programs[0].abilities[0].id (line 7)`},
	{"duplicate app", head + "apps:\n  - {corpid: ww, agentid: 7, type: self_built, secret: s}\n  - {corpid: ww, agentid: 7, type: self_built, secret: t}\n",
		`t.yaml:5: apps[1]: corpid "ww" and agentid 7 are already used by apps[0] (line 4)`},
	{"program listed twice", head + prog + "apps:\n  - corpid: ww\n    agentid: 1\n    type: self_built\n    secret: s\n    programs: [p1, p1]\n",
		`t.yaml:12: apps[0].programs[1]: "p1" is already listed as apps[0].programs[0] (line 12)`},
	{"test corp listed twice", "providers: [{id: isv, test_corps: [ww, ww]}]\ncorps: [{corpid: ww}]\n",
		`t.yaml:1: providers[0].test_corps[1]: "ww" is already listed as providers[0].test_corps[0] (line 1)`},

	// references stay inside the file
	{"unknown test corp", "providers: [{id: isv, test_corps: [wwx]}]\n", `t.yaml:1: providers[0].test_corps[0]: corp "wwx" is not defined in this file (a seed file is self-contained)`},
	{"unknown program provider", head + "programs: [{id: p, provider: nobody}]\n", `t.yaml:3: programs[0].provider: provider "nobody" is not defined in this file (a seed file is self-contained)`},
	{"unknown app corp", head + "apps: [{corpid: wwx, agentid: 1, type: self_built, secret: s}]\n", `t.yaml:3: apps[0].corpid: corp "wwx" is not defined in this file (a seed file is self-contained)`},
	{"unknown app provider", head + "apps: [{corpid: ww, agentid: 1, type: custom, provider: nobody, secret: s}]\n", `t.yaml:3: apps[0].provider: provider "nobody" is not defined in this file (a seed file is self-contained)`},
	{"unknown app program", head + "apps: [{corpid: ww, agentid: 1, type: self_built, secret: s, programs: [nope]}]\n", `t.yaml:3: apps[0].programs[0]: program "nope" is not defined in this file (a seed file is self-contained)`},

	// app type rules
	{"no provider on custom", head + "apps: [{corpid: ww, agentid: 1, type: custom, secret: s}]\n", `t.yaml:3: missing key "provider" in apps[0] (required for a custom app)`},
	{"no provider on third_party", head + "apps: [{corpid: ww, agentid: 1, type: third_party, secret: s}]\n", `t.yaml:3: missing key "provider" in apps[0] (required for a third_party app)`},
	{"unreleased program, custom app outside test corps", "providers: [{id: isv, test_corps: []}]\ncorps: [{corpid: ww}]\n" + prog + "apps: [{corpid: ww, agentid: 1, type: custom, provider: isv, secret: s, programs: [p1]}]\n",
		`t.yaml:7: apps[0].programs[0]: program "p1" is unreleased (未上线): a custom app may use it only in a test corp of its provider "isv", and ww is not in that provider's test_corps`},
	{"unreleased program, third_party app not test-installed", head + prog + "apps: [{corpid: ww, agentid: 1, type: third_party, provider: isv, secret: s, programs: [p1]}]\n",
		`t.yaml:7: apps[0].programs[0]: program "p1" is unreleased (未上线): a third_party app may use it only where it is test-installed (test_install: true)`},
	{"retention too long", "corps:\n  - corpid: ww\n    retention_days: 731\n", `t.yaml:3: corps[0].retention_days: 731 is not from 1 to 730 (2 years)`},
	{"test_install on custom", head + "apps:\n  - {corpid: ww, agentid: 1, type: custom, provider: isv, secret: s,\n     test_install: true}\n",
		`t.yaml:5: apps[0].test_install: only a third_party app can be test-installed`},
	{"bad callback url", head + "apps: [{corpid: ww, agentid: 1, type: self_built, secret: s, callback: {url: /cb}}]\n",
		`t.yaml:3: apps[0].callback.url: "/cb" is not an absolute http or https URL`},

	// deploy
	{"command and url", head + prog + "    deploy: {command: [x], url: \"http://h\"}\n", `t.yaml:7: programs[0].deploy: programs[0].deploy.command and programs[0].deploy.url are exclusive, set one`},
	{"empty deploy", head + prog + "    deploy: {}\n", `t.yaml:7: programs[0].deploy: set command or url (omit deploy for a program that is not deployed)`},
	{"empty command", head + prog + "    deploy: {command: []}\n", `t.yaml:7: programs[0].deploy.command: want the program and its arguments, got an empty list`},
	{"empty program path", head + prog + "    deploy: {command: [\"\", a]}\n", `t.yaml:7: programs[0].deploy.command[0]: the program to run must not be empty`},
	{"zero instances", head + prog + "    deploy:\n      command: [x]\n      instances: 0\n", `t.yaml:9: programs[0].deploy.instances: must be from 1 to 16, got 0`},
	{"instances with url", head + prog + "    deploy:\n      url: http://h\n      instances: 2\n", `t.yaml:9: programs[0].deploy.instances: only a command deploy has instances; a url deploy runs elsewhere`},
	{"url not http", head + prog + "    deploy: {url: \"ftp://h/x\"}\n", `t.yaml:7: programs[0].deploy.url: "ftp://h/x" is not an absolute http or https URL`},
	{"url relative", head + prog + "    deploy: {url: \"host:8080\"}\n", `t.yaml:7: programs[0].deploy.url: "host:8080" is not an absolute http or https URL`},
	{"isolation unknown", head + prog + "    deploy:\n      command: [x]\n      isolation: maybe\n", `t.yaml:9: programs[0].deploy.isolation: "maybe" is not one of auto, on, off`},
	{"isolation with url", head + prog + "    deploy:\n      url: http://h\n      isolation: on\n", `t.yaml:9: programs[0].deploy.isolation: only a command deploy has it: a url deploy runs elsewhere`},
	{"image without command", head + prog + "    deploy:\n      url: http://h\n      image: app.tar\n", `t.yaml:9: programs[0].deploy.image: only a command deploy has it: a url deploy runs elsewhere`},
	{"image with isolation off", head + prog + "    deploy:\n      command: [/bin/sh]\n      image: app.tar\n      isolation: off\n", `t.yaml:10: programs[0].deploy.isolation: an image runs only in a sandbox: remove isolation: off, or the image`},
	{"sdk_path without image", head + prog + "    deploy:\n      command: [x]\n      sdk_path: /sdk\n", `t.yaml:9: programs[0].deploy.sdk_path: only an image has an SDK path`},
	{"sdk_path relative", head + prog + "    deploy:\n      command: [x]\n      image: a.tar\n      sdk_path: sdk\n", `t.yaml:10: programs[0].deploy.sdk_path: "sdk" is not an absolute path inside the image`},
	{"limits unknown key", head + prog + "    deploy:\n      command: [x]\n      limits: {memory: 5}\n", `t.yaml:9: unknown key "memory" in programs[0].deploy.limits (known: memory_mb, cpus, disk_mb)`},
	{"memory too small", head + prog + "    deploy:\n      command: [x]\n      limits:\n        memory_mb: 8\n", `t.yaml:10: programs[0].deploy.limits.memory_mb: must be from 16 to 1048576 (MB), got 8`},
	{"cpus not a number", head + prog + "    deploy:\n      command: [x]\n      limits: {cpus: lots}\n", `t.yaml:9: programs[0].deploy.limits.cpus: want a number, got a string "lots"`},
	{"cpus negative", head + prog + "    deploy:\n      command: [x]\n      limits:\n        cpus: -1\n", `t.yaml:10: programs[0].deploy.limits.cpus: must be from 0.01 to 1024, got -1`},
	{"disk zero is default, negative is not", head + prog + "    deploy:\n      command: [x]\n      limits:\n        disk_mb: -3\n", `t.yaml:10: programs[0].deploy.limits.disk_mb: must be from 1 to 16777216 (MB), got -3`},

	// protocols
	{"protocol is a list", head + "programs: [{id: p, provider: isv, abilities: [{id: a, input: [1], output: {}}]}]\n",
		`t.yaml:3: programs[0].abilities[0].input: want a mapping or a string holding a JSON object, got a list`},
	{"protocol is a number", head + "programs: [{id: p, provider: isv, abilities: [{id: a, input: {}, output: 5}]}]\n",
		`t.yaml:3: programs[0].abilities[0].output: want a mapping or a string holding a JSON object, got an integer 5`},
	{"protocol string not JSON", head + "programs: [{id: p, provider: isv, abilities: [{id: a, input: '{\"a\":}', output: {}}]}]\n",
		`t.yaml:3: programs[0].abilities[0].input: protocol is not valid JSON: invalid character '}' looking for beginning of value at offset 6`},
	{"protocol string not an object", head + "programs: [{id: p, provider: isv, abilities: [{id: a, input: '[{}]', output: {}}]}]\n",
		`t.yaml:3: programs[0].abilities[0].input: protocol must be a JSON object, not an array`},
	{"protocol infinity", head + "programs: [{id: p, provider: isv, abilities: [{id: a, input: {n: .inf}, output: {}}]}]\n",
		`t.yaml:3: programs[0].abilities[0].input.n: .inf is not a JSON number`},
	{"protocol too deep", head + "programs: [{id: p, provider: isv, abilities: [{id: a, input: {x: " + strings.Repeat("[", 64) + strings.Repeat("]", 64) + "}, output: {}}]}]\n",
		`t.yaml:3: programs[0].abilities[0].input.x` + strings.Repeat("[0]", 63) + `: nested deeper than 64 levels`},
	{"protocol string too deep", head + "programs: [{id: p, provider: isv, abilities: [{id: a, input: '{\"x\":" + strings.Repeat("[", 64) + strings.Repeat("]", 64) + "}', output: {}}]}]\n",
		`t.yaml:3: programs[0].abilities[0].input: protocol x` + strings.Repeat("[0]", 63) + ` is nested too deep (more than 64 levels)`},
	{"protocol duplicate key", head + "programs: [{id: p, provider: isv, abilities: [{id: a, input: {k: 1, k: 2}, output: {}}]}]\n",
		`t.yaml:3: duplicate key "k" in programs[0].abilities[0].input (first at line 3)`},
}

// TestParseErrors checks every case of parseErrorCases.
func TestParseErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range parseErrorCases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f, err := Parse("t.yaml", []byte(tc.yaml))
			if err == nil {
				t.Fatalf("Parse succeeded: %+v\n%s", f, tc.yaml)
			}
			var oe *openzone.Error
			if !errors.As(err, &oe) || oe.Code != openzone.ErrInvalidParam {
				t.Fatalf("err = %#v, want an *openzone.Error with code %d", err, openzone.ErrInvalidParam)
			}
			if oe.Message != tc.want {
				t.Fatalf("message\n got %s\nwant %s\nyaml:\n%s", oe.Message, tc.want, tc.yaml)
			}
		})
	}
}

// TestValidateBuilt checks a File built in Go: no file, no lines.
func TestValidateBuilt(t *testing.T) {
	t.Parallel()
	f := &File{
		Providers: []openzone.Provider{{ID: "isv"}},
		Corps:     []CorpEntry{{Corp: openzone.Corp{CorpID: "ww"}}},
		Programs: []openzone.Program{{
			ID: "p", ProviderID: "isv", Kind: openzone.KindProgram,
			Abilities: []openzone.Ability{{ID: "a", Input: json.RawMessage(`{}`), Output: json.RawMessage(`{}`)}},
		}},
		Apps: []AppEntry{{App: openzone.App{CorpID: "ww", AgentID: 1, Type: openzone.AppSelfBuilt, Secret: "s"}, Programs: []string{"p"}}},
	}
	if err := f.Validate(); err != nil {
		t.Fatal(err)
	}
	f.Programs[0].Abilities[0].Output = json.RawMessage(`[]`)
	err := f.Validate()
	if err == nil || err.Error() != "40058: programs[0].abilities[0].output: protocol must be a JSON object, not an array" {
		t.Fatalf("Validate = %v", err)
	}
	f.Programs[0].Abilities[0].Output = json.RawMessage(`{}`)
	f.Apps[0].App.AgentID = 0
	if err := f.Validate(); err == nil || err.Error() != `40058: missing key "agentid" in apps[0]` {
		t.Fatalf("Validate = %v", err)
	}
}

func TestParseAliasBomb(t *testing.T) {
	t.Parallel()
	// Nine levels of ten aliases each: 10^9 nodes once expanded.
	var b strings.Builder
	b.WriteString(head0)
	b.WriteString("programs:\n  - id: p\n    provider: isv\n    abilities:\n      - id: a\n        output: {}\n        input:\n          l0: &l0 [x, x, x, x, x, x, x, x, x, x]\n")
	for i := 1; i < 9; i++ {
		b.WriteString("          l" + string(rune('0'+i)) + ": &l" + string(rune('0'+i)) + " [")
		for j := range 10 {
			if j > 0 {
				b.WriteString(", ")
			}
			b.WriteString("*l" + string(rune('0'+i-1)))
		}
		b.WriteString("]\n")
	}
	_, err := Parse("bomb.yaml", []byte(b.String()))
	if err == nil || !strings.Contains(err.Error(), "once aliases are expanded") {
		t.Fatalf("Parse = %v, want an alias budget error", err)
	}
}

const head0 = "providers: [{id: isv}]\n"
