//go:build wwspecsdk && !nojni

package main

/*
#include <stdlib.h>
#include "jnihelp.h"
*/
import "C"

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"unsafe"

	"github.com/openzone/openzone/sdk/wwspec"
	"github.com/openzone/openzone/sdk/zonesdk"
)

// The JNI face: the natives of WeCom's com.tencent.wework.SpecCallbackSDK
// and SpecSDK (instance methods; names and signatures are WeCom's), and of
// OpenZone's SpecUtil. Each gets the JNIEnv of its own thread and uses it
// only there.

//export JNI_OnLoad
func JNI_OnLoad(vm *C.JavaVM, reserved unsafe.Pointer) C.jint {
	env, ok := envOf(vm)
	if !ok || C.wwjni_Init(env) != 0 {
		logger.Write(wwspec.LevelError, "", "wwspecsdk", 0, "JNI_OnLoad: java.util classes not found")
		return C.JNI_ERR
	}
	return C.JNI_VERSION_1_8
}

// reaper frees the handles of wrapper objects the JVM has collected.
var reaper wwspec.Reaper[C.jweak]

// track registers handle h as held by the Java object self, and sweeps
// the handles of collected objects when a sweep is due. It returns h, or 0
// when no weak reference could be made (the handle is then freed at once:
// nothing would ever free it).
func track(env *C.JNIEnv, self C.jobject, h int64) C.jlong {
	ref := C.wwjni_NewWeakGlobalRef(env, self)
	if C.wwjni_Failed(env) != 0 || ref == 0 {
		handles.Delete(h)
		return 0
	}
	if reaper.Track(h, ref) {
		reaper.Sweep(
			func(ref C.jweak) bool { return C.wwjni_IsCleared(env, ref) != 0 },
			func(h int64, ref C.jweak) {
				handles.Delete(h)
				C.wwjni_DeleteWeakGlobalRef(env, ref)
			})
	}
	return C.jlong(h)
}

// --- SpecCallbackSDK ---

//export Java_com_tencent_wework_SpecCallbackSDK_NewCallbackSDK
func Java_com_tencent_wework_SpecCallbackSDK_NewCallbackSDK(env *C.JNIEnv, self C.jobject, method C.jstring, headers C.jobject, body C.jstring) (h C.jlong) {
	defer recovered("SpecCallbackSDK")
	m, _ := goBytes(env, method)
	var hdr http.Header
	if headers != 0 {
		if C.wwjni_IsMap(env, headers) == 0 {
			return 0
		}
		hdr = readHeaders(env, headers)
	}
	buf := getBuf()
	defer putBuf(buf)
	b, ok := appendGoBytes(env, (*buf)[:0], body)
	if ok {
		*buf = b[:0]
	} else {
		b = nil
	}
	c := sdkRuntime().OpenCallback(string(m), hdr, b)
	return track(env, self, handles.Put(c))
}

// readHeaders reads a Map<String,String> of request headers. Only ww-*
// names matter to the packet; other entries are skipped without reading
// their values. Entries that are not strings are skipped.
func readHeaders(env *C.JNIEnv, m C.jobject) http.Header {
	h := http.Header{}
	it := C.wwjni_MapIterator(env, m)
	if it == 0 {
		return h
	}
	defer C.wwjni_DeleteLocalRef(env, it)
	for {
		e := C.wwjni_IteratorNext(env, it)
		if e == 0 {
			return h
		}
		k := C.wwjni_EntryKey(env, e)
		if C.wwjni_IsString(env, k) != 0 {
			if name, _ := goBytes(env, C.jstring(k)); len(name) > 3 && strings.EqualFold(string(name[:3]), "ww-") {
				v := C.wwjni_EntryValue(env, e)
				if C.wwjni_IsString(env, v) != 0 {
					value, _ := goBytes(env, C.jstring(v))
					h[string(name)] = append(h[string(name)], string(value))
				}
				C.wwjni_DeleteLocalRef(env, v)
			}
		}
		C.wwjni_DeleteLocalRef(env, k)
		C.wwjni_DeleteLocalRef(env, e)
	}
}

//export Java_com_tencent_wework_SpecCallbackSDK_IsOk
func Java_com_tencent_wework_SpecCallbackSDK_IsOk(env *C.JNIEnv, self C.jobject, h C.jlong) C.jboolean {
	defer recovered("IsOk")
	return jbool(callback(int64(h)).OK())
}

//export Java_com_tencent_wework_SpecCallbackSDK_GetCorpId
func Java_com_tencent_wework_SpecCallbackSDK_GetCorpId(env *C.JNIEnv, self C.jobject, h C.jlong) C.jstring {
	defer recovered("GetCorpId")
	return callbackString(env, h, func(r *zonesdk.Request) string { return r.CorpID })
}

//export Java_com_tencent_wework_SpecCallbackSDK_GetAgentId
func Java_com_tencent_wework_SpecCallbackSDK_GetAgentId(env *C.JNIEnv, self C.jobject, h C.jlong) C.jlong {
	defer recovered("GetAgentId")
	if r := callback(int64(h)).Request(); r != nil {
		return C.jlong(r.AgentID)
	}
	return 0
}

//export Java_com_tencent_wework_SpecCallbackSDK_GetCallType
func Java_com_tencent_wework_SpecCallbackSDK_GetCallType(env *C.JNIEnv, self C.jobject, h C.jlong) C.jlong {
	defer recovered("GetCallType")
	if r := callback(int64(h)).Request(); r != nil {
		return C.jlong(r.CallType)
	}
	return 0
}

//export Java_com_tencent_wework_SpecCallbackSDK_GetData
func Java_com_tencent_wework_SpecCallbackSDK_GetData(env *C.JNIEnv, self C.jobject, h C.jlong) C.jstring {
	defer recovered("GetData")
	return callbackString(env, h, func(r *zonesdk.Request) string { return r.Data })
}

//export Java_com_tencent_wework_SpecCallbackSDK_GetIsAsync
func Java_com_tencent_wework_SpecCallbackSDK_GetIsAsync(env *C.JNIEnv, self C.jobject, h C.jlong) C.jboolean {
	defer recovered("GetIsAsync")
	r := callback(int64(h)).Request()
	return jbool(r != nil && r.IsAsync)
}

//export Java_com_tencent_wework_SpecCallbackSDK_GetJobInfo
func Java_com_tencent_wework_SpecCallbackSDK_GetJobInfo(env *C.JNIEnv, self C.jobject, h C.jlong) C.jstring {
	defer recovered("GetJobInfo")
	return callbackString(env, h, func(r *zonesdk.Request) string { return r.JobInfo })
}

//export Java_com_tencent_wework_SpecCallbackSDK_GetAbilityId
func Java_com_tencent_wework_SpecCallbackSDK_GetAbilityId(env *C.JNIEnv, self C.jobject, h C.jlong) C.jstring {
	defer recovered("GetAbilityId")
	return callbackString(env, h, func(r *zonesdk.Request) string { return r.AbilityID })
}

//export Java_com_tencent_wework_SpecCallbackSDK_GetNotifyId
func Java_com_tencent_wework_SpecCallbackSDK_GetNotifyId(env *C.JNIEnv, self C.jobject, h C.jlong) C.jstring {
	defer recovered("GetNotifyId")
	return callbackString(env, h, func(r *zonesdk.Request) string { return r.NotifyID })
}

// callbackString returns a field of the call behind h, "" when the call was
// not opened (WeCom: call getters only when IsOk).
func callbackString(env *C.JNIEnv, h C.jlong, field func(*zonesdk.Request) string) C.jstring {
	s := ""
	if r := callback(int64(h)).Request(); r != nil {
		s = field(r)
	}
	return javaString(env, s)
}

//export Java_com_tencent_wework_SpecCallbackSDK_BuildResponseHeaderBody
func Java_com_tencent_wework_SpecCallbackSDK_BuildResponseHeaderBody(env *C.JNIEnv, self C.jobject, h C.jlong, response C.jstring) {
	defer recovered("BuildResponseHeaderBody")
	rsp, _ := goBytes(env, response)
	buf := getBuf()
	defer putBuf(buf)
	fields, body := sdkRuntime().Respond((*buf)[:0], callback(int64(h)), string(rsp))
	*buf = body[:0]

	// responseHeaders: WeCom's wrapper sets a fresh HashMap before the
	// call; fill it, or make one when the field is null.
	fh := C.wwjni_Field(env, self, cstr("responseHeaders\x00"), cstr("Ljava/util/Map;\x00"))
	fb := C.wwjni_Field(env, self, cstr("responseBody\x00"), cstr("Ljava/lang/String;\x00"))
	if fh == nil || fb == nil {
		logger.Write(wwspec.LevelError, "", "wwspecsdk", 0, "BuildResponseHeaderBody: the SpecCallbackSDK class lacks its fields responseHeaders or responseBody (keep the wrapper's field names)")
		return
	}
	m := C.wwjni_GetObjectField(env, self, fh)
	if C.wwjni_IsMap(env, m) == 0 {
		C.wwjni_DeleteLocalRef(env, m)
		if m = C.wwjni_NewHashMap(env); m == 0 || C.wwjni_SetObjectField(env, self, fh, m) == 0 {
			C.wwjni_DeleteLocalRef(env, m)
			return
		}
	}
	for _, f := range fields {
		k, v := javaString(env, f.Name), javaString(env, f.Value)
		ok := k != 0 && v != 0 && C.wwjni_MapPut(env, m, k, v) != 0
		C.wwjni_DeleteLocalRef(env, C.jobject(k))
		C.wwjni_DeleteLocalRef(env, C.jobject(v))
		if !ok {
			break
		}
	}
	C.wwjni_DeleteLocalRef(env, m)
	jb := javaBytes(env, body)
	if jb != 0 {
		C.wwjni_SetObjectField(env, self, fb, C.jobject(jb))
		C.wwjni_DeleteLocalRef(env, C.jobject(jb))
	}
}

// --- SpecSDK ---

//export Java_com_tencent_wework_SpecSDK_NewSDK1
func Java_com_tencent_wework_SpecSDK_NewSDK1(env *C.JNIEnv, self C.jobject, corpID C.jstring, agentID C.jlong) C.jlong {
	defer recovered("SpecSDK")
	return newSDK(env, self, corpID, agentID, 0, 0)
}

//export Java_com_tencent_wework_SpecSDK_NewSDK2
func Java_com_tencent_wework_SpecSDK_NewSDK2(env *C.JNIEnv, self C.jobject, corpID C.jstring, agentID C.jlong, abilityID C.jstring) C.jlong {
	defer recovered("SpecSDK")
	return newSDK(env, self, corpID, agentID, abilityID, 0)
}

//export Java_com_tencent_wework_SpecSDK_NewSDK3
func Java_com_tencent_wework_SpecSDK_NewSDK3(env *C.JNIEnv, self C.jobject, corpID C.jstring, agentID C.jlong, abilityID, jobInfo C.jstring) C.jlong {
	defer recovered("SpecSDK")
	return newSDK(env, self, corpID, agentID, abilityID, jobInfo)
}

func newSDK(env *C.JNIEnv, self C.jobject, corpID C.jstring, agentID C.jlong, abilityID, jobInfo C.jstring) C.jlong {
	corp, _ := goBytes(env, corpID)
	ability, _ := goBytes(env, abilityID)
	job, _ := goBytes(env, jobInfo)
	return track(env, self, handles.Put(wwspec.NewSDK(string(corp), int64(agentID), string(ability), string(job))))
}

//export Java_com_tencent_wework_SpecSDK_NewSDK4
func Java_com_tencent_wework_SpecSDK_NewSDK4(env *C.JNIEnv, self C.jobject, cb C.jlong) C.jlong {
	defer recovered("SpecSDK")
	s, ok := wwspec.SDKFor(callback(int64(cb)))
	if !ok {
		logger.Write(wwspec.LevelError, "", "wwspecsdk", 0, "SpecSDK(SpecCallbackSDK): the callback is not OK (IsOk() == false); the SpecSDK is not initialised")
		return 0
	}
	return track(env, self, handles.Put(s))
}

//export Java_com_tencent_wework_SpecSDK_Invoke
func Java_com_tencent_wework_SpecSDK_Invoke(env *C.JNIEnv, self C.jobject, h C.jlong, apiName, request C.jstring) (code C.jint) {
	code = zonesdk.CodeInternal
	defer recovered("Invoke")
	api, _ := goBytes(env, apiName)
	req, _ := goBytes(env, request) // nil for null: -10009
	fr := C.wwjni_Field(env, self, cstr("response\x00"), cstr("Ljava/lang/String;\x00"))
	if fr == nil {
		logger.Write(wwspec.LevelError, "", "wwspecsdk", 0, "Invoke: the SpecSDK class lacks its field response (keep the wrapper's field names)")
		return zonesdk.CodeInternal
	}
	n, rsp := sdkRuntime().Invoke(context.Background(), sdk(int64(h)), string(api), req)
	js := javaString(env, rsp)
	if js == 0 || C.wwjni_SetObjectField(env, self, fr, C.jobject(js)) == 0 {
		return zonesdk.CodeInternal
	}
	C.wwjni_DeleteLocalRef(env, C.jobject(js))
	return C.jint(n)
}

// --- SpecUtil (OpenZone's; WeCom does not publish its natives) ---

//export Java_com_tencent_wework_SpecUtil_nativeOpenDebugMode
func Java_com_tencent_wework_SpecUtil_nativeOpenDebugMode(env *C.JNIEnv, class C.jclass, debugToken, accessToken C.jstring) C.jboolean {
	defer recovered("OpenDebugMode")
	dt, _ := goBytes(env, debugToken)
	at, _ := goBytes(env, accessToken)
	return jbool(sdkRuntime().OpenDebugMode(context.Background(), string(dt), string(at)))
}

//export Java_com_tencent_wework_SpecUtil_nativeGenerateNotifyId
func Java_com_tencent_wework_SpecUtil_nativeGenerateNotifyId(env *C.JNIEnv, class C.jclass) C.jstring {
	defer recovered("GenerateNotifyId")
	return javaString(env, wwspec.GenerateNotifyID())
}

//export Java_com_tencent_wework_SpecUtil_nativeGetSDKVersion
func Java_com_tencent_wework_SpecUtil_nativeGetSDKVersion(env *C.JNIEnv, class C.jclass) C.jstring {
	defer recovered("GetSDKVersion")
	return javaString(env, wwspec.Version)
}

//export Java_com_tencent_wework_SpecUtil_nativeLog
func Java_com_tencent_wework_SpecUtil_nativeLog(env *C.JNIEnv, class C.jclass, level C.jint, reqID, file C.jstring, line C.jint, text C.jstring) {
	defer recovered("log")
	r, _ := goBytes(env, reqID)
	f, _ := goBytes(env, file)
	t, _ := goBytes(env, text)
	logger.Write(wwspec.Level(level), string(r), string(f), int(line), string(t))
}

//export Java_com_tencent_wework_SpecUtil_nativeLiveObjects
func Java_com_tencent_wework_SpecUtil_nativeLiveObjects(env *C.JNIEnv, class C.jclass) C.jlong {
	defer recovered("LiveObjects")
	return C.jlong(handles.Len())
}

// --- strings ---

// smallString is the length (UTF-16 units or UTF-8 bytes) under which a
// string crosses through JNI's string functions (fewer calls); longer ones
// go through Java's UTF-8 codec, several times faster per byte.
const smallString = 256

// goBytes returns the UTF-8 bytes of the Java string s, and false for a
// null reference. A short ASCII string is copied once through its
// (modified) UTF-8 form, which is then its UTF-8; any other goes through
// s.getBytes(UTF_8) — never modified UTF-8, which mangles characters
// outside the BMP (emoji) and U+0000. A lone surrogate becomes '?', as Java
// encodes it.
func goBytes(env *C.JNIEnv, s C.jstring) ([]byte, bool) {
	return appendGoBytes(env, nil, s)
}

// appendGoBytes is goBytes appending to dst.
func appendGoBytes(env *C.JNIEnv, dst []byte, s C.jstring) ([]byte, bool) {
	if s == 0 {
		return dst, false
	}
	if dst == nil {
		dst = []byte{} // present, even when empty
	}
	start := len(dst)
	dst = slices.Grow(dst, smallString+1)[:start+smallString+1]
	n := C.wwjni_ReadShort(env, s, (*C.char)(unsafe.Pointer(&dst[start])), smallString+1)
	if n >= 0 {
		return dst[:start+int(n)], true
	}
	dst = dst[:start]
	var m C.jsize
	b := C.wwjni_StringBytes(env, s, &m)
	if b == 0 {
		return dst, true // out of memory in the JVM: the caller sees a short string and refuses it
	}
	dst = slices.Grow(dst, int(m)+1)[:start+int(m)+1] // +1: never a zero-length &dst[start]
	C.wwjni_TakeBytes(env, b, m, (*C.char)(unsafe.Pointer(&dst[start])))
	return dst[:start+int(m)], true
}

// javaString returns s as a Java string, 0 when the JVM could not make one
// (out of memory; the error is cleared). Invalid UTF-8 becomes U+FFFD.
func javaString(env *C.JNIEnv, s string) C.jstring {
	return javaBytes(env, unsafe.Slice(unsafe.StringData(s), len(s)))
}

// javaBytes is javaString for bytes, which it does not keep.
func javaBytes(env *C.JNIEnv, b []byte) C.jstring {
	if len(b) < smallString && isASCII(b) {
		buf := getBuf()
		defer putBuf(buf)
		z := append(append((*buf)[:0], b...), 0)
		*buf = z[:0]
		return newStringUTF(env, z)
	}
	js := C.wwjni_StringFromBytes(env, (*C.char)(unsafe.Pointer(unsafe.SliceData(b))), C.jsize(len(b)))
	if js == 0 {
		return 0
	}
	return js
}

// newStringUTF makes a Java string of z, NUL-terminated ASCII without
// another NUL.
func newStringUTF(env *C.JNIEnv, z []byte) C.jstring {
	js := C.wwjni_NewStringUTF(env, (*C.char)(unsafe.Pointer(&z[0])))
	if C.wwjni_Failed(env) != 0 {
		return 0
	}
	return js
}

func jbool(b bool) C.jboolean {
	if b {
		return C.JNI_TRUE
	}
	return C.JNI_FALSE
}

// cstr returns a pointer to the NUL-terminated Go string literal s.
func cstr(s string) *C.char { return (*C.char)(unsafe.Pointer(unsafe.StringData(s))) }

func envOf(vm *C.JavaVM) (*C.JNIEnv, bool) {
	env := C.wwjni_GetEnv(vm)
	return env, env != nil
}
