//go:build linux

package server_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/openzone/openzone/internal/sandbox/sandboxtest"
	"github.com/openzone/openzone/internal/testenv"
)

const imageSeed = `
providers: [{id: isv, name: Test ISV}]
corps: [{corpid: wwtest, name: Test Corp}]
programs:
  - id: prog-go
    provider: isv
    name: A static Go binary in an otherwise empty image
    deploy: {image: %q, command: [/zoneprogram, --name, go-image], instances: 2}
    abilities:
      - {id: echo, input: {"text": ""}, output: {"text": "", "served_by": ""}}
      - {id: invoke_ping, input: {}, output: {"errcode": 0, "errmsg": "", "program_id": "", "corpid": "", "agentid": 0, "ability_id": "", "has_job_info": false, "request": null}}
%s
apps:
  - {corpid: wwtest, agentid: 1000002, type: self_built, secret: s1, programs: [%s]}
`

// pythonImage is a program of imageSeed: WeCom's Python sample in a
// Debian image, started as WeCom starts it (启动命令 /bin/sh, 启动参数
// start.sh), finding the SDK at WeCom's SDK path.
const pythonImage = `  - id: prog-py
    provider: isv
    name: WeCom's Python sample in a Debian image
    deploy: {image: %q, command: [/bin/sh, /usr/local/wwspecdemo/start.sh, --name, py-image]}
    abilities:
      - {id: echo, input: {"text": ""}, output: {"text": "", "served_by": ""}}
      - {id: invoke_ping, input: {}, output: {"errcode": 0, "errmsg": "", "program_id": "", "corpid": "", "agentid": 0, "ability_id": "", "has_job_info": false, "request": null}}
`

// staticExample builds the Go example without cgo, so that it runs in an
// image with nothing else in it.
func staticExample(t *testing.T) []byte {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "zoneprogram")
	cmd := exec.Command("go", "build", "-o", bin, "github.com/openzone/openzone/examples/zoneprogram")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build the static example: %v\n%s", err, out)
	}
	b, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func checkImageProgram(t *testing.T, z *testenv.Zone, tok, program, servedBy string) {
	t.Helper()
	r := z.PostApp("/cgi-bin/chatdata/sync_call_program", tok, syncCall(program, "echo", `{"text":"hi"}`))
	if testenv.Errcode(r) != 0 || r["response_data"] != `{"text":"hi","served_by":"`+servedBy+`"}` {
		t.Fatalf("%s echo: %s", program, testenv.Describe(r))
	}
	r = z.PostApp("/cgi-bin/chatdata/sync_call_program", tok, syncCall(program, "invoke_ping", `{}`))
	if testenv.Errcode(r) != 0 || !strings.Contains(fmt.Sprint(r["response_data"]), `"program_id":"`+program+`"`) {
		t.Fatalf("%s SDK invoke from the image: %s", program, testenv.Describe(r))
	}
	v := getProgram(t, z, program)
	for _, in := range v.Instances {
		if in.Sandbox == nil || in.Sandbox.Runtime == "" || in.Sandbox.Image == "" {
			t.Errorf("%s: instance %s shows no image run: %+v", program, in.Name, in.Sandbox)
		}
	}
}

func TestSandboxImage(t *testing.T) {
	sandboxtest.RequireRuntime(t, sandboxtest.Host(t))
	dir := t.TempDir()
	goTar := filepath.Join(dir, "go-image.tar")
	sandboxtest.Tar(t, goTar, "", map[string][]byte{"zoneprogram": staticExample(t)}, "zoneprogram")

	t.Run("StaticGo", func(t *testing.T) {
		z := testenv.Start(t, testenv.Options{Seed: fmt.Sprintf(imageSeed, goTar, "", "prog-go")})
		tok := z.Token("wwtest", "s1")
		testenv.Eventually(t, "two healthy instances of the image", func() bool {
			n := 0
			for _, s := range z.Supervisor().Instances("prog-go") {
				if s.State == "healthy" {
					n++
				}
			}
			return n == 2
		})
		checkImageProgram(t, z, tok, "prog-go", "go-image")
	})

	t.Run("DebianPython", func(t *testing.T) {
		base := sandboxtest.DebianImage(t)
		read := func(name string) []byte {
			b, err := os.ReadFile(filepath.Join("..", "examples", "pyprogram", name))
			if err != nil {
				t.Fatal(err)
			}
			return b
		}
		pyTar := filepath.Join(dir, "py-image.tar")
		sandboxtest.Tar(t, pyTar, base, map[string][]byte{
			"usr/local/wwspecdemo/":           nil,
			"usr/local/wwspecdemo/start.sh":   read("start.sh"),
			"usr/local/wwspecdemo/program.py": read("program.py"),
		})
		z := testenv.Start(t, testenv.Options{Seed: fmt.Sprintf(imageSeed, goTar, fmt.Sprintf(pythonImage, pyTar), "prog-go, prog-py")})
		tok := z.Token("wwtest", "s1")
		testenv.Eventually(t, "a healthy instance of the Debian image", func() bool {
			st := z.Supervisor().Instances("prog-py")
			return len(st) == 1 && st[0].State == "healthy"
		})
		checkImageProgram(t, z, tok, "prog-py", "py-image")
	})
}
