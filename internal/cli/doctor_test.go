package cli_test

import (
	"encoding/json"
	"os/exec"
	"testing"

	"github.com/openzone/openzone/internal/sandbox/sandboxtest"
	"github.com/openzone/openzone/internal/testenv"
)

func TestDoctor(t *testing.T) {
	out, err := exec.Command(testenv.CLI(t), "doctor", "--json").Output()
	if err != nil {
		t.Fatalf("doctor --json: %v\n%s", err, out)
	}
	var sup struct {
		Sandbox bool   `json:"sandbox"`
		Reason  string `json:"reason"`
		Limits  string `json:"limits"`
		Runtime string `json:"runtime"`
		Checks  []struct {
			Name string `json:"name"`
			OK   bool   `json:"ok"`
		} `json:"checks"`
	}
	if err := json.Unmarshal(out, &sup); err != nil {
		t.Fatalf("doctor --json: %v\n%s", err, out)
	}
	if len(sup.Checks) < 3 || sup.Limits == "" || sup.Runtime == "" {
		t.Errorf("doctor --json = %s", out)
	}
	if !sup.Sandbox && sup.Reason == "" {
		t.Error("doctor says no sandboxes without saying why")
	}
	if sandboxtest.Required() && !sup.Sandbox {
		t.Errorf("this machine must sandbox (%s=1), doctor says: %s", sandboxtest.EnvRequire, sup.Reason)
	}
	text, err := exec.Command(testenv.CLI(t), "doctor").Output()
	if err != nil || len(text) == 0 {
		t.Fatalf("doctor: %v\n%s", err, text)
	}
}
