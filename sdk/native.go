// Package sdk builds OpenZone's native SDK library, libWeWorkSpecSDK.so, the
// drop-in for the library under WeCom's Java and C++ zone SDKs (专区SDK), from
// the sources it carries: packages zonewire, zonesdk, wwspec, internal/osthread and the cgo
// package native of this module, with OpenZone's Java classes and cpp_sdk.h.
// `openzone sdk export --lang java|cpp` builds with it on the user's
// machine, with the user's Go toolchain and C compiler, offline.
package sdk

import (
	"bytes"
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
)

//go:embed go.mod zonewire/*.go zonesdk/*.go wwspec/*.go internal/osthread/*.go native/*.go native/*.c native/*.h native/java/com/tencent/wework/*.java
var sources embed.FS

// LibraryName is the file name WeCom's wrappers load
// (System.loadLibrary("WeWorkSpecSDK")) and C++ programs link.
const LibraryName = "libWeWorkSpecSDK.so"

// JavaSources returns OpenZone's com.tencent.wework classes (SpecSDK,
// SpecCallbackSDK, SpecUtil): file name → source.
func JavaSources() map[string][]byte {
	out := map[string][]byte{}
	const dir = "native/java/com/tencent/wework"
	ents, _ := fs.ReadDir(sources, dir)
	for _, e := range ents {
		b, _ := fs.ReadFile(sources, dir+"/"+e.Name())
		out[e.Name()] = b
	}
	return out
}

// CppHeader returns cpp_sdk.h.
func CppHeader() []byte {
	b, _ := fs.ReadFile(sources, "native/cpp_sdk.h")
	return b
}

// BuildOptions configures BuildNative.
type BuildOptions struct {
	// Out is the path of the library to write. Required.
	Out string
	// JNI includes the JNI face, for Java; it needs the JDK's jni.h. Without
	// it the library has only the C face, for cpp_sdk.h.
	JNI bool
	// JavaHome is the JDK whose include/jni.h is used. Default: $JAVA_HOME,
	// else the JDK of javac on PATH, else /usr/lib/jvm/default-java.
	JavaHome string
	// Tags are extra build tags (wwspectest: the test hooks).
	Tags []string
	// Go is the go command. Default: go on PATH, else the one of the
	// toolchain this program was built with, if it is there.
	Go string
	// Env is the environment of the build (default os.Environ()); the
	// builder sets CGO_ENABLED, CGO_CFLAGS, GOWORK, GOFLAGS, GOPROXY and
	// GOTOOLCHAIN over it.
	Env []string
}

// MissingToolError is a tool the build needs that the machine lacks; its
// message is one line that says what to install.
type MissingToolError struct{ Msg string }

func (e *MissingToolError) Error() string { return e.Msg }

// minGoMinor is the oldest Go toolchain (1.minGoMinor) that builds the
// sources: they use crypto/hpke.
const minGoMinor = 26

// BuildNative builds libWeWorkSpecSDK.so into o.Out: it writes the sources
// to a folder in the user's cache (one per version of the sources) and runs
// `go build -buildmode=c-shared` there, offline (GOPROXY=off: the sources
// import only the standard library). The Go build cache makes a second
// build of the same sources take seconds. A missing tool is a
// *MissingToolError.
func BuildNative(ctx context.Context, o BuildOptions) error {
	if o.Out == "" {
		return errors.New("sdk: BuildOptions.Out is required")
	}
	env := o.Env
	if env == nil {
		env = os.Environ()
	}
	goCmd, err := findGo(o.Go)
	if err != nil {
		return err
	}
	run := func(args ...string) (string, error) {
		cmd := exec.CommandContext(ctx, goCmd, args...)
		cmd.Env = append(env, "GOTOOLCHAIN=local", "GOWORK=off")
		out, err := cmd.Output()
		return strings.TrimSpace(string(out)), err
	}
	ver, err := run("env", "GOVERSION")
	if err != nil {
		return &MissingToolError{Msg: fmt.Sprintf("%s does not run (%v): install Go 1.%d or newer from https://go.dev/dl/", goCmd, err, minGoMinor)}
	}
	if !goAtLeast(ver, minGoMinor) {
		return &MissingToolError{Msg: fmt.Sprintf("building %s needs Go 1.%d or newer, and %s is %s: install a newer Go from https://go.dev/dl/", LibraryName, minGoMinor, goCmd, ver)}
	}
	cc, _ := run("env", "CC")
	if cc == "" {
		cc = "gcc"
	}
	if _, err := exec.LookPath(strings.Fields(cc)[0]); err != nil {
		return &MissingToolError{Msg: fmt.Sprintf("building %s needs a C compiler for cgo, and %q is not found: install gcc (Debian: apt-get install gcc) or set CC", LibraryName, cc)}
	}
	cflags := "-O2"
	tags := append([]string{"wwspecsdk", "netgo", "osusergo"}, o.Tags...)
	if o.JNI {
		inc, err := jniInclude(o.JavaHome, env)
		if err != nil {
			return err
		}
		cflags += " -I" + inc + " -I" + filepath.Join(inc, "linux")
	} else {
		tags = append(tags, "nojni")
	}
	dir, err := writeSources()
	if err != nil {
		return err
	}
	out, err := filepath.Abs(o.Out)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, goCmd, "build", "-buildmode=c-shared", "-trimpath", "-ldflags=-s -w",
		"-tags", strings.Join(tags, ","), "-o", out, "./native")
	cmd.Dir = dir
	cmd.Env = append(env, "CGO_ENABLED=1", "CGO_CFLAGS="+cflags, "GOWORK=off", "GOFLAGS=-mod=mod", "GOPROXY=off", "GOTOOLCHAIN=local")
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stderr, &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("sdk: go build %s: %v\n%s", LibraryName, err, strings.TrimSpace(stderr.String()))
	}
	// c-shared also writes a C header named after the library; cpp_sdk.h
	// declares what C++ needs.
	os.Remove(strings.TrimSuffix(out, filepath.Ext(out)) + ".h")
	return nil
}

// findGo returns the go command to build with.
func findGo(given string) (string, error) {
	if given != "" {
		return given, nil
	}
	if p, err := exec.LookPath("go"); err == nil {
		return p, nil
	}
	p := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(p); err == nil {
		return p, nil
	}
	return "", &MissingToolError{Msg: fmt.Sprintf("building %s needs the Go toolchain (Go 1.%d or newer), and go is not on PATH: install it from https://go.dev/dl/", LibraryName, minGoMinor)}
}

// goAtLeast reports whether the toolchain version v ("go1.26.8",
// "go1.27rc1", "devel …") is Go 1.minor or newer.
func goAtLeast(v string, minor int) bool {
	rest, ok := strings.CutPrefix(v, "go1.")
	if !ok {
		return strings.HasPrefix(v, "devel")
	}
	end := 0
	for end < len(rest) && rest[end] >= '0' && rest[end] <= '9' {
		end++
	}
	n, err := strconv.Atoi(rest[:end])
	return err == nil && n >= minor
}

// jniInclude returns the include folder of a JDK holding jni.h.
func jniInclude(javaHome string, env []string) (string, error) {
	var cands []string
	if javaHome != "" {
		cands = append(cands, javaHome)
	} else {
		for _, kv := range env {
			if v, ok := strings.CutPrefix(kv, "JAVA_HOME="); ok && v != "" {
				cands = append(cands, v)
			}
		}
		if p, err := exec.LookPath("javac"); err == nil {
			if real, err := filepath.EvalSymlinks(p); err == nil {
				cands = append(cands, filepath.Dir(filepath.Dir(real)))
			}
		}
		cands = append(cands, "/usr/lib/jvm/default-java")
	}
	for _, home := range cands {
		inc := filepath.Join(home, "include")
		if _, err := os.Stat(filepath.Join(inc, "jni.h")); err == nil {
			if _, err := os.Stat(filepath.Join(inc, "linux", "jni_md.h")); err == nil {
				return inc, nil
			}
		}
	}
	where := "no JDK found"
	if len(cands) > 0 {
		where = "no include/jni.h under " + strings.Join(cands, ", ")
	}
	return "", &MissingToolError{Msg: fmt.Sprintf("building %s for Java needs a JDK's headers (jni.h), %s: install a JDK (Debian: apt-get install openjdk-17-jdk-headless) or set JAVA_HOME", LibraryName, where)}
}

// writeSources writes the library's sources (test files left out) to a
// folder named after their hash in the user's cache, once, and returns it.
func writeSources() (string, error) {
	var files []string
	h := sha256.New()
	err := fs.WalkDir(sources, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasSuffix(p, "_test.go") {
			return err
		}
		b, err := fs.ReadFile(sources, p)
		if err != nil {
			return err
		}
		files = append(files, p)
		fmt.Fprintf(h, "%s\x00%d\x00", p, len(b))
		h.Write(b)
		return nil
	})
	if err != nil {
		return "", err
	}
	base, err := os.UserCacheDir()
	if err != nil {
		base = os.TempDir()
	}
	dir := filepath.Join(base, "openzone", "wwspecsdk-src-"+hex.EncodeToString(h.Sum(nil))[:16])
	if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
		return dir, nil
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return "", err
	}
	// Written aside and renamed, so concurrent builds never see half a tree.
	tmp, err := os.MkdirTemp(filepath.Dir(dir), ".wwspecsdk-src-")
	if err != nil {
		return "", err
	}
	for _, p := range files {
		b, _ := fs.ReadFile(sources, p)
		dst := filepath.Join(tmp, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return "", err
		}
		if err := os.WriteFile(dst, b, 0o644); err != nil {
			return "", err
		}
	}
	if err := os.Rename(tmp, dir); err != nil {
		os.RemoveAll(tmp)
		if _, statErr := os.Stat(filepath.Join(dir, "go.mod")); statErr != nil {
			return "", err
		}
	}
	return dir, nil
}
