package sdk

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestGoAtLeast(t *testing.T) {
	for _, tc := range []struct {
		v    string
		want bool
	}{
		{"go1.26.8", true}, {"go1.26", true}, {"go1.27rc1", true}, {"go1.30.0", true},
		{"go1.25.9", false}, {"go1.9", false}, {"devel go1.27-abc", true}, {"", false}, {"gccgo", false},
	} {
		if got := goAtLeast(tc.v, 26); got != tc.want {
			t.Errorf("goAtLeast(%q) = %v", tc.v, got)
		}
	}
}

// A machine that lacks a tool gets one line naming what to install.
func TestBuildNative_MissingTool(t *testing.T) {
	goCmd, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go on PATH")
	}
	empty := t.TempDir()
	oldGo := filepath.Join(t.TempDir(), "go")
	os.WriteFile(oldGo, []byte("#!/bin/sh\necho go1.22.1\n"), 0o755)
	for _, tc := range []struct {
		name string
		o    BuildOptions
		want string
	}{
		{"NoGo", BuildOptions{Go: filepath.Join(empty, "go")}, "install Go 1.26 or newer"},
		{"OldGo", BuildOptions{Go: oldGo}, "needs Go 1.26 or newer, and " + oldGo + " is go1.22.1"},
		{"NoCC", BuildOptions{Go: goCmd, Env: append(os.Environ(), "CC=no-such-cc")}, `a C compiler for cgo, and "no-such-cc" is not found: install gcc`},
		{"NoJDK", BuildOptions{Go: goCmd, JNI: true, JavaHome: empty}, "needs a JDK's headers (jni.h), no include/jni.h under " + empty + ": install a JDK (Debian: apt-get install openjdk-17-jdk-headless) or set JAVA_HOME"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.name == "NoCC" || tc.name == "NoJDK" {
				if _, err := exec.LookPath("gcc"); err != nil && tc.name == "NoJDK" {
					t.Skip("no gcc: the C compiler check comes first")
				}
			}
			tc.o.Out = filepath.Join(t.TempDir(), LibraryName)
			err := BuildNative(context.Background(), tc.o)
			var mt *MissingToolError
			if !errors.As(err, &mt) || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("err = %v, want a one-line *MissingToolError holding %q", err, tc.want)
			}
		})
	}
}

func TestSources(t *testing.T) {
	java := JavaSources()
	for _, name := range []string{"SpecSDK.java", "SpecCallbackSDK.java", "SpecUtil.java"} {
		if !strings.Contains(string(java[name]), "package com.tencent.wework;") {
			t.Errorf("JavaSources lacks %s", name)
		}
	}
	if !strings.Contains(string(CppHeader()), "class SpecCallbackSDK") {
		t.Error("CppHeader is not cpp_sdk.h")
	}
	dir, err := writeSources()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"go.mod", "zonewire/zonewire.go", "wwspec/wwspec.go", "native/jni.go", "native/jnihelp.c"} {
		if _, err := os.Stat(filepath.Join(dir, p)); err != nil {
			t.Errorf("sources lack %s", p)
		}
	}
	if m, _ := filepath.Glob(filepath.Join(dir, "*", "*_test.go")); len(m) > 0 {
		t.Errorf("sources hold tests: %v", m)
	}
}
