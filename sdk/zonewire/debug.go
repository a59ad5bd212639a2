package zonewire

import (
	"crypto/ecdh"
	"crypto/hpke"
	"strconv"
	"strings"
)

// Debug mode (调试模式, docs/protocol.md §15): the zone hands a program on a
// developer's machine a debug secret instead of the production secret. The
// secret travels sealed with single-shot HPKE (RFC 9180, base mode) to an
// ephemeral X25519 key the SDK made for that one opening, with the suite
// DHKEM(X25519, HKDF-SHA256) / HKDF-SHA256 / AES-256-GCM, no AAD, and an
// info string (DebugInfo) that binds it to its program, corp, app and
// version.

// DebugSecretVerMin is the smallest debug secret version. The zone gives
// debug secrets versions in [DebugSecretVerMin, 2^31-1] and production
// secrets small ones, so a version alone says which kind it names.
const DebugSecretVerMin = 1 << 30

// debugInfoPrefix starts the HPKE info of a sealed debug secret.
const debugInfoPrefix = "openzone debug secret v1"

// encX25519 is the size of the encapsulated key of DHKEM(X25519), and
// tagSize that of the AES-256-GCM tag: a sealed debug secret is
// enc || ciphertext (32 bytes) || tag.
const (
	encX25519       = 32
	tagSize         = 16
	sealedDebugSize = encX25519 + 32 + tagSize
)

// DebugInfo returns the HPKE info that binds a sealed debug secret to its
// context (docs/protocol.md §15.1):
//
//	"openzone debug secret v1" 0x00 program_id 0x00 corpid 0x00 agentid 0x00 secret_ver
//
// with agentid and secret_ver in decimal.
func DebugInfo(programID, corpID string, agentID int64, ver int) []byte {
	b := make([]byte, 0, len(debugInfoPrefix)+len(programID)+len(corpID)+36)
	b = append(b, debugInfoPrefix...)
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

// hpkeSuite returns the KDF and AEAD of the debug-secret exchange; the KEM
// follows from the X25519 key.
func hpkeSuite() (hpke.KDF, hpke.AEAD) { return hpke.HKDFSHA256(), hpke.AES256GCM() }

// checkDebugContext refuses a context that DebugInfo could not encode
// unambiguously, or a version outside the debug range.
func checkDebugContext(programID, corpID string, ver int) error {
	switch {
	case !validProgramID(programID):
		return errorf(ExcMalformed, "debug secret: program id missing or not 1 to 128 printable ASCII characters")
	case corpID == "" || strings.IndexByte(corpID, 0) >= 0:
		return errorf(ExcMalformed, "debug secret: corpid missing or holding a NUL byte")
	case ver < DebugSecretVerMin || ver > maxSecretVer:
		return errorf(ExcMalformed, "debug secret: version %d is outside [2^30, 2^31-1]", ver)
	}
	return nil
}

// SealDebugSecret seals sec's 32 bytes to pub, the SDK's ephemeral X25519
// public key, for program programID acting in corp corpID as app agentID;
// sec.Ver is bound too. The result is the HPKE encapsulated key followed by
// the ciphertext (80 bytes), sent base64-encoded as sealed_secret. This is
// the zone's half of the exchange (the zone has its own copy); the SDK uses
// OpenDebugSecret. Encapsulation is randomized: two seals of one secret
// differ. Errors are *Error with ExcMalformed.
func SealDebugSecret(pub *ecdh.PublicKey, sec Secret, programID, corpID string, agentID int64) ([]byte, error) {
	if pub == nil || pub.Curve() != ecdh.X25519() {
		return nil, errorf(ExcMalformed, "debug secret: the recipient key must be an X25519 public key")
	}
	if err := checkDebugContext(programID, corpID, sec.Ver); err != nil {
		return nil, err
	}
	pk, err := hpke.NewDHKEMPublicKey(pub)
	if err != nil {
		return nil, errorf(ExcMalformed, "debug secret: %v", err)
	}
	kdf, aead := hpkeSuite()
	out, err := hpke.Seal(pk, kdf, aead, DebugInfo(programID, corpID, agentID, sec.Ver), sec.Key[:])
	if err != nil {
		return nil, errorf(ExcMalformed, "debug secret: %v", err)
	}
	return out, nil
}

// OpenDebugSecret opens a sealed debug secret (enc || ciphertext, as made by
// SealDebugSecret) with priv, the SDK's ephemeral X25519 private key, under
// the context the zone announced with it: programID, corpID, agentID and the
// version ver. It returns the secret of version ver.
//
// Errors are *Error: ExcAuth when the packet does not authenticate (another
// key, another program, corp, app or version, or a tampered packet), and
// ExcMalformed when it is not a sealed debug secret at all (wrong length,
// a plaintext other than 32 bytes), or when the context is invalid (a
// version outside [DebugSecretVerMin, 2^31-1], an empty corpid).
func OpenDebugSecret(priv *ecdh.PrivateKey, sealed []byte, programID, corpID string, agentID int64, ver int) (Secret, error) {
	if priv == nil || priv.Curve() != ecdh.X25519() {
		return Secret{}, errorf(ExcMalformed, "debug secret: the recipient key must be an X25519 private key")
	}
	if err := checkDebugContext(programID, corpID, ver); err != nil {
		return Secret{}, err
	}
	if len(sealed) != sealedDebugSize {
		return Secret{}, errorf(ExcMalformed, "debug secret: sealed secret of %d bytes, want %d", len(sealed), sealedDebugSize)
	}
	k, err := hpke.NewDHKEMPrivateKey(priv)
	if err != nil {
		return Secret{}, errorf(ExcMalformed, "debug secret: %v", err)
	}
	kdf, aead := hpkeSuite()
	plain, err := hpke.Open(k, kdf, aead, DebugInfo(programID, corpID, agentID, ver), sealed)
	if err != nil {
		return Secret{}, errorf(ExcAuth, "debug secret does not open (another key, program, corp, app or version, or tampered)")
	}
	if len(plain) != 32 {
		return Secret{}, errorf(ExcMalformed, "debug secret of %d bytes, want 32", len(plain))
	}
	sec := Secret{Ver: ver}
	copy(sec.Key[:], plain)
	clear(plain)
	return sec, nil
}
