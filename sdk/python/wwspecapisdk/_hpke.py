# -*- coding: utf-8 -*-
"""HPKE (RFC 9180), base mode, DHKEM(X25519, HKDF-SHA256) / HKDF-SHA256 /
AES-GCM: the debug-secret exchange of the SDK half of debug mode.

Built from X25519, HKDF and AES-GCM because Debian's python3-cryptography
(38) has no HPKE. Checked against RFC 9180's test vectors (tests).
"""
from . import _crypto

KEM_X25519_SHA256 = 0x0020
KDF_SHA256 = 0x0001
AEAD_AES128GCM = 0x0001
AEAD_AES256GCM = 0x0002

_NK = {AEAD_AES128GCM: 16, AEAD_AES256GCM: 32}
_KEM_SUITE = b"KEM" + KEM_X25519_SHA256.to_bytes(2, "big")
ENC_SIZE = 32


class HPKEError(Exception):
    pass


def _labeled_extract(suite, salt, label, ikm):
    return _crypto.hkdf_extract(salt, b"HPKE-v1" + suite + label + ikm)


def _labeled_expand(suite, prk, label, info, length):
    return _crypto.hkdf_expand(prk, length.to_bytes(2, "big") + b"HPKE-v1" + suite + label + info, length)


def derive_key_pair(ikm):
    """DeriveKeyPair of DHKEM(X25519): (sk, pk) from input keying material."""
    prk = _labeled_extract(_KEM_SUITE, b"", b"dkp_prk", ikm)
    sk = _labeled_expand(_KEM_SUITE, prk, b"sk", b"", 32)
    return sk, _crypto.x25519_public(sk)


def _shared_secret(dh, enc, pk_r):
    if dh == b"\x00" * 32:
        raise HPKEError("X25519 gave the all-zero value (a low-order point)")
    prk = _labeled_extract(_KEM_SUITE, b"", b"eae_prk", dh)
    return _labeled_expand(_KEM_SUITE, prk, b"shared_secret", enc + pk_r, 32)


class Context(object):
    """An HPKE encryption context: seal or open in sequence, export."""

    def __init__(self, suite, key, base_nonce, exporter_secret):
        self._suite = suite
        self._aead = _crypto.AEAD(key)
        self._base_nonce = base_nonce
        self._exporter = exporter_secret
        self._seq = 0

    def _nonce(self):
        n = int.from_bytes(self._base_nonce, "big") ^ self._seq
        self._seq += 1
        return n.to_bytes(len(self._base_nonce), "big")

    def seal(self, aad, plaintext):
        return self._aead.seal(self._nonce(), plaintext, aad)

    def open(self, aad, ciphertext):
        nonce = self._nonce()
        try:
            return self._aead.open(nonce, ciphertext, aad)
        except _crypto.AuthError:
            self._seq -= 1  # a failed open does not use up the sequence number
            raise HPKEError("ciphertext does not open")

    def export(self, context, length):
        return _labeled_expand(self._suite, self._exporter, b"sec", context, length)


def _key_schedule(aead_id, shared_secret, info):
    suite = b"HPKE" + KEM_X25519_SHA256.to_bytes(2, "big") + KDF_SHA256.to_bytes(2, "big") + aead_id.to_bytes(2, "big")
    psk_id_hash = _labeled_extract(suite, b"", b"psk_id_hash", b"")
    info_hash = _labeled_extract(suite, b"", b"info_hash", info)
    context = b"\x00" + psk_id_hash + info_hash  # mode 0, base
    secret = _labeled_extract(suite, shared_secret, b"secret", b"")
    key = _labeled_expand(suite, secret, b"key", context, _NK[aead_id])
    base_nonce = _labeled_expand(suite, secret, b"base_nonce", context, 12)
    exporter = _labeled_expand(suite, secret, b"exp", context, 32)
    return Context(suite, key, base_nonce, exporter)


def setup_sender(pk_r, info, aead_id=AEAD_AES256GCM, sk_e=None):
    """SetupBaseS: (enc, context). sk_e fixes the ephemeral key (test vectors only)."""
    if sk_e is None:
        import os
        sk_e = os.urandom(32)
    enc = _crypto.x25519_public(sk_e)
    dh = _crypto.x25519(sk_e, pk_r)
    return enc, _key_schedule(aead_id, _shared_secret(dh, enc, pk_r), info)


def setup_recipient(enc, sk_r, info, aead_id=AEAD_AES256GCM):
    """SetupBaseR: the recipient's context for enc."""
    if len(enc) != ENC_SIZE:
        raise HPKEError("encapsulated key of %d bytes, want %d" % (len(enc), ENC_SIZE))
    pk_r = _crypto.x25519_public(sk_r)
    dh = _crypto.x25519(sk_r, enc)
    return _key_schedule(aead_id, _shared_secret(dh, enc, pk_r), info)


def open_single(sk_r, sealed, info):
    """Single-shot open of enc || ciphertext (what Go's hpke.Seal makes), no AAD."""
    if len(sealed) < ENC_SIZE + 16:
        raise HPKEError("sealed message of %d bytes is too short" % len(sealed))
    return setup_recipient(sealed[:ENC_SIZE], sk_r, info).open(b"", sealed[ENC_SIZE:])
