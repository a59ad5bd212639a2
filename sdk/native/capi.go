//go:build wwspecsdk

package main

/*
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
*/
import "C"

import (
	"context"
	"net/http"
	"unsafe"

	"github.com/openzone/openzone/sdk/wwspec"
	"github.com/openzone/openzone/sdk/zonesdk"
)

// The C face, wrapped by cpp_sdk.h in WeCom's C++ classes. Strings come in
// as pointer and length (they may hold NUL) and go out as malloc'd buffers
// the caller frees with wwspec_free; handles are freed with
// wwspec_free_handle (the C++ destructors do both). Declared for C callers
// in cpp_sdk.h.

// Fields of a callback, for wwspec_callback_str and wwspec_callback_int.
const (
	fieldCorpID = iota
	fieldAgentID
	fieldCallType
	fieldData
	fieldIsAsync
	fieldJobInfo
	fieldAbilityID
	fieldNotifyID
	fieldCode
)

func goStr(p *C.char, n C.size_t) string {
	if p == nil || n == 0 {
		return ""
	}
	return C.GoStringN(p, C.int(n))
}

// out copies b into a malloc'd buffer with a NUL after it, stores its
// length in *n (when n is not nil) and returns it.
func out(b []byte, n *C.size_t) *C.char {
	p := (*C.char)(C.malloc(C.size_t(len(b) + 1)))
	if len(b) > 0 {
		C.memcpy(unsafe.Pointer(p), unsafe.Pointer(&b[0]), C.size_t(len(b)))
	}
	*(*C.char)(unsafe.Add(unsafe.Pointer(p), len(b))) = 0
	if n != nil {
		*n = C.size_t(len(b))
	}
	return p
}

//export wwspec_free
func wwspec_free(p unsafe.Pointer) { C.free(p) }

//export wwspec_free_handle
func wwspec_free_handle(h C.int64_t) {
	defer recovered("free")
	handles.Delete(int64(h))
}

//export wwspec_callback_new
func wwspec_callback_new(method *C.char, methodLen C.size_t, names, values **C.char, nameLens, valueLens *C.size_t, n C.size_t,
	body *C.char, bodyLen C.size_t) (h C.int64_t) {
	defer recovered("SpecCallbackSDK")
	var hdr http.Header
	if names != nil && values != nil && nameLens != nil && valueLens != nil && n > 0 {
		ns, vs := unsafe.Slice(names, n), unsafe.Slice(values, n)
		nl, vl := unsafe.Slice(nameLens, n), unsafe.Slice(valueLens, n)
		hdr = make(http.Header, n)
		for i := range ns {
			k := goStr(ns[i], nl[i])
			hdr[k] = append(hdr[k], goStr(vs[i], vl[i]))
		}
	}
	var b []byte
	if body != nil && bodyLen > 0 {
		b = C.GoBytes(unsafe.Pointer(body), C.int(bodyLen))
	}
	return C.int64_t(handles.Put(sdkRuntime().OpenCallback(goStr(method, methodLen), hdr, b)))
}

//export wwspec_callback_int
func wwspec_callback_int(h C.int64_t, field C.int) C.int64_t {
	defer recovered("SpecCallbackSDK")
	c := callback(int64(h))
	if field == fieldCode {
		if c == nil {
			return C.int64_t(zonesdk.CodeInternal)
		}
		return C.int64_t(c.Code())
	}
	r := c.Request()
	if r == nil {
		return 0
	}
	switch field {
	case fieldAgentID:
		return C.int64_t(r.AgentID)
	case fieldCallType:
		return C.int64_t(r.CallType)
	case fieldIsAsync:
		if r.IsAsync {
			return 1
		}
	}
	return 0
}

//export wwspec_callback_str
func wwspec_callback_str(h C.int64_t, field C.int, n *C.size_t) *C.char {
	defer recovered("SpecCallbackSDK")
	s := ""
	if r := callback(int64(h)).Request(); r != nil {
		switch field {
		case fieldCorpID:
			s = r.CorpID
		case fieldData:
			s = r.Data
		case fieldJobInfo:
			s = r.JobInfo
		case fieldAbilityID:
			s = r.AbilityID
		case fieldNotifyID:
			s = r.NotifyID
		}
	}
	return out([]byte(s), n)
}

// wwspec_callback_respond seals rsp as the answer to the call h and returns
// the body; *headers receives the response headers as name NUL value NUL
// pairs, *headersLen their length.
//
//export wwspec_callback_respond
func wwspec_callback_respond(h C.int64_t, rsp *C.char, rspLen C.size_t, bodyLen *C.size_t, headers **C.char, headersLen *C.size_t) *C.char {
	defer recovered("BuildResponseHeaderBody")
	fields, body := sdkRuntime().Respond(nil, callback(int64(h)), goStr(rsp, rspLen))
	var hb []byte
	for _, f := range fields {
		hb = append(append(append(append(hb, f.Name...), 0), f.Value...), 0)
	}
	*headers = out(hb, headersLen)
	return out(body, bodyLen)
}

//export wwspec_sdk_new
func wwspec_sdk_new(corpID *C.char, corpLen C.size_t, agentID C.int64_t, abilityID *C.char, abilityLen C.size_t, jobInfo *C.char, jobLen C.size_t) C.int64_t {
	defer recovered("SpecSdk")
	return C.int64_t(handles.Put(wwspec.NewSDK(goStr(corpID, corpLen), int64(agentID), goStr(abilityID, abilityLen), goStr(jobInfo, jobLen))))
}

// wwspec_sdk_for returns an SDK for the call cb, 0 when cb was not opened.
//
//export wwspec_sdk_for
func wwspec_sdk_for(cb C.int64_t) C.int64_t {
	defer recovered("SpecSdk")
	s, ok := wwspec.SDKFor(callback(int64(cb)))
	if !ok {
		logger.Write(wwspec.LevelError, "", "wwspecsdk", 0, "SpecSdk(SpecCallbackSDK): the callback is not OK (IsOk() == false); the SpecSdk is not initialised")
		return 0
	}
	return C.int64_t(handles.Put(s))
}

// wwspec_sdk_invoke calls the interface api with req and returns WeCom's
// Invoke code; *rsp receives the reply (or a JSON error) when rsp is not
// NULL.
//
//export wwspec_sdk_invoke
func wwspec_sdk_invoke(h C.int64_t, api *C.char, apiLen C.size_t, req *C.char, reqLen C.size_t, rsp **C.char, rspLen *C.size_t) (code C.int) {
	code = zonesdk.CodeInternal
	defer recovered("Invoke")
	request := []byte{}
	if req != nil && reqLen > 0 {
		request = C.GoBytes(unsafe.Pointer(req), C.int(reqLen))
	}
	n, reply := sdkRuntime().Invoke(context.Background(), sdk(int64(h)), goStr(api, apiLen), request)
	if rsp != nil {
		*rsp = out([]byte(reply), rspLen)
	}
	return C.int(n)
}

//export wwspec_open_debug_mode
func wwspec_open_debug_mode(debugToken *C.char, debugLen C.size_t, accessToken *C.char, accessLen C.size_t) C.int {
	defer recovered("SpecOpenDebugMode")
	if sdkRuntime().OpenDebugMode(context.Background(), goStr(debugToken, debugLen), goStr(accessToken, accessLen)) {
		return 1
	}
	return 0
}

//export wwspec_generate_notify_id
func wwspec_generate_notify_id(n *C.size_t) *C.char {
	defer recovered("GenerateNotifyId")
	return out([]byte(wwspec.GenerateNotifyID()), n)
}

//export wwspec_sdk_version
func wwspec_sdk_version(n *C.size_t) *C.char { return out([]byte(wwspec.Version), n) }

//export wwspec_log
func wwspec_log(level C.int, reqID *C.char, file *C.char, line C.int, text *C.char, textLen C.size_t) {
	defer recovered("log")
	var r, f string
	if reqID != nil {
		r = C.GoString(reqID)
	}
	if file != nil {
		f = C.GoString(file)
	}
	logger.Write(wwspec.Level(level), r, f, int(line), goStr(text, textLen))
}

//export wwspec_live_objects
func wwspec_live_objects() C.int64_t { return C.int64_t(handles.Len()) }
