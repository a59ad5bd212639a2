package wire

import (
	"crypto/ecdh"
	"crypto/hpke"
	"errors"
	"strconv"
)

// DebugSecretVerMin is the smallest debug secret version; production
// secret versions stay below it, so a version alone says which kind it is.
const DebugSecretVerMin = 1 << 30

// DebugInfo returns the HPKE info that binds a debug secret to its context
// (docs/protocol.md §15.1):
//
//	"openzone debug secret v1" 0x00 program_id 0x00 corpid 0x00 agentid 0x00 secret_ver
func DebugInfo(programID, corpID string, agentID int64, ver int) []byte {
	b := make([]byte, 0, 48+len(programID)+len(corpID))
	b = append(b, "openzone debug secret v1"...)
	b = append(b, 0)
	b = append(b, programID...)
	b = append(b, 0)
	b = append(b, corpID...)
	b = append(b, 0)
	b = strconv.AppendInt(b, agentID, 10)
	b = append(b, 0)
	b = strconv.AppendInt(b, int64(ver), 10)
	return b
}

// SealDebugSecret seals sec's 32 bytes to the SDK's ephemeral X25519 key with
// single-shot HPKE base mode, DHKEM(X25519, HKDF-SHA256) / HKDF-SHA256 /
// AES-256-GCM. The result is enc || ciphertext.
func SealDebugSecret(pub *ecdh.PublicKey, sec Secret, programID, corpID string, agentID int64) ([]byte, error) {
	if pub == nil || pub.Curve() != ecdh.X25519() {
		return nil, errors.New("wire: debug secret needs an X25519 public key")
	}
	pk, err := hpke.NewDHKEMPublicKey(pub)
	if err != nil {
		return nil, err
	}
	return hpke.Seal(pk, hpke.HKDFSHA256(), hpke.AES256GCM(), DebugInfo(programID, corpID, agentID, sec.Ver), sec.Key[:])
}
