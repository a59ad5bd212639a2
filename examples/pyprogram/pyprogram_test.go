// Package pyprogram tests the Python sample program (program.py, written
// against WeCom's Python SDK) on the wwspecapisdk that `openzone sdk export
// --lang python` writes: the flows of internal/wecomflows, deployed, in
// debug mode and on refused packets.
package pyprogram

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
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
	// The SDK as a user gets it: exported by the openzone binary.
	sdkDir := testenv.SharedDir(t)
	if out, err := exec.Command(testenv.CLI(t), "sdk", "export", "--lang", "python", "--dir", sdkDir).CombinedOutput(); err != nil {
		t.Fatalf("sdk export: %v\n%s", err, out)
	}
	if _, err := os.Stat(filepath.Join(sdkDir, "wwspecapisdk", "__init__.py")); err != nil {
		t.Fatalf("sdk export wrote no package: %v", err)
	}
	env := []string{"PYTHON=" + py, "WWSPEC_SDK_DIR=" + sdkDir, "PYTHONDONTWRITEBYTECODE=1"}
	wecomflows.Run(t, wecomflows.Program{
		// WeCom's 启动命令 /bin/sh and 启动参数 start.sh (env names the
		// interpreter CI checks and the exported SDK).
		Deploy: func(name string) []string {
			return append(append([]string{"/usr/bin/env"}, env...), "/bin/sh", start, "--name", name)
		},
		Local: func(port int, name string) *exec.Cmd {
			cmd := exec.Command("/bin/sh", start, "--port", fmt.Sprint(port), "--host", "127.0.0.1", "--name", name)
			cmd.Env = env
			return cmd
		},
	})
}

// TestExportedSDK: the exported package imports on its own and says which
// crypto backend it found.
func TestExportedSDK(t *testing.T) {
	py := testenv.Python(t)
	dir := t.TempDir()
	out, err := exec.Command(testenv.CLI(t), "sdk", "export", "--lang", "python", "--dir", dir).CombinedOutput()
	if err != nil || !strings.Contains(string(out), filepath.Join(dir, "wwspecapisdk", "__init__.py")) {
		t.Fatalf("sdk export: %v\n%s", err, out)
	}
	cmd := exec.Command(py, "-c", "import wwspecapisdk as w, wwspecapisdk._crypto as c; print(w.spec_get_sdk_version(), c.BACKEND); "+
		"from wwspecapisdk import WWToSpecHTTPReqDecoder, WWToSpecHTTPRspConstructor, ChatDataSDK, spec_open_debug_mode, spec_gen_notify_id, spec_log_info")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "PYTHONPATH="+dir, "PYTHONDONTWRITEBYTECODE=1")
	if out, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(out), "openzone") {
		t.Fatalf("import the exported SDK: %v\n%s", err, out)
	}
	// Other languages are refused with a clear message until they exist.
	out, err = exec.Command(testenv.CLI(t), "sdk", "export", "--lang", "rust", "--dir", dir).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "--lang must be one of") {
		t.Fatalf("sdk export --lang rust: %v\n%s", err, out)
	}
}
