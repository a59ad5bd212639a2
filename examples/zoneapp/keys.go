package main

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// keyBits is the size of a generated key: WeCom's set_public_key requires
// RSA-2048.
const keyBits = 2048

// loadKey reads the app's RSA private key (PEM, PKCS#8 "PRIVATE KEY" or
// PKCS#1 "RSA PRIVATE KEY"). With create, a missing file is generated
// (PKCS#8, mode 0600) and created reports it.
func loadKey(path string, create bool) (key *rsa.PrivateKey, created bool, err error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) && create {
		key, err := generateKey(path)
		return key, err == nil, err
	}
	if err != nil {
		return nil, false, fmt.Errorf("--key: %w (--gen-key creates it)", err)
	}
	key, err = parseKey(b)
	if err != nil {
		return nil, false, fmt.Errorf("--key %s: %w", path, err)
	}
	return key, false, nil
}

func generateKey(path string) (*rsa.PrivateKey, error) {
	key, err := rsa.GenerateKey(rand.Reader, keyBits)
	if err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("--key: %w", err)
	}
	if err := pem.Encode(f, &pem.Block{Type: "PRIVATE KEY", Bytes: der}); err != nil {
		f.Close()
		return nil, err
	}
	return key, f.Close()
}

func parseKey(b []byte) (*rsa.PrivateKey, error) {
	block, _ := pem.Decode(b)
	if block == nil {
		return nil, errors.New("not a PEM file")
	}
	switch block.Type {
	case "RSA PRIVATE KEY":
		return x509.ParsePKCS1PrivateKey(block.Bytes)
	case "PRIVATE KEY":
		k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
		if err != nil {
			return nil, err
		}
		rk, ok := k.(*rsa.PrivateKey)
		if !ok {
			return nil, errors.New("not an RSA key")
		}
		return rk, nil
	}
	return nil, fmt.Errorf("PEM block %q, want PRIVATE KEY or RSA PRIVATE KEY", block.Type)
}

// publicKeyPEM returns the public key as set_public_key takes it:
// "-----BEGIN PUBLIC KEY-----\n…\n-----END PUBLIC KEY-----\n" (PKIX).
func publicKeyPEM(key *rsa.PrivateKey) (string, error) {
	der, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return "", err
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})), nil
}

// decryptSecretKey returns a message's secret_key: the zone encrypts it to
// the app's public key with RSA PKCS#1 v1.5, as WeCom's chat archive
// (会话存档) always has; the zone documents this choice. The app never
// returns this error to anyone, so it is no decryption oracle.
func decryptSecretKey(key *rsa.PrivateKey, encrypted []byte) (string, error) {
	sk, err := rsa.DecryptPKCS1v15(nil, key, encrypted)
	if err != nil {
		return "", err
	}
	for _, c := range sk {
		if c < 0x21 || c > 0x7e {
			return "", errors.New("decrypted secret_key is not printable text")
		}
	}
	return string(sk), nil
}
