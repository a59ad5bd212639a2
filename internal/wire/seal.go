package wire

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"strconv"
)

// kdfSalt is the HKDF salt of every purpose key.
const kdfSalt = "openzone packet v1"

// aadPrefix starts the additional data of every v1 packet.
const aadPrefix = "openzone/v1"

// DeriveKey returns the 32-byte key of purpose p:
// HKDF-SHA256(ikm = sec.Key, salt = "openzone packet v1", info = p).
func DeriveKey(sec Secret, p Purpose) [32]byte {
	var key [32]byte
	k, err := hkdf.Key(sha256.New, sec.Key[:], []byte(kdfSalt), string(p), len(key))
	if err != nil { // only for lengths HKDF cannot produce
		panic("wire: hkdf: " + err.Error())
	}
	copy(key[:], k)
	return key
}

// AAD returns the additional data of a packet, fields joined by one 0x00:
//
//	"openzone/v1" 0x00 purpose 0x00 program_id 0x00 secret_ver 0x00 request_id 0x00 timestamp
//
// secret_ver and timestamp in canonical decimal.
func AAD(p Purpose, hd Header) []byte {
	return appendAAD(make([]byte, 0, aadLen(p, hd)), p, hd)
}

func aadLen(p Purpose, hd Header) int {
	return len(aadPrefix) + len(p) + len(hd.ProgramID) + len(hd.RequestID) + 5 + 2*20
}

func appendAAD(b []byte, p Purpose, hd Header) []byte {
	b = append(b, aadPrefix...)
	b = append(b, 0)
	b = append(b, p...)
	b = append(b, 0)
	b = append(b, hd.ProgramID...)
	b = append(b, 0)
	b = strconv.AppendInt(b, int64(hd.SecretVer), 10)
	b = append(b, 0)
	b = append(b, hd.RequestID...)
	b = append(b, 0)
	b = strconv.AppendInt(b, hd.Timestamp, 10)
	return b
}

// Keys holds the four AES-256-GCM instances of one secret. Build it once per
// secret with NewKeys; it is safe for concurrent use.
type Keys struct {
	Secret Secret
	aead   [len(purposes)]cipher.AEAD
}

// NewKeys derives the purpose keys of sec.
func NewKeys(sec Secret) *Keys {
	k := &Keys{Secret: sec}
	for i, p := range purposes {
		key := DeriveKey(sec, p)
		block, err := aes.NewCipher(key[:])
		if err != nil {
			panic("wire: " + err.Error()) // impossible: the key is 32 bytes
		}
		if k.aead[i], err = cipher.NewGCM(block); err != nil {
			panic("wire: " + err.Error())
		}
	}
	return k
}

func (k *Keys) aeadFor(p Purpose) cipher.AEAD {
	i := p.index()
	if i < 0 {
		return nil
	}
	return k.aead[i]
}

// Seal returns the sealed body of plaintext for purpose p under header hd,
// with a fresh random nonce. It panics on a purpose that is not one of the
// four.
func (k *Keys) Seal(p Purpose, hd Header, plaintext []byte) []byte {
	var nonce [NonceSize]byte
	rand.Read(nonce[:])
	return k.SealWithNonce(p, hd, nonce, plaintext)
}

// SealWithNonce is Seal with the given nonce. A nonce used twice under one
// key breaks AES-GCM: this is for test vectors only.
func (k *Keys) SealWithNonce(p Purpose, hd Header, nonce [NonceSize]byte, plaintext []byte) []byte {
	return k.sealAppend(make([]byte, 0, Overhead+len(plaintext)), p, hd, nonce, plaintext)
}

// SealAppend is Seal that appends the body to dst and returns the extended
// slice, so a caller can reuse a buffer. dst and plaintext must not overlap.
func (k *Keys) SealAppend(dst []byte, p Purpose, hd Header, plaintext []byte) []byte {
	var nonce [NonceSize]byte
	rand.Read(nonce[:])
	return k.sealAppend(dst, p, hd, nonce, plaintext)
}

func (k *Keys) sealAppend(dst []byte, p Purpose, hd Header, nonce [NonceSize]byte, plaintext []byte) []byte {
	g := k.aeadFor(p)
	if g == nil {
		panic("wire: seal with unknown purpose " + strconv.Quote(string(p)))
	}
	var aadBuf [128]byte
	aad := appendAAD(aadBuf[:0], p, hd)
	// Take the nonce from dst, where it is written anyway, so that it does
	// not escape to the heap separately. Seal appends after it.
	dst = append(dst, nonce[:]...)
	return g.Seal(dst, dst[len(dst)-NonceSize:], plaintext, aad)
}

// Open authenticates and decrypts body, sealed for purpose p under header
// hd, and returns the plaintext. It does not check the timestamp or the
// request id: see CheckTimestamp. Failures are *Error values with
// ExcSecretVer, ExcMalformed or ExcAuth.
func (k *Keys) Open(p Purpose, hd Header, body []byte) ([]byte, error) {
	return k.OpenAppend(nil, p, hd, body)
}

// OpenAppend is Open that appends the plaintext to dst, so a caller can
// reuse a buffer. dst must not overlap body. On failure dst's spare capacity
// may have been overwritten.
func (k *Keys) OpenAppend(dst []byte, p Purpose, hd Header, body []byte) ([]byte, error) {
	if hd.SecretVer != k.Secret.Ver {
		return nil, newError(ExcSecretVer, "packet has secret version %d, receiver has %d", hd.SecretVer, k.Secret.Ver)
	}
	g := k.aeadFor(p)
	if g == nil {
		return nil, newError(ExcMalformed, "unknown purpose %q", p)
	}
	if len(body) < Overhead {
		return nil, newError(ExcMalformed, "body of %d bytes is shorter than %d", len(body), Overhead)
	}
	var aadBuf [128]byte
	aad := appendAAD(aadBuf[:0], p, hd)
	out, err := g.Open(dst, body[:NonceSize], body[NonceSize:], aad)
	if err != nil {
		return nil, newError(ExcAuth, "packet does not authenticate (tampered, wrong key or wrong context)")
	}
	return out, nil
}
