package tasks

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"fmt"
)

// Task payloads may hold chat content expanded from the archive: they are
// sealed at rest with a key derived from the zone key, bound to their task
// and role so a ciphertext cannot be moved to another row.
func (s *Service) seal(jobID, role string, plaintext []byte) []byte {
	g := s.aead()
	nonce := make([]byte, g.NonceSize(), g.NonceSize()+len(plaintext)+g.Overhead())
	rand.Read(nonce)
	return g.Seal(nonce, nonce, plaintext, []byte(jobID+"\x00"+role))
}

func (s *Service) open(jobID, role string, sealed []byte) ([]byte, error) {
	g := s.aead()
	if len(sealed) < g.NonceSize()+g.Overhead() {
		return nil, fmt.Errorf("tasks: %s of %s is not sealed", role, jobID)
	}
	pt, err := g.Open(nil, sealed[:g.NonceSize()], sealed[g.NonceSize():], []byte(jobID+"\x00"+role))
	if err != nil {
		return nil, fmt.Errorf("tasks: %s of %s does not open with the zone key", role, jobID)
	}
	return pt, nil
}

func (s *Service) aead() cipher.AEAD {
	b, err := aes.NewCipher(s.sealKey)
	if err != nil {
		panic(err) // sealKey is always 32 bytes
	}
	g, err := cipher.NewGCM(b)
	if err != nil {
		panic(err)
	}
	return g
}
