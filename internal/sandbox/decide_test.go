package sandbox

import (
	"strings"
	"testing"

	"github.com/openzone/openzone"
)

func TestDecide(t *testing.T) {
	can := Support{Sandbox: true, RuntimeOK: true, Runtime: "crun 1.8.1"}
	cannot := Support{Reason: "no user namespaces", Runtime: "no OCI runtime"}
	noRuntime := Support{Sandbox: true, Runtime: "no OCI runtime: install crun"}
	cmd := []string{"/bin/prog"}
	tests := []struct {
		name      string
		deploy    openzone.Deploy
		sup       Support
		sandboxed bool
		note      string // prefix of the note
		err       string // substring of the error
	}{
		{"auto sandboxes", openzone.Deploy{Command: cmd}, can, true, "", ""},
		{"on sandboxes", openzone.Deploy{Command: cmd, Isolation: ModeOn}, can, true, "", ""},
		{"image", openzone.Deploy{Command: cmd, Image: "app.tar"}, can, true, "", ""},
		{"off", openzone.Deploy{Command: cmd, Isolation: ModeOff}, can, false, "isolation off: deploy.isolation is off", ""},
		{"auto where the host cannot", openzone.Deploy{Command: cmd}, cannot, false, "isolation off: no user namespaces", ""},
		{"on where the host cannot", openzone.Deploy{Command: cmd, Isolation: ModeOn}, cannot, false, "", "deploy.isolation is on, and this host cannot sandbox: no user namespaces"},
		{"image where the host cannot", openzone.Deploy{Command: cmd, Image: "app.tar"}, cannot, false, "", "deploy.image runs only in a sandbox"},
		{"image without a runtime", openzone.Deploy{Command: cmd, Image: "app.tar"}, noRuntime, false, "", "install crun"},
		{"url", openzone.Deploy{URL: "http://h:8080"}, can, false, "runs elsewhere", ""},
		{"not deployed", openzone.Deploy{}, can, false, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dec, err := Decide(tt.deploy, tt.sup)
			switch {
			case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
				t.Fatalf("err %v, want %q", err, tt.err)
			case tt.err == "" && err != nil:
				t.Fatal(err)
			case tt.err != "" && openzone.ErrorCode(err) != openzone.ErrInvalidParam:
				t.Errorf("err %v is not an invalid parameter", err)
			}
			if dec.Sandboxed != tt.sandboxed || !strings.HasPrefix(dec.Note, tt.note) || tt.note == "" && dec.Note != "" {
				t.Errorf("decision %+v, want sandboxed %v, note %q", dec, tt.sandboxed, tt.note)
			}
			if want := tt.deploy.Isolation; want != "" && dec.Mode != want || want == "" && dec.Mode != ModeAuto {
				t.Errorf("mode %q, want %q (auto when unset)", dec.Mode, want)
			}
		})
	}
}
