// Package cppprogram tests the C++ sample program (src/sample_program.cpp,
// written against WeCom's cpp_sdk.h) built with g++ on the header and
// library `openzone sdk export --lang cpp` writes: the flows of
// internal/wecomflows, deployed by the zone, in debug mode and on refused
// packets.
package cppprogram

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/openzone/openzone/internal/nativetest"
	"github.com/openzone/openzone/internal/testenv"
	"github.com/openzone/openzone/internal/wecomflows"
)

func TestFlows(t *testing.T) {
	nativetest.Require(t, "g++", "go", "gcc")
	sdk := testenv.SharedDir(t) // the program loads the library from it
	out, err := exec.Command(testenv.CLI(t), "sdk", "export", "--lang", "cpp", "--dir", sdk).CombinedOutput()
	if err != nil {
		t.Fatalf("sdk export --lang cpp: %v\n%s", err, out)
	}
	for _, f := range []string{"libWeWorkSpecSDK.so", "cpp_sdk.h"} {
		if _, err := os.Stat(filepath.Join(sdk, f)); err != nil {
			t.Fatalf("sdk export wrote no %s:\n%s", f, out)
		}
	}
	src, err := filepath.Abs("src/sample_program.cpp")
	if err != nil {
		t.Fatal(err)
	}
	bin := nativetest.Gpp(t, sdk, src)
	wecomflows.Run(t, wecomflows.Program{
		Deploy: func(name string) []string { return []string{bin, "--name", name} },
		Local: func(port int, name string) *exec.Cmd {
			return exec.Command(bin, "--port", fmt.Sprint(port), "--host", "127.0.0.1", "--name", name)
		},
	})
}
