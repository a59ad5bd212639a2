package cli_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/openzone/openzone/internal/testenv"
)

// TestSeedFilesApply: every seed file in the repository applies to a fresh
// zone with `openzone seed apply`, as a user would run it — the demo's
// template with its placeholders filled as `openzone demo` fills them.
// Parser fixtures under testdata/ name commands that exist nowhere on
// purpose and are not seeds to apply.
func TestSeedFilesApply(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	var files []string
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (strings.HasPrefix(d.Name(), ".") && p != root || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if ext := filepath.Ext(p); !d.IsDir() && (ext == ".yaml" || ext == ".yml") {
			files = append(files, p)
		}
		return nil
	})
	if len(files) < 2 {
		t.Fatalf("found %d seed files: %v", len(files), files)
	}
	for _, p := range files {
		rel, _ := filepath.Rel(root, p)
		t.Run(rel, func(t *testing.T) {
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			path := p
			if s := string(b); strings.Contains(s, "{{") {
				s = strings.NewReplacer("{{PROGRAM}}", testenv.Example(t),
					"{{MODEL}}", testenv.Build(t, "github.com/openzone/openzone/examples/zonemodel")).Replace(s)
				path = filepath.Join(t.TempDir(), filepath.Base(p))
				if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			z := testenv.Start(t, testenv.Options{})
			code, out, errs := run(z, "seed", "apply", path)
			if code != 0 {
				t.Fatalf("openzone seed apply %s: exit %d\n%s%s", rel, code, out, errs)
			}
			// Again: applying is idempotent.
			if code, out, errs := run(z, "seed", "apply", path); code != 0 {
				t.Fatalf("second apply: exit %d\n%s%s", code, out, errs)
			}
		})
	}
}
