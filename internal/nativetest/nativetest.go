// Package nativetest builds and runs what tests of OpenZone's native SDK
// need: libWeWorkSpecSDK.so (with its test hooks), Java programs compiled
// against it and C++ programs compiled against cpp_sdk.h. Tests that need a
// JDK or g++ skip when it is missing, unless OPENZONE_REQUIRE_NATIVE=1 (CI
// sets it), which makes them fail instead. Only tests import it.
package nativetest

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openzone/openzone/sdk"
)

// EnvRequire, set to 1, turns a skip for a missing tool into a failure.
const EnvRequire = "OPENZONE_REQUIRE_NATIVE"

// Require skips tb unless every command in cmds is on PATH (fails, when
// OPENZONE_REQUIRE_NATIVE=1).
func Require(tb testing.TB, cmds ...string) {
	tb.Helper()
	var missing []string
	for _, c := range cmds {
		if _, err := exec.LookPath(c); err != nil {
			missing = append(missing, c)
		}
	}
	if len(missing) == 0 {
		return
	}
	msg := fmt.Sprintf("native SDK test needs %s on PATH (Debian: openjdk-17-jdk-headless, g++)", strings.Join(missing, ", "))
	if os.Getenv(EnvRequire) == "1" {
		tb.Fatalf("%s, and %s=1", msg, EnvRequire)
	}
	tb.Skip(msg)
}

var (
	mu    sync.Mutex
	dir   string
	built = map[string]string{}
)

// scratch returns a folder that lives as long as the test process (results
// are shared between tests); the OS cleans its temporary folder.
func scratch(tb testing.TB) string {
	if dir == "" {
		d, err := os.MkdirTemp("", "openzone-nativetest-")
		if err != nil {
			tb.Fatal(err)
		}
		dir = d
	}
	return dir
}

// once runs build for key once per process and returns its result.
func once(tb testing.TB, key string, build func(dir string) (string, error)) string {
	tb.Helper()
	mu.Lock()
	defer mu.Unlock()
	if p, ok := built[key]; ok {
		return p
	}
	d := filepath.Join(scratch(tb), fmt.Sprintf("%02d", len(built)))
	if err := os.MkdirAll(d, 0o755); err != nil {
		tb.Fatal(err)
	}
	p, err := build(d)
	if err != nil {
		tb.Fatalf("%s: %v", key, err)
	}
	built[key] = p
	return p
}

// Library returns the folder holding libWeWorkSpecSDK.so with the JNI face
// and the test hooks (tag wwspectest), and cpp_sdk.h, built once per
// process.
func Library(tb testing.TB) string {
	tb.Helper()
	Require(tb, "go", "gcc")
	return once(tb, "library", func(d string) (string, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		err := sdk.BuildNative(ctx, sdk.BuildOptions{Out: filepath.Join(d, sdk.LibraryName), JNI: true, Tags: []string{"wwspectest"}})
		if err != nil {
			return "", err
		}
		return d, os.WriteFile(filepath.Join(d, "cpp_sdk.h"), sdk.CppHeader(), 0o644)
	})
}

// OpenZoneJava returns a folder holding OpenZone's Java sources of
// com.tencent.wework (SpecSDK, SpecCallbackSDK, SpecUtil).
func OpenZoneJava(tb testing.TB) string {
	tb.Helper()
	return once(tb, "openzone java", func(d string) (string, error) {
		pkg := filepath.Join(d, "com", "tencent", "wework")
		if err := os.MkdirAll(pkg, 0o755); err != nil {
			return "", err
		}
		for name, b := range sdk.JavaSources() {
			if err := os.WriteFile(filepath.Join(pkg, name), b, 0o644); err != nil {
				return "", err
			}
		}
		return d, nil
	})
}

// Javac compiles the Java sources found under the folders roots (for a
// class present in several, the first root wins, so a test can put WeCom's
// wrappers before OpenZone's) for Java 8, and returns the classes folder.
func Javac(tb testing.TB, roots ...string) string {
	tb.Helper()
	Require(tb, "javac")
	return once(tb, "javac "+strings.Join(roots, " "), func(d string) (string, error) {
		seen := map[string]bool{}
		var files []string
		for _, root := range roots {
			err := filepath.WalkDir(root, func(p string, e fs.DirEntry, err error) error {
				if err != nil || e.IsDir() || !strings.HasSuffix(p, ".java") {
					return err
				}
				rel, _ := filepath.Rel(root, p)
				if !seen[rel] {
					seen[rel] = true
					files = append(files, p)
				}
				return nil
			})
			if err != nil {
				return "", err
			}
		}
		sort.Strings(files)
		args := append([]string{"-encoding", "UTF-8", "--release", "8", "-Xlint:-options", "-d", d}, files...)
		if out, err := exec.Command("javac", args...).CombinedOutput(); err != nil {
			return "", fmt.Errorf("javac: %v\n%s", err, out)
		}
		return d, nil
	})
}

// Jar packs the classes folder into a runnable jar with main class main.
func Jar(tb testing.TB, classes, main string) string {
	tb.Helper()
	Require(tb, "jar")
	return once(tb, "jar "+classes+" "+main, func(d string) (string, error) {
		p := filepath.Join(d, main+".jar")
		if out, err := exec.Command("jar", "--create", "--file", p, "--main-class", main, "-C", classes, ".").CombinedOutput(); err != nil {
			return "", fmt.Errorf("jar: %v\n%s", err, out)
		}
		return p, nil
	})
}

// Gpp compiles the C++ sources against cpp_sdk.h in lib and links them
// with lib's libWeWorkSpecSDK.so (found at run time through an rpath), and
// returns the program.
func Gpp(tb testing.TB, lib string, srcs ...string) string {
	tb.Helper()
	Require(tb, "g++")
	return once(tb, "g++ "+lib+" "+strings.Join(srcs, " "), func(d string) (string, error) {
		p := filepath.Join(d, strings.TrimSuffix(filepath.Base(srcs[0]), ".cpp"))
		args := append([]string{"-std=c++11", "-O1", "-Wall", "-Werror", "-pthread", "-I", lib, "-o", p}, srcs...)
		args = append(args, "-L", lib, "-lWeWorkSpecSDK", "-Wl,-rpath,"+lib)
		if out, err := exec.Command("g++", args...).CombinedOutput(); err != nil {
			return "", fmt.Errorf("g++: %v\n%s", err, out)
		}
		return p, nil
	})
}

// Java returns a java command line running main from classpath with the
// library folder lib on java.library.path.
func Java(lib, classpath, main string, args ...string) []string {
	return append([]string{"java", "-Djava.library.path=" + lib, "-cp", classpath, main}, args...)
}

// JNIWarnings returns the lines of a JVM's standard error that -Xcheck:jni
// printed about the library's use of JNI. The JVM's notes that a handler of
// SIGSEGV, SIGBUS, SIGFPE, SIGPIPE (or another signal it watches) was
// modified are left out: Go installs its signal handlers with SA_ONSTACK
// and hands on the signals it does not own, which -Xcheck:jni reports but
// is expected (no libjsig is preloaded).
func JNIWarnings(stderr []byte) []string {
	var out []string
	inSignalDump := false
	for _, line := range strings.Split(string(stderr), "\n") {
		t := strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(t, "Warning: SIG") && strings.HasSuffix(t, "handler modified!"):
			inSignalDump = true
		case inSignalDump:
			if t == "Consider using jsig library." {
				inSignalDump = false
			}
		case strings.Contains(t, "WARNING") || strings.Contains(t, "FATAL ERROR") || strings.HasPrefix(t, "Warning:") ||
			strings.Contains(t, "JNI"):
			out = append(out, t)
		}
	}
	return out
}

// Trim returns at most the last n bytes of b, for failure messages.
func Trim(b []byte, n int) string {
	if len(b) > n {
		b = append([]byte("…"), b[len(b)-n:]...)
	}
	return string(bytes.TrimSpace(b))
}
