//go:build linux

package sandboxtest

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// DebianPackages are what the Debian image holds besides Debian's
// essential set: python3 and pycryptodome (what WeCom's Python SDK needs).
var DebianPackages = []string{"python3-minimal", "libpython3.11-stdlib", "python3-pycryptodome"}

// debianSuite is the release the image is built from: this machine's.
const debianSuite = "bookworm"

// DebianImage returns the tarball of a Debian root filesystem with
// python3, made with Debian's mmdebstrap from this machine's own apt
// sources (no other network). It is built once and kept in the user cache
// directory (openzone/<key>.tar), keyed by what goes into it; a machine
// without mmdebstrap skips (or fails, with OPENZONE_REQUIRE_SANDBOX=1).
func DebianImage(tb testing.TB) string {
	tb.Helper()
	mm, err := exec.LookPath("mmdebstrap")
	if err != nil {
		stop(tb, "no mmdebstrap (apt-get install mmdebstrap) to build a Debian root filesystem")
	}
	sources := "/etc/apt/sources.list.d/debian.sources"
	if _, err := os.Stat(sources); err != nil {
		sources = "/etc/apt/sources.list"
	}
	src, err := os.ReadFile(sources)
	if err != nil {
		stop(tb, "no apt sources on this machine: "+err.Error())
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	dir := filepath.Join(cache, "openzone")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		tb.Fatal(err)
	}
	h := sha256.New()
	fmt.Fprintln(h, debianSuite, strings.Join(DebianPackages, ","), "essential")
	h.Write(src)
	key := "debian-python-" + hex.EncodeToString(h.Sum(nil))[:16]
	out := filepath.Join(dir, key+".tar")

	// One build per machine at a time: test processes run in parallel.
	lock, err := os.OpenFile(out+".lock", os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		tb.Fatal(err)
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		tb.Fatal(err)
	}
	defer syscall.Flock(int(lock.Fd()), syscall.LOCK_UN)
	if fi, err := os.Stat(out); err == nil && fi.Mode().IsRegular() {
		return out
	}
	os.RemoveAll(out)
	tmp := filepath.Join(dir, key+".partial.tar") // mmdebstrap picks its format by the name
	os.RemoveAll(tmp)
	args := []string{"--variant=essential", "--format=tar", "--include=" + strings.Join(DebianPackages, ","),
		"--dpkgopt=path-exclude=/usr/share/doc/*", "--dpkgopt=path-exclude=/usr/share/man/*",
		"--dpkgopt=path-exclude=/usr/share/locale/*", "--dpkgopt=force-unsafe-io"}
	// The machine's package lists, when apt has them, spare a download.
	if lists, _ := filepath.Glob("/var/lib/apt/lists/*_InRelease"); len(lists) > 0 {
		args = append(args, "--skip=update",
			`--setup-hook=mkdir -p "$1"/var/lib/apt/lists`,
			"--setup-hook=sync-in /var/lib/apt/lists /var/lib/apt/lists")
	}
	args = append(args, debianSuite, tmp, sources)
	tb.Logf("building a Debian root filesystem with mmdebstrap (once per machine; minutes): %s", out)
	cmd := exec.Command(mm, args...)
	b, err := cmd.CombinedOutput()
	if err != nil {
		os.RemoveAll(tmp)
		tb.Fatalf("mmdebstrap %s: %v\n%s", strings.Join(args, " "), err, tail(b, 4000))
	}
	if err := os.Rename(tmp, out); err != nil {
		tb.Fatal(err)
	}
	return out
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}
