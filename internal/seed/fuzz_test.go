package seed

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/openzone/openzone"
	"github.com/openzone/openzone/internal/protocol"
)

// FuzzParse checks that Parse never panics, fails only with a 40058
// *openzone.Error naming the file, and returns only Files that validate and
// whose protocols compile.
func FuzzParse(f *testing.F) {
	if full, err := os.ReadFile("testdata/full.yaml"); err == nil {
		f.Add(string(full))
	}
	f.Add(designExample)
	for _, tc := range parseErrorCases {
		f.Add(tc.yaml)
	}
	f.Fuzz(func(t *testing.T, data string) {
		file, err := Parse("f.yaml", []byte(data))
		if err != nil {
			var oe *openzone.Error
			if !errors.As(err, &oe) || oe.Code != openzone.ErrInvalidParam {
				t.Fatalf("error %#v is not a 40058 *openzone.Error", err)
			}
			if !strings.HasPrefix(oe.Message, "f.yaml") {
				t.Fatalf("message %q does not name the file", oe.Message)
			}
			return
		}
		if err := file.Validate(); err != nil {
			t.Fatalf("Parse succeeded, Validate fails: %v", err)
		}
		for _, p := range file.Programs {
			for _, a := range p.Abilities {
				for _, raw := range [][]byte{a.Input, a.Output} {
					if _, err := protocol.Compile(raw); err != nil {
						t.Fatalf("%s/%s: protocol %s does not compile: %v", p.ID, a.ID, raw, err)
					}
				}
			}
		}
	})
}
