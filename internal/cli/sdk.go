package cli

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/openzone/openzone/sdk"
	pysdk "github.com/openzone/openzone/sdk/python"
)

func init() {
	register(&command{
		name:  "sdk export",
		args:  "--lang python|java|cpp --dir DIR",
		short: "write a drop-in SDK for programs written against WeCom's SDK (专区SDK) into DIR",
		run:   runSDKExport,
	})
}

// sdkLang is one language `sdk export` writes. needs says what the machine
// must have for export to work (shown in --help); export writes into dir
// and returns the paths it wrote, relative to dir.
type sdkLang struct {
	needs  string
	layout string // what lands in DIR, for --help and the summary
	export func(e *env, dir string) ([]string, error)
}

var sdkLangs = map[string]*sdkLang{
	"python": {
		needs:  "nothing to build: pure Python 3.6+, with the cryptography package (Debian: python3-cryptography) or pycryptodome",
		layout: "DIR/wwspecapisdk (put DIR on sys.path: from wwspecapisdk import …)",
		export: func(e *env, dir string) ([]string, error) { return copyFS(pysdk.Files, pysdk.Package, dir) },
	},
	"java": {
		needs:  nativeNeeds + ", and a JDK's headers (jni.h; Debian: openjdk-17-jdk-headless, or JAVA_HOME); runs on Java 8+",
		layout: "DIR/" + sdk.LibraryName + " and DIR/com/tencent/wework/{SpecSDK,SpecCallbackSDK,SpecUtil}.java (java -Djava.library.path=DIR)",
		export: func(e *env, dir string) ([]string, error) {
			wrote, err := buildNative(e, dir, true)
			if err != nil {
				return nil, err
			}
			pkg := filepath.Join("com", "tencent", "wework")
			if err := os.MkdirAll(filepath.Join(dir, pkg), 0o755); err != nil {
				return nil, err
			}
			srcs := sdk.JavaSources()
			for _, name := range sortedKeys(srcs) {
				if err := os.WriteFile(filepath.Join(dir, pkg, name), srcs[name], 0o644); err != nil {
					return nil, err
				}
				wrote = append(wrote, filepath.Join(pkg, name))
			}
			return wrote, nil
		},
	},
	"cpp": {
		needs:  nativeNeeds,
		layout: "DIR/cpp_sdk.h and DIR/" + sdk.LibraryName + " (g++ -std=c++11 -IDIR … -LDIR -lWeWorkSpecSDK)",
		export: func(e *env, dir string) ([]string, error) {
			wrote, err := buildNative(e, dir, false)
			if err != nil {
				return nil, err
			}
			if err := os.WriteFile(filepath.Join(dir, "cpp_sdk.h"), sdk.CppHeader(), 0o644); err != nil {
				return nil, err
			}
			return append(wrote, "cpp_sdk.h"), nil
		},
	},
}

// nativeNeeds is what building libWeWorkSpecSDK.so takes. The library is
// OpenZone's Go SDK built with cgo on this machine (its sources travel in
// this binary), so it links against this machine's C library: build it on
// the oldest system it must load on.
const nativeNeeds = "builds " + sdk.LibraryName + " here, offline: the Go toolchain 1.26+ (go on PATH) and a C compiler (gcc; CC)"

// buildNative builds libWeWorkSpecSDK.so into dir, with the JNI face for
// Java.
func buildNative(e *env, dir string, jni bool) ([]string, error) {
	fmt.Fprintf(e.stderr, "building %s with cgo (the first build takes a minute, later ones seconds)…\n", sdk.LibraryName)
	err := sdk.BuildNative(context.Background(), sdk.BuildOptions{Out: filepath.Join(dir, sdk.LibraryName), JNI: jni})
	var mt *sdk.MissingToolError
	if errors.As(err, &mt) {
		return nil, errors.New(mt.Msg)
	}
	if err != nil {
		return nil, err
	}
	return []string{sdk.LibraryName}, nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func runSDKExport(e *env, args []string) error {
	fs := newFlags(e, "sdk export")
	lang := fs.String("lang", "", "python, java or cpp")
	dir := fs.String("dir", "", "folder to write the SDK into (created if missing)")
	fs.Usage = func() {
		fmt.Fprintln(e.stderr, "usage: openzone sdk export --lang python|java|cpp --dir DIR")
		fmt.Fprintln(e.stderr, "\nWrites OpenZone's drop-in replacement of WeCom's program SDK (专区SDK): a WeCom program")
		fmt.Fprintln(e.stderr, "runs on OpenZone unchanged with it in place of WeCom's. Per language:")
		for _, n := range sortedLangs() {
			l := sdkLangs[n]
			fmt.Fprintf(e.stderr, "  %-7s %s\n          needs: %s\n", n, l.layout, l.needs)
		}
		fmt.Fprintln(e.stderr)
		fs.PrintDefaults()
	}
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("unexpected arguments %q", pos)
	}
	if *dir == "" {
		return usagef("--dir is required")
	}
	l, ok := sdkLangs[*lang]
	if !ok {
		return usagef("--lang must be one of %s", strings.Join(sortedLangs(), ", "))
	}
	if err := os.MkdirAll(*dir, 0o755); err != nil {
		return err
	}
	wrote, err := l.export(e, *dir)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "wrote the %s SDK to %s: %s\n", *lang, *dir, l.layout)
	for _, p := range wrote {
		fmt.Fprintf(e.stdout, "  %s\n", filepath.Join(*dir, p))
	}
	return nil
}

func sortedLangs() []string { return sortedKeys(sdkLangs) }

// copyFS writes the tree under root of fsys into dir/root, replacing files
// that exist, and returns the paths written relative to dir.
func copyFS(fsys fs.FS, root, dir string) ([]string, error) {
	var wrote []string
	err := fs.WalkDir(fsys, root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		dst := filepath.Join(dir, filepath.FromSlash(p))
		if d.IsDir() {
			return os.MkdirAll(dst, 0o755)
		}
		b, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		if err := os.WriteFile(dst, b, 0o644); err != nil {
			return err
		}
		wrote = append(wrote, filepath.FromSlash(p))
		return nil
	})
	return wrote, err
}
