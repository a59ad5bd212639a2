package cli_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/openzone/openzone/internal/cli"
)

// TestBench runs `openzone bench --short --only seal --json FILE` (the one
// section that builds nothing; CI runs every section with --short) and a
// usage error.
func TestBench(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "bench.json")
	code, out, errs := run(nil, "bench", "--short", "--only", "seal", "--json", file)
	if code != 0 || !strings.Contains(out, "## seal") || !strings.Contains(out, "targets met") {
		t.Fatalf("exit %d out %q err %q", code, out, errs)
	}
	var rep struct {
		Short    bool `json:"short"`
		Sections []struct {
			Name string `json:"name"`
		} `json:"sections"`
	}
	b, err := os.ReadFile(file)
	if err != nil || json.Unmarshal(b, &rep) != nil || !rep.Short || len(rep.Sections) != 1 || rep.Sections[0].Name != "seal" {
		t.Fatalf("JSON report %s (%v)", b, err)
	}
	if code, _, errs := run(nil, "bench", "extra"); code != cli.ExitUsage || !strings.Contains(errs, "unexpected argument") {
		t.Fatalf("bench extra: exit %d err %q", code, errs)
	}
}
