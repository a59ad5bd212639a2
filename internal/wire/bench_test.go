package wire

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"strconv"
	"testing"
)

var benchSizes = []int{1 << 10, 64 << 10}

func sizeName(n int) string { return strconv.Itoa(n>>10) + "KB" }

// BenchmarkSealOpen is one packet sealed and opened with Keys.Seal and
// Keys.Open, as the zone does per call: fresh buffers, random nonce, AAD.
func BenchmarkSealOpen(b *testing.B) {
	k := NewKeys(NewSecret(1))
	hd := Header{ProgramID: "prog-echo", SecretVer: 1, RequestID: NewRequestID(), Timestamp: 1767225600}
	for _, n := range benchSizes {
		pt := make([]byte, n)
		rand.Read(pt)
		b.Run(sizeName(n), func(b *testing.B) {
			b.SetBytes(int64(n))
			b.ReportAllocs()
			for b.Loop() {
				body := k.Seal(PurposeCall, hd, pt)
				if _, err := k.Open(PurposeCall, hd, body); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkSealOpenAppend is BenchmarkSealOpen with reused buffers
// (Keys.SealAppend, Keys.OpenAppend).
func BenchmarkSealOpenAppend(b *testing.B) {
	k := NewKeys(NewSecret(1))
	hd := Header{ProgramID: "prog-echo", SecretVer: 1, RequestID: NewRequestID(), Timestamp: 1767225600}
	for _, n := range benchSizes {
		pt := make([]byte, n)
		rand.Read(pt)
		sealBuf := make([]byte, 0, 3*n+64)
		openBuf := make([]byte, 0, n)
		b.Run(sizeName(n), func(b *testing.B) {
			b.SetBytes(int64(n))
			b.ReportAllocs()
			for b.Loop() {
				body := k.SealAppend(sealBuf[:0], PurposeCall, hd, pt)
				if _, err := k.OpenAppend(openBuf[:0], PurposeCall, hd, body); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkRawAESGCM is the floor: AES-256-GCM seal and open with a
// pre-built AEAD, a fixed nonce, a short AAD and reused buffers.
func BenchmarkRawAESGCM(b *testing.B) {
	key := make([]byte, 32)
	rand.Read(key)
	block, _ := aes.NewCipher(key)
	g, _ := cipher.NewGCM(block)
	nonce := make([]byte, NonceSize)
	aad := AAD(PurposeCall, Header{ProgramID: "prog-echo", SecretVer: 1, RequestID: NewRequestID(), Timestamp: 1767225600})
	for _, n := range benchSizes {
		pt := make([]byte, n)
		rand.Read(pt)
		ct := make([]byte, 0, n+g.Overhead())
		out := make([]byte, 0, n)
		b.Run(sizeName(n), func(b *testing.B) {
			b.SetBytes(int64(n))
			b.ReportAllocs()
			for b.Loop() {
				c := g.Seal(ct[:0], nonce, pt, aad)
				if _, err := g.Open(out[:0], nonce, c, aad); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
