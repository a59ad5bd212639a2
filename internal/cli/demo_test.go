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
