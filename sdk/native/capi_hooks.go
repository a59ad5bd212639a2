//go:build wwspecsdk && wwspectest

package main

/*
#include <stdint.h>
#include <stdlib.h>
*/
import "C"

import "unsafe"

//export wwspec_test_reset
func wwspec_test_reset(programID, secret *C.char, now C.int64_t) C.int {
	defer recovered("test reset")
	if hookReset(C.GoString(programID), C.GoString(secret), int64(now)) {
		return 1
	}
	return 0
}

//export wwspec_test_seal
func wwspec_test_seal(secret, purpose, programID *C.char, ver C.int64_t, requestID *C.char, timestamp C.int64_t, nonceHex *C.char,
	plain *C.char, plainLen C.size_t, n *C.size_t) *C.char {
	defer recovered("test seal")
	return out(hookSeal(nil, C.GoString(secret), C.GoString(purpose), C.GoString(programID), int64(ver), C.GoString(requestID), int64(timestamp),
		C.GoString(nonceHex), C.GoBytes(unsafe.Pointer(plain), C.int(plainLen))), n)
}

//export wwspec_test_open
func wwspec_test_open(secret, purpose, programID *C.char, ver C.int64_t, requestID *C.char, timestamp C.int64_t,
	body *C.char, bodyLen C.size_t, n *C.size_t) *C.char {
	defer recovered("test open")
	return out(hookOpen(nil, C.GoString(secret), C.GoString(purpose), C.GoString(programID), int64(ver), C.GoString(requestID), int64(timestamp),
		C.GoBytes(unsafe.Pointer(body), C.int(bodyLen))), n)
}
