package cli

import (
	"strings"
	"testing"

	"github.com/openzone/openzone/internal/seed"
)

// TestDemoSeedParses keeps the demo's seed valid as the format evolves.
func TestDemoSeedParses(t *testing.T) {
	f, err := seed.Parse("demo.yaml", []byte(strings.ReplaceAll(demoSeed, "{{PROGRAM}}", "/bin/zoneprogram")))
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Programs) != 3 || len(f.Apps) != 1 || len(f.Corps[0].Messages) == 0 {
		t.Fatalf("demo seed = %d programs, %d apps, %d messages", len(f.Programs), len(f.Apps), len(f.Corps[0].Messages))
	}
}

// fit keeps traffic --follow's columns aligned whatever the names.
func TestFit(t *testing.T) {
	for _, tc := range []struct {
		s    string
		n    int
		want string
	}{{"echo", 6, "echo  "}, {"prog-with-a-very-long-name", 8, "prog-wi…"}, {"专区程序", 3, "专区…"}, {"exact", 5, "exact"}} {
		if got := fit(tc.s, tc.n); got != tc.want {
			t.Errorf("fit(%q, %d) = %q, want %q", tc.s, tc.n, got, tc.want)
		}
	}
}
