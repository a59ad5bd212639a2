package archive

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
)

// A message's secret_key (WeCom: the per-message random key an app gets
// RSA-encrypted and hands to 会话展示组件) is 32 random bytes written in
// unpadded base64url: 43 printable characters, the AES-256 key of its
// content.
func newSecretKey() (string, []byte) {
	k := make([]byte, 32)
	rand.Read(k)
	return base64.RawURLEncoding.EncodeToString(k), k
}

// keyTag is what a message's secret_key proves, stored beside it so the
// display page finds the message in one indexed lookup: an HMAC-SHA256 of
// the key under a key of its own, derived from the archive key, cut to 16
// bytes. Without the archive key a tag says nothing about the key.
func keyTag(archiveKey, secretKey []byte) []byte {
	tk := hmac.New(sha256.New, archiveKey)
	tk.Write([]byte("openzone display key tag"))
	m := hmac.New(sha256.New, tk.Sum(nil))
	m.Write(secretKey)
	return m.Sum(nil)[:16]
}

func parseSecretKey(s string) ([]byte, bool) {
	k, err := base64.RawURLEncoding.DecodeString(s)
	return k, err == nil && len(k) == 32
}

func gcm(key []byte) cipher.AEAD {
	b, err := aes.NewCipher(key)
	if err != nil {
		panic(err)
	}
	g, err := cipher.NewGCM(b)
	if err != nil {
		panic(err)
	}
	return g
}

// seal encrypts plaintext under key with a random nonce; aad binds it to
// its message (corpid, msgid) so ciphertexts cannot be swapped.
func seal(key, plaintext, aad []byte) []byte {
	g := gcm(key)
	nonce := make([]byte, g.NonceSize(), g.NonceSize()+len(plaintext)+g.Overhead())
	rand.Read(nonce)
	return g.Seal(nonce, nonce, plaintext, aad)
}

var errOpen = errors.New("archive: ciphertext does not open")

func open(key, sealed, aad []byte) ([]byte, error) {
	g := gcm(key)
	if len(sealed) < g.NonceSize()+g.Overhead() {
		return nil, errOpen
	}
	pt, err := g.Open(nil, sealed[:g.NonceSize()], sealed[g.NonceSize():], aad)
	if err != nil {
		return nil, errOpen
	}
	return pt, nil
}

func contentAAD(corpID, msgID string) []byte { return []byte("content\x00" + corpID + "\x00" + msgID) }
func keyAAD(corpID, msgID string) []byte     { return []byte("msgkey\x00" + corpID + "\x00" + msgID) }

func keysEqual(a, b []byte) bool { return subtle.ConstantTimeCompare(a, b) == 1 }

// ParsePublicKey parses an app's set_public_key PEM: an RSA key of at least
// 2048 bits, as PKIX ("PUBLIC KEY") or PKCS#1 ("RSA PUBLIC KEY").
func ParsePublicKey(p string) (*rsa.PublicKey, error) {
	block, _ := pem.Decode([]byte(p))
	if block == nil {
		return nil, errors.New(`public_key is not PEM ("-----BEGIN PUBLIC KEY-----\n…")`)
	}
	var pub *rsa.PublicKey
	switch block.Type {
	case "PUBLIC KEY":
		k, err := x509.ParsePKIXPublicKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("public_key does not parse: %v", err)
		}
		rk, ok := k.(*rsa.PublicKey)
		if !ok {
			return nil, errors.New("public_key is not an RSA key")
		}
		pub = rk
	case "RSA PUBLIC KEY":
		k, err := x509.ParsePKCS1PublicKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("public_key does not parse: %v", err)
		}
		pub = k
	default:
		return nil, fmt.Errorf("public_key PEM block is %q, want PUBLIC KEY", block.Type)
	}
	if pub.N.BitLen() < 2048 {
		return nil, fmt.Errorf("public_key is %d bits, WeCom requires RSA-2048", pub.N.BitLen())
	}
	return pub, nil
}

// EncryptSecretKey RSA-encrypts a message's secret_key to an app's public
// key with PKCS#1 v1.5, as WeCom's chat archive has always done (the zone
// docs do not name the padding; decision in docs/decisions.md).
func EncryptSecretKey(pub *rsa.PublicKey, secretKey string) (string, error) {
	ct, err := rsa.EncryptPKCS1v15(rand.Reader, pub, []byte(secretKey))
	if err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(ct), nil
}
