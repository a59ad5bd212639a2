//go:build wwspecsdk

package main

import (
	"encoding/binary"
	"sync"
)

// Buffers for sealed bodies and NUL-terminated copies, so a large call
// costs no allocation beyond the strings the caller gets.
var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 4<<10); return &b }}

func getBuf() *[]byte { return bufPool.Get().(*[]byte) }

// putBuf returns b to the pool unless it grew past 1 MB: one huge call must
// not pin its memory.
func putBuf(b *[]byte) {
	if cap(*b) <= 1<<20 {
		bufPool.Put(b)
	}
}

// isASCII reports whether s holds only ASCII other than NUL: text that
// modified UTF-8 (JNI's NewStringUTF) spells as UTF-8 does. It reads eight
// bytes at a time; sealed bodies are tens of kilobytes of base64.
func isASCII[T string | []byte](s T) bool {
	const lo, hi = 0x0101010101010101, 0x8080808080808080
	i := 0
	for ; i+8 <= len(s); i += 8 {
		x := binary.LittleEndian.Uint64([]byte(s[i : i+8]))
		// A byte with its high bit set, or a zero byte ((x-lo) &^ x sets
		// the high bit of every byte that was zero).
		if x&hi != 0 || (x-lo)&^x&hi != 0 {
			return false
		}
	}
	for ; i < len(s); i++ {
		if s[i] == 0 || s[i] >= 0x80 {
			return false
		}
	}
	return true
}
