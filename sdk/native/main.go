//go:build wwspecsdk

// Command native is libWeWorkSpecSDK.so, OpenZone's drop-in replacement of
// the native library under WeCom's Java and C++ zone SDKs (专区SDK). Build it
// with cgo as a shared library:
//
//	CGO_CFLAGS="-I$JAVA_HOME/include -I$JAVA_HOME/include/linux" \
//	  go build -buildmode=c-shared -tags wwspecsdk -o libWeWorkSpecSDK.so ./native
//
// (in the sdk module; `openzone sdk export --lang java|cpp` does this). It has
// two faces over one core (package wwspec):
//
//   - the JNI natives that WeCom's published wrapper classes
//     com.tencent.wework.SpecCallbackSDK and SpecSDK declare (jni.go), and
//     those of OpenZone's SpecUtil (java/com/tencent/wework);
//   - a C ABI, wwspec_* (capi.go), that cpp_sdk.h wraps in WeCom's C++
//     classes. The tag nojni leaves the JNI face out, so the library for
//     C++ builds without a JDK.
//
// The files of this package all carry the build tag wwspecsdk, so `go build
// ./...` and `go vet ./...` skip it and need no C compiler. With the tag
// wwspectest it also exports hooks the tests use (hooks.go).
//
// Rules at the boundary, for a Go runtime inside a JVM: every export
// recovers panics and answers with a failure value; a JNIEnv is used only in
// the call that received it, on its thread; Java strings cross as UTF-8
// made by Java's own codec (String.getBytes and new String with UTF_8),
// short ASCII ones through JNI's string functions, never through modified
// UTF-8, which mangles characters outside the BMP; Java exceptions raised
// by JNI calls are cleared and reported as codes; and the handles WeCom's
// wrappers hold are freed when the Java object is collected (wwspec.Reaper).
package main

import (
	"os"
	"sync"
	"sync/atomic"

	"github.com/openzone/openzone/sdk/wwspec"
)

func main() {}

var (
	logger  = wwspec.NewLogger(os.Stderr)
	handles wwspec.Handles

	rtOnce sync.Once
	rtPtr  atomic.Pointer[wwspec.Runtime]
)

// sdkRuntime returns the process's SDK, built from the environment at first
// use.
func sdkRuntime() *wwspec.Runtime {
	rtOnce.Do(func() {
		if rtPtr.Load() == nil {
			rtPtr.Store(wwspec.FromEnv(logger))
		}
	})
	return rtPtr.Load()
}

func callback(h int64) *wwspec.Callback {
	c, _ := handles.Get(h).(*wwspec.Callback)
	return c
}

func sdk(h int64) *wwspec.SDK {
	s, _ := handles.Get(h).(*wwspec.SDK)
	return s
}

// recovered logs a panic that reached an export; the export then returns
// its failure value. A panic must not cross into the JVM or C++ caller,
// where it would kill the process.
func recovered(what string) {
	if v := recover(); v != nil {
		logger.Write(wwspec.LevelError, "", "wwspecsdk", 0, what+": internal error (recovered panic): "+panicText(v))
	}
}

func panicText(v any) string {
	if err, ok := v.(error); ok {
		return err.Error()
	}
	if s, ok := v.(string); ok {
		return s
	}
	return "non-error panic value"
}
