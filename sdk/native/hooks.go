//go:build wwspecsdk && wwspectest

package main

import (
	"encoding/hex"
	"strconv"
	"sync"
	"time"

	"github.com/openzone/openzone/sdk/wwspec"
	"github.com/openzone/openzone/sdk/zonesdk"
	"github.com/openzone/openzone/sdk/zonewire"
)

// Test hooks, exported only by a library built with the tag wwspectest (the
// tests' and the bench's): they reach the packet layer and the clock, which
// WeCom's surface does not, so the protocol's test vectors and the seal+open
// benchmark can run through the faces. C callers use wwspec_test_*; Java the
// class com.tencent.wework.SpecTestHooks (jni_hooks.go).

// hookReset replaces the process's SDK with one for programID holding the
// secret secretText ("" for none), whose clock reads now (unix seconds;
// 0 for the real clock). The zone URL stays.
func hookReset(programID, secretText string, now int64) bool {
	cfg := zonesdk.Config{ZoneURL: sdkRuntime().Program().ZoneURL(), ProgramID: programID}
	if secretText != "" {
		sec, err := zonewire.ParseSecret(secretText)
		if err != nil {
			return false
		}
		cfg.Secret = sec
	}
	if now != 0 {
		cfg.Now = func() time.Time { return time.Unix(now, 0) }
	}
	rt, err := wwspec.New(cfg, logger)
	if err != nil {
		return false
	}
	rtPtr.Store(rt)
	return true
}

// hookKeys caches the keys of the secrets hooks were given, so a
// benchmark of seal+open does not measure HKDF and AES key expansion.
var hookKeys sync.Map // secret text → *zonewire.Keys

func keysOf(secretText string) (*zonewire.Keys, bool) {
	if k, ok := hookKeys.Load(secretText); ok {
		return k.(*zonewire.Keys), true
	}
	sec, err := zonewire.ParseSecret(secretText)
	if err != nil {
		return nil, false
	}
	k, _ := hookKeys.LoadOrStore(secretText, zonewire.NewKeys(sec))
	return k.(*zonewire.Keys), true
}

// hookSeal seals plaintext as the packet of purpose with the given header
// and appends the body to dst: with the nonce nonceHex (test vectors), or a
// random one when it is "". It appends nothing for bad arguments.
func hookSeal(dst []byte, secretText, purpose, programID string, ver int64, requestID string, timestamp int64, nonceHex string, plaintext []byte) []byte {
	keys, ok := keysOf(secretText)
	if !ok {
		return dst
	}
	hd := zonewire.Header{ProgramID: programID, SecretVer: int(ver), RequestID: requestID, Timestamp: timestamp}
	p := zonewire.Purpose(purpose)
	switch p {
	case zonewire.PurposeCall, zonewire.PurposeReply, zonewire.PurposeInvoke, zonewire.PurposeResult, zonewire.PurposeLog:
	default:
		return dst
	}
	if nonceHex == "" {
		return keys.SealAppend(dst, p, hd, plaintext)
	}
	var nonce [zonewire.NonceSize]byte
	if n, err := hex.Decode(nonce[:], []byte(nonceHex)); err != nil || n != len(nonce) {
		return dst
	}
	return append(dst, keys.SealWithNonce(p, hd, nonce, plaintext)...)
}

// hookOpen opens body as a packet of purpose with the given header and
// appends to dst "OK:" and the plaintext, or "EXC:" and the exception code.
func hookOpen(dst []byte, secretText, purpose, programID string, ver int64, requestID string, timestamp int64, body []byte) []byte {
	keys, ok := keysOf(secretText)
	if !ok {
		return append(dst, "EXC:"+strconv.Itoa(zonewire.ExcMalformed)...)
	}
	hd := zonewire.Header{ProgramID: programID, SecretVer: int(ver), RequestID: requestID, Timestamp: timestamp}
	start := len(dst)
	out, err := keys.OpenAppend(append(dst, "OK:"...), zonewire.Purpose(purpose), hd, body)
	if err != nil {
		return append(dst[:start], "EXC:"+strconv.Itoa(zonewire.ExceptionCode(err))...)
	}
	return out
}
