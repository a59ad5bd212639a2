package python

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Python returns the interpreter the tests run: $OPENZONE_PYTHON, else
// Debian's /usr/bin/python3 (what CI runs), else python3 on PATH. Without
// one the test skips, unless OPENZONE_REQUIRE_PYTHON=1 makes it fail.
func Python(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("OPENZONE_PYTHON"); p != "" {
		return p
	}
	for _, p := range []string{"/usr/bin/python3", "python3"} {
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	if os.Getenv("OPENZONE_REQUIRE_PYTHON") == "1" {
		t.Fatal("no python3 (OPENZONE_REQUIRE_PYTHON=1)")
	}
	t.Skip("no python3")
	return ""
}

// TestPython runs the SDK's unittest suite (tests/) on each crypto backend
// the interpreter has: the protocol's test vectors, RFC 9180 and RFC 7748
// vectors, the decoder, the reply constructor, invokes against a fake zone.
func TestPython(t *testing.T) {
	py := Python(t)
	for _, backend := range []string{"cryptography", "pycryptodome"} {
		t.Run(backend, func(t *testing.T) {
			probe := exec.Command(py, "-c", "import wwspecapisdk._crypto as c; print(c.BACKEND)")
			probe.Env = append(os.Environ(), "PYTHONPATH=.", "WWSPECAPISDK_CRYPTO="+backend)
			if out, err := probe.CombinedOutput(); err != nil {
				if backend == "cryptography" || os.Getenv("OPENZONE_REQUIRE_PYTHON") == "1" {
					t.Fatalf("%s cannot load the %s backend: %v\n%s", py, backend, err, out)
				}
				t.Skipf("%s has no %s", py, backend)
			}
			cmd := exec.Command(py, "-m", "unittest", "discover", "-s", "tests", "-v")
			cmd.Env = append(os.Environ(), "PYTHONPATH=.", "WWSPECAPISDK_CRYPTO="+backend, "PYTHONDONTWRITEBYTECODE=1")
			var out bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &out
			if err := cmd.Run(); err != nil {
				t.Fatalf("python unittest (%s): %v\n%s", backend, err, out.String())
			}
			if !strings.Contains(out.String(), "\nOK") {
				t.Fatalf("python unittest did not report OK:\n%s", out.String())
			}
		})
	}
}

// TestSyntax36: the module's syntax stays within CPython 3.6, the oldest
// Python in WeCom's images (the grammar is checked; the few newer library
// calls are guarded where they are made).
func TestSyntax36(t *testing.T) {
	py := Python(t)
	files, err := filepath.Glob(filepath.Join(Package, "*.py"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no sources: %v", err)
	}
	script := `import ast, sys
for f in sys.argv[1:]:
    ast.parse(open(f, encoding="utf-8").read(), f, feature_version=(3, 6))
`
	out, err := exec.Command(py, append([]string{"-c", script}, files...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("not Python 3.6 syntax: %v\n%s", err, out)
	}
}
