//go:build wwspecsdk && wwspectest

package main

import (
	"encoding/hex"
	"strconv"
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

// hookSeal seals plaintext as the packet of purpose with the given header
// and returns the body: with the nonce nonceHex (test vectors), or a random
// one when it is "". It returns "" for bad arguments.
func hookSeal(secretText, purpose, programID string, ver int64, requestID string, timestamp int64, nonceHex string, plaintext []byte) []byte {
	sec, err := zonewire.ParseSecret(secretText)
	if err != nil {
		return nil
	}
	keys := zonewire.NewKeys(sec)
	hd := zonewire.Header{ProgramID: programID, SecretVer: int(ver), RequestID: requestID, Timestamp: timestamp}
	p := zonewire.Purpose(purpose)
	switch p {
	case zonewire.PurposeCall, zonewire.PurposeReply, zonewire.PurposeInvoke, zonewire.PurposeResult:
	default:
		return nil
	}
	if nonceHex == "" {
		return keys.Seal(p, hd, plaintext)
	}
	var nonce [zonewire.NonceSize]byte
	if n, err := hex.Decode(nonce[:], []byte(nonceHex)); err != nil || n != len(nonce) {
		return nil
	}
	return keys.SealWithNonce(p, hd, nonce, plaintext)
}

// hookOpen opens body as a packet of purpose with the given header: "OK:"
// and the plaintext, or "EXC:" and the exception code.
func hookOpen(secretText, purpose, programID string, ver int64, requestID string, timestamp int64, body []byte) []byte {
	sec, err := zonewire.ParseSecret(secretText)
	if err != nil {
		return []byte("EXC:" + strconv.Itoa(zonewire.ExcMalformed))
	}
	hd := zonewire.Header{ProgramID: programID, SecretVer: int(ver), RequestID: requestID, Timestamp: timestamp}
	plain, err := zonewire.NewKeys(sec).Open(zonewire.Purpose(purpose), hd, body)
	if err != nil {
		return []byte("EXC:" + strconv.Itoa(zonewire.ExceptionCode(err)))
	}
	return append([]byte("OK:"), plain...)
}
