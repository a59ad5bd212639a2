// Package pyprogram tests the Python sample program (program.py, written
// against WeCom's Python SDK) on OpenZone's wwspecapisdk: the flows of
// internal/wecomflows, deployed, in debug mode and on refused packets.
package pyprogram

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/openzone/openzone/internal/testenv"
	"github.com/openzone/openzone/internal/wecomflows"
)

func TestFlows(t *testing.T) {
	py := testenv.Python(t)
	start, err := filepath.Abs("start.sh")
	if err != nil {
		t.Fatal(err)
	}
	// WeCom's 启动命令 /bin/sh and 启动参数 start.sh; the script puts the SDK
	// on the path (PYTHON names the interpreter CI checks).
	wecomflows.Run(t, wecomflows.Program{
		Deploy: func(name string) []string {
			return []string{"/usr/bin/env", "PYTHON=" + py, "/bin/sh", start, "--name", name}
		},
		Local: func(port int, name string) *exec.Cmd {
			cmd := exec.Command("/bin/sh", start, "--port", fmt.Sprint(port), "--host", "127.0.0.1", "--name", name)
			cmd.Env = append(cmd.Env, "PYTHON="+py)
			return cmd
		},
	})
}
