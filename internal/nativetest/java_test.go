package nativetest_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/openzone/openzone/internal/nativetest"
)

// javaRun runs a test program of testdata/java under the given wrappers,
// with -Xcheck:jni, against zone, and returns its output.
func javaRun(t *testing.T, zone *fakeZone, wrappers []string, timeout time.Duration, main string, args ...string) (stdout, stderr []byte, err error) {
	t.Helper()
	nativetest.Require(t, "java", "javac")
	lib := nativetest.Library(t)
	classes := nativetest.Javac(t, append(wrappers, nativetest.OpenZoneJava(t), "testdata/java")...)
	argv := nativetest.Java(lib, classes, main, args...)
	argv = append([]string{argv[0], "-Xcheck:jni"}, argv[1:]...)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), "OPENZONE_API="+zone.srv.URL, "OPENZONE_PROGRAM_ID="+programID, "OPENZONE_SECRET="+secret.String())
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err = cmd.Run()
	return out.Bytes(), errb.Bytes(), err
}

// Many Java threads at once under -Xcheck:jni: every call opens and
// answers right, bad input is refused, implicit NullPointerExceptions
// (SIGSEGV in HotSpot) pass through Go's signal handler, and the JVM
// reports no misuse of JNI.
func TestJava_Stress(t *testing.T) {
	t.Parallel()
	zone := newFakeZone(t)
	const threads, iterations = 32, 250
	out, stderr, err := javaRun(t, zone, nil, 5*time.Minute, "Stress", strconv.Itoa(threads), strconv.Itoa(iterations))
	if err != nil {
		t.Fatalf("Stress: %v\n%s\n%s", err, out, nativetest.Trim(stderr, 4000))
	}
	m := regexp.MustCompile(`STRESS opened=(\d+) refused=(\d+) invoked=(\d+) npes=(\d+) live=(\d+)`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("output:\n%s", out)
	}
	n := func(i int) int { v, _ := strconv.Atoi(string(m[i])); return v }
	if n(1) != threads*iterations || n(2) != 2*threads*iterations || n(3) != threads*((iterations+24)/25) || n(4) != threads*iterations {
		t.Fatalf("counts: %s", m[0])
	}
	if w := nativetest.JNIWarnings(stderr); len(w) > 0 {
		t.Fatalf("-Xcheck:jni reported:\n%s", strings.Join(w, "\n"))
	}
	if !bytes.Contains(stderr, []byte("handler modified")) {
		t.Log("note: -Xcheck:jni printed no signal-handler notes")
	}
	t.Logf("%s (%d -Xcheck:jni lines)", m[0], bytes.Count(stderr, []byte("\n")))
}

// What only Java can hand the library: maps of other things than strings,
// maps that throw, forged handles.
func TestJava_Edge(t *testing.T) {
	t.Parallel()
	for name, wrappers := range map[string][]string{"OpenZone": nil, "WeCom": {"testdata/wecom"}} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			zone := newFakeZone(t)
			out, stderr, err := javaRun(t, zone, wrappers, 2*time.Minute, "Edge")
			if err != nil || !bytes.Contains(out, []byte("EDGE ok")) {
				t.Fatalf("Edge: %v\n%s\n%s", err, out, nativetest.Trim(stderr, 4000))
			}
			if w := nativetest.JNIWarnings(stderr); len(w) > 0 {
				t.Fatalf("-Xcheck:jni reported:\n%s", strings.Join(w, "\n"))
			}
		})
	}
}

func TestJNIWarnings(t *testing.T) {
	stderr := `Warning: SIGSEGV handler modified!
Signal Handlers:
   SIGSEGV: runtime.cgoSigtramp.abi0 in libWeWorkSpecSDK.so, mask=1, flags=SA_ONSTACK
  *** Handler was modified!
Consider using jsig library.
<1,2>,2026-01-01 00:00:00.000,ERR,,wwspecsdk,0,call refused (ww-exception -10011)
WARNING in native method: JNI call made without checking exceptions when required to from CallObjectMethod
WARNING: JNI local refs: 33, exceeds capacity: 32
FATAL ERROR in native method: Bad global or local ref passed to JNI
`
	got := nativetest.JNIWarnings([]byte(stderr))
	if len(got) != 3 || !strings.HasPrefix(got[0], "WARNING in native method") || !strings.HasPrefix(got[2], "FATAL ERROR") {
		t.Fatalf("JNIWarnings = %q", got)
	}
}
