//go:build wwspecsdk && wwspectest && !nojni

package main

/*
#include "jnihelp.h"
*/
import "C"

//export Java_com_tencent_wework_SpecTestHooks_reset
func Java_com_tencent_wework_SpecTestHooks_reset(env *C.JNIEnv, class C.jclass, programID, secret C.jstring, now C.jlong) C.jboolean {
	defer recovered("test reset")
	p, _ := goBytes(env, programID)
	s, _ := goBytes(env, secret)
	return jbool(hookReset(string(p), string(s), int64(now)))
}

//export Java_com_tencent_wework_SpecTestHooks_seal
func Java_com_tencent_wework_SpecTestHooks_seal(env *C.JNIEnv, class C.jclass, secret, purpose, programID C.jstring, ver C.jlong,
	requestID C.jstring, timestamp C.jlong, nonceHex, plaintext C.jstring) C.jstring {
	defer recovered("test seal")
	s, _ := goBytes(env, secret)
	p, _ := goBytes(env, purpose)
	id, _ := goBytes(env, programID)
	r, _ := goBytes(env, requestID)
	n, _ := goBytes(env, nonceHex)
	in, out := getBuf(), getBuf()
	defer putBuf(in)
	defer putBuf(out)
	pt, _ := appendGoBytes(env, (*in)[:0], plaintext)
	*in = pt[:0]
	body := hookSeal((*out)[:0], string(s), string(p), string(id), int64(ver), string(r), int64(timestamp), string(n), pt)
	*out = body[:0]
	return javaBytes(env, body)
}

//export Java_com_tencent_wework_SpecTestHooks_open
func Java_com_tencent_wework_SpecTestHooks_open(env *C.JNIEnv, class C.jclass, secret, purpose, programID C.jstring, ver C.jlong,
	requestID C.jstring, timestamp C.jlong, body C.jstring) C.jstring {
	defer recovered("test open")
	s, _ := goBytes(env, secret)
	p, _ := goBytes(env, purpose)
	id, _ := goBytes(env, programID)
	r, _ := goBytes(env, requestID)
	in, out := getBuf(), getBuf()
	defer putBuf(in)
	defer putBuf(out)
	b, _ := appendGoBytes(env, (*in)[:0], body)
	*in = b[:0]
	res := hookOpen((*out)[:0], string(s), string(p), string(id), int64(ver), string(r), int64(timestamp), b)
	*out = res[:0]
	return javaBytes(env, res)
}
