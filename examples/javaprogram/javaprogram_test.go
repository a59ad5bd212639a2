// Package javaprogram tests the Java sample program (SampleProgram.java,
// written against WeCom's Java SDK) on the libWeWorkSpecSDK.so that
// `openzone sdk export --lang java` builds: the flows of
// internal/wecomflows, deployed by the zone as `java -jar`, in debug mode
// and on refused packets.
package javaprogram

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

// export writes the Java SDK as a user gets it, with the openzone binary.
func export(t *testing.T) string {
	t.Helper()
	dir := testenv.SharedDir(t) // the program loads the library from it
	out, err := exec.Command(testenv.CLI(t), "sdk", "export", "--lang", "java", "--dir", dir).CombinedOutput()
	if err != nil {
		t.Fatalf("sdk export --lang java: %v\n%s", err, out)
	}
	for _, f := range []string{"libWeWorkSpecSDK.so", "com/tencent/wework/SpecSDK.java", "com/tencent/wework/SpecCallbackSDK.java", "com/tencent/wework/SpecUtil.java"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Fatalf("sdk export wrote no %s:\n%s", f, out)
		}
	}
	return dir
}

// TestFlows runs the sample under WeCom's own wrapper classes (re-created
// from their published shape: internal/nativetest/testdata/wecom) in place
// of the exported ones, as a program that keeps WeCom's SpecSDK.java and
// SpecCallbackSDK.java does, and SpecUtil from the export.
func TestFlows(t *testing.T) {
	nativetest.Require(t, "java", "javac", "jar", "go", "gcc")
	java, _ := exec.LookPath("java")
	sdk := export(t)
	classes := nativetest.Javac(t, "../../internal/nativetest/testdata/wecom", sdk, ".")
	jar := nativetest.Jar(t, classes, "SampleProgram")
	wecomflows.Run(t, wecomflows.Program{
		// WeCom's 启动命令 /usr/bin/java with 启动参数 -jar ….
		Deploy: func(name string) []string {
			return []string{java, "-Djava.library.path=" + sdk, "-jar", jar, "--name", name}
		},
		Local: func(port int, name string) *exec.Cmd {
			return exec.Command(java, "-Djava.library.path="+sdk, "-jar", jar, "--port", fmt.Sprint(port), "--host", "127.0.0.1", "--name", name)
		},
	})
}
