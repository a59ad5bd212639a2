// Package sealbox seals data at rest with a key derived from the zone's
// key for one purpose (AES-256-GCM, random nonce), bound to where the data
// lives (the additional data), so a ciphertext moved to another row does
// not open. It is for content never looked up by its value (uploaded
// files, documents, knowledge fragments): a fresh nonce each time, so equal
// plaintexts do not show. Secrets the store finds by value are sealed
// deterministically by internal/atrest instead.
package sealbox

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"errors"
)

// Box seals and opens for one purpose.
type Box struct{ aead cipher.AEAD }

// New returns the box of purpose under the zone's key.
func New(zoneKey []byte, purpose string) *Box {
	m := hmac.New(sha256.New, zoneKey)
	m.Write([]byte("openzone sealbox v1\x00" + purpose))
	b, err := aes.NewCipher(m.Sum(nil))
	if err != nil {
		panic(err) // a SHA-256 sum is always a valid AES-256 key
	}
	g, err := cipher.NewGCM(b)
	if err != nil {
		panic(err)
	}
	return &Box{aead: g}
}

// Seal encrypts plaintext bound to aad.
func (b *Box) Seal(aad string, plaintext []byte) []byte {
	n := b.aead.NonceSize()
	nonce := make([]byte, n, n+len(plaintext)+b.aead.Overhead())
	rand.Read(nonce)
	return b.aead.Seal(nonce, nonce, plaintext, []byte(aad))
}

// ErrOpen is a ciphertext that does not open: another key, another aad,
// or altered.
var ErrOpen = errors.New("sealbox: does not open with the zone key")

// Open decrypts what Seal sealed with the same aad.
func (b *Box) Open(aad string, sealed []byte) ([]byte, error) {
	n := b.aead.NonceSize()
	if len(sealed) < n+b.aead.Overhead() {
		return nil, ErrOpen
	}
	pt, err := b.aead.Open(nil, sealed[:n], sealed[n:], []byte(aad))
	if err != nil {
		return nil, ErrOpen
	}
	return pt, nil
}
