package wire

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"slices"
	"strconv"
)

// kdfSalt is the HKDF salt of every purpose key.
const kdfSalt = "openzone packet v2"

// aadPrefix starts the additional data of every v2 packet.
const aadPrefix = "openzone/v2"

// b64 is the text form of a body: standard base64 with padding, one line.
var b64 = base64.StdEncoding

// nonceText is the length of the nonce in base64: 12 bytes are exactly 16
// characters with no padding, so the text of nonce || rest is the text of
// the nonce followed by the text of rest. Seal and Open rely on it to work
// on the two parts separately.
const nonceText = NonceSize / 3 * 4

// DeriveKey returns the 32-byte key of purpose p:
// HKDF-SHA256(ikm = sec.Key, salt = "openzone packet v2", info = p).
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
//	"openzone/v2" 0x00 purpose 0x00 program_id 0x00 secret_ver 0x00 request_id 0x00 timestamp
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

// Seal returns the body of plaintext sealed for purpose p under header hd,
// with a fresh random nonce, in its text form: standard base64 of
// nonce || ciphertext || tag. It panics on a purpose that is not one of the
// four.
func (k *Keys) Seal(p Purpose, hd Header, plaintext []byte) []byte {
	var nonce [NonceSize]byte
	rand.Read(nonce[:])
	return k.SealWithNonce(p, hd, nonce, plaintext)
}

// SealWithNonce is Seal with the given nonce. A nonce used twice under one
// key breaks AES-GCM: this is for test vectors only.
func (k *Keys) SealWithNonce(p Purpose, hd Header, nonce [NonceSize]byte, plaintext []byte) []byte {
	return k.sealAppend(nil, p, hd, nonce, plaintext)
}

// SealAppend is Seal that appends the body to dst and returns the extended
// slice, so a caller can reuse a buffer: with enough spare capacity (about
// 2.4× the plaintext) it allocates nothing. dst and plaintext must not
// overlap.
func (k *Keys) SealAppend(dst []byte, p Purpose, hd Header, plaintext []byte) []byte {
	var nonce [NonceSize]byte
	rand.Read(nonce[:])
	return k.sealAppend(dst, p, hd, nonce, plaintext)
}

// BodyLen is the length of the text body that seals n bytes of plaintext.
func BodyLen(n int) int { return b64.EncodedLen(n + Overhead) }

func (k *Keys) sealAppend(dst []byte, p Purpose, hd Header, nonce [NonceSize]byte, plaintext []byte) []byte {
	g := k.aeadFor(p)
	if g == nil {
		panic("wire: seal with unknown purpose " + strconv.Quote(string(p)))
	}
	var aadBuf [128]byte
	aad := appendAAD(aadBuf[:0], p, hd)
	// The binary ciphertext || tag is sealed into dst's spare capacity past
	// the end of the text, then encoded in front of it: one buffer, no
	// scratch allocation.
	start := len(dst)
	textLen := b64.EncodedLen(len(plaintext) + tagSize)
	rawLen := len(plaintext) + tagSize
	dst = slices.Grow(dst, nonceText+textLen+rawLen)
	dst = b64.AppendEncode(dst, nonce[:])
	rawAt := start + nonceText + textLen
	raw := g.Seal(dst[rawAt:rawAt], nonce[:], plaintext, aad)
	b64.Encode(dst[start+nonceText:rawAt], raw)
	return dst[:rawAt]
}

// Open authenticates and decrypts body, the text form of a packet sealed for
// purpose p under header hd, and returns the plaintext. It does not check
// the timestamp or the request id: see CheckTimestamp. Failures are *Error
// values with ExcSecretVer, ExcMalformed or ExcAuth.
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
	// White space around the body is ignored (some stacks end a string
	// body with a newline); inside it, it is not base64 and is refused.
	body = bytes.Trim(body, " \t\r\n")
	if len(body) < b64.EncodedLen(Overhead) {
		return nil, newError(ExcMalformed, "body of %d characters is shorter than a sealed packet (%d)", len(body), b64.EncodedLen(Overhead))
	}
	// Go's decoder skips CR and LF; the protocol does not (one line).
	if bytes.IndexByte(body, '\n') >= 0 || bytes.IndexByte(body, '\r') >= 0 {
		return nil, errNotText
	}
	var nonce [NonceSize]byte
	if n, err := b64.Decode(nonce[:], body[:nonceText]); err != nil || n != NonceSize {
		return nil, errNotText
	}
	start := len(dst)
	dst, err := b64.AppendDecode(dst, body[nonceText:])
	if err != nil {
		return nil, errNotText
	}
	if len(dst)-start < tagSize {
		return nil, newError(ExcMalformed, "body is shorter than a sealed packet")
	}
	var aadBuf [128]byte
	aad := appendAAD(aadBuf[:0], p, hd)
	// Open in place: GCM allows the plaintext to overwrite the ciphertext
	// when dst is exactly ciphertext[:0].
	out, err := g.Open(dst[start:start], nonce[:], dst[start:], aad)
	if err != nil {
		return nil, newError(ExcAuth, "packet does not authenticate (tampered, wrong key or wrong context)")
	}
	return dst[:start+len(out)], nil
}

// errNotText is the refusal of a body that is not one line of standard
// base64 — for example the raw bytes of protocol v1.
var errNotText = newError(ExcMalformed, "body is not one line of standard base64 (protocol v2 text); a raw binary body is protocol v1, which this zone no longer speaks")
