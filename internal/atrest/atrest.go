// Package atrest seals the zone's secrets where they are stored: app
// secrets (corpsecret), callback tokens and EncodingAESKeys, program
// secrets, debug credentials and secrets, access tokens and event tokens.
// A copied database file without the zone key reveals none of them.
//
// Sealing is deterministic (a synthetic nonce, as in SIV): the same value
// sealed for the same field gives the same text, so the store still finds
// an app by its secret or a token by its value with an indexed equality,
// and unique indexes still hold. What that reveals is only which rows share
// a value — for random secrets, nothing. Each value is bound to its field
// (the associated data), so a sealed value moved to another column does not
// open.
package atrest

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strings"
)

// Prefix starts every sealed value; a value without it was written before
// secrets were sealed (Seal's callers convert those at start).
const Prefix = "oz1:"

const nonceSize = 12

// Box seals and opens values under keys derived from the zone key.
type Box struct {
	aead cipher.AEAD
	mac  []byte
}

// New derives the box's keys from the zone's 32-byte key (the archive key).
func New(zoneKey []byte) (*Box, error) {
	if len(zoneKey) != 32 {
		return nil, errors.New("atrest: the zone key must be 32 bytes")
	}
	enc, err := hkdf.Key(sha256.New, zoneKey, nil, "openzone secrets at rest v1 seal", 32)
	if err != nil {
		return nil, err
	}
	mac, err := hkdf.Key(sha256.New, zoneKey, nil, "openzone secrets at rest v1 nonce", 32)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(enc)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Box{aead: aead, mac: mac}, nil
}

// Seal returns v sealed for field ("app.secret"). The empty value, which the
// store uses for "none", stays empty. A nil Box returns v unchanged (stores
// opened without a key, in tests of the store alone).
func (b *Box) Seal(field, v string) string {
	if b == nil || v == "" {
		return v
	}
	m := hmac.New(sha256.New, b.mac)
	m.Write([]byte(field))
	m.Write([]byte{0})
	m.Write([]byte(v))
	nonce := m.Sum(nil)[:nonceSize]
	out := b.aead.Seal(nonce, nonce, []byte(v), []byte(field))
	return Prefix + base64.RawURLEncoding.EncodeToString(out)
}

// Open returns the value Seal sealed for field. A value without the prefix
// is returned as it is: it predates sealing and is sealed at the next start.
func (b *Box) Open(field, v string) (string, error) {
	rest, sealed := strings.CutPrefix(v, Prefix)
	if !sealed {
		return v, nil
	}
	if b == nil {
		return "", errors.New("atrest: a sealed " + field + " and no zone key to open it")
	}
	raw, err := base64.RawURLEncoding.DecodeString(rest)
	if err != nil || len(raw) < nonceSize+b.aead.Overhead() {
		return "", errors.New("atrest: " + field + " is not a sealed value")
	}
	plain, err := b.aead.Open(nil, raw[:nonceSize], raw[nonceSize:], []byte(field))
	if err != nil {
		return "", errors.New("atrest: " + field + " does not open with this zone key")
	}
	return string(plain), nil
}

// SealBytes and OpenBytes are Seal and Open for byte strings (BLOB columns):
// nil stays nil.
func (b *Box) SealBytes(field string, v []byte) []byte {
	if b == nil || len(v) == 0 {
		return v
	}
	return []byte(b.Seal(field, string(v)))
}

func (b *Box) OpenBytes(field string, v []byte) ([]byte, error) {
	if len(v) == 0 {
		return v, nil
	}
	s, err := b.Open(field, string(v))
	if err != nil {
		return nil, err
	}
	return []byte(s), nil
}

// Sealed reports whether v is a sealed value.
func Sealed(v string) bool { return strings.HasPrefix(v, Prefix) }
