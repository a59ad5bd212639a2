// Package sandboxtest decides whether a test that needs sandboxes runs:
// it skips, saying why, on a host that cannot sandbox, and fails instead
// when OPENZONE_REQUIRE_SANDBOX=1 (which .ci/run sets), so CI never
// passes by skipping. Only tests import it.
package sandboxtest

import (
	"os"
	"testing"

	"github.com/openzone/openzone/internal/sandbox"
)

// EnvRequire names the variable that turns skips into failures.
const EnvRequire = "OPENZONE_REQUIRE_SANDBOX"

// Required reports whether sandbox tests must run here.
func Required() bool { return os.Getenv(EnvRequire) == "1" }

// Host returns a Manager of this host's sandboxes (with a throwaway data
// directory), for tests that decide before they start a zone.
func Host(tb testing.TB) *sandbox.Manager {
	tb.Helper()
	m := sandbox.New(sandbox.Config{DataDir: tb.TempDir()})
	tb.Cleanup(m.Close)
	return m
}

// Require skips (or fails) tb unless m can sandbox instances.
func Require(tb testing.TB, m *sandbox.Manager) {
	tb.Helper()
	if s := m.Probe(); !s.Sandbox {
		stop(tb, "this host cannot sandbox: "+s.Reason)
	}
}

// RequireLimits skips (or fails) tb unless m can enforce limits.
func RequireLimits(tb testing.TB, m *sandbox.Manager) {
	tb.Helper()
	Require(tb, m)
	if s := m.Probe(); !s.LimitsEnforce {
		stop(tb, "this host cannot enforce limits: "+s.Limits)
	}
}

// RequireRuntime skips (or fails) tb unless m has an OCI runtime.
func RequireRuntime(tb testing.TB, m *sandbox.Manager) {
	tb.Helper()
	Require(tb, m)
	if s := m.Probe(); !s.RuntimeOK {
		stop(tb, s.Runtime)
	}
}

func stop(tb testing.TB, why string) {
	tb.Helper()
	if Required() {
		tb.Fatalf("%s (%s=1: this machine must support it)", why, EnvRequire)
	}
	tb.Skipf("%s (set %s=1 to make this a failure)", why, EnvRequire)
}

// Tar writes an image tarball at path (see sandbox.WriteImage).
func Tar(tb testing.TB, path, base string, files map[string][]byte, exec ...string) {
	tb.Helper()
	if err := sandbox.WriteImage(path, base, files, exec...); err != nil {
		tb.Fatal(err)
	}
}
