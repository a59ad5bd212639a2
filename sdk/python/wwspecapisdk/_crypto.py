# -*- coding: utf-8 -*-
"""The cryptographic primitives the SDK uses, from the ecosystem's packages.

AES-256-GCM and X25519 come from ``cryptography`` (Debian's
python3-cryptography) when it is installed, else from pycryptodome (the
``Crypto`` package WeCom's images carry, or Debian's ``Cryptodome``).
HKDF-SHA256 is RFC 5869 over the standard library's hmac. X25519 falls back
to the RFC 7748 ladder in _x25519 only when neither package has it (old
pycryptodome): it runs once per debug-mode opening on an ephemeral key.

WWSPECAPISDK_CRYPTO=cryptography|pycryptodome forces a backend (tests use
it to run the suite on both).
"""
import hashlib
import hmac
import os

from . import _x25519


class AuthError(Exception):
    """An AEAD tag did not verify."""


def hkdf_extract(salt, ikm):
    return hmac.new(salt or b"\x00" * 32, ikm, hashlib.sha256).digest()


def hkdf_expand(prk, info, length):
    out, block, i = b"", b"", 0
    while len(out) < length:
        i += 1
        block = hmac.new(prk, block + info + bytes([i]), hashlib.sha256).digest()
        out += block
    return out[:length]


def hkdf(ikm, salt, info, length):
    return hkdf_expand(hkdf_extract(salt, ikm), info, length)


def _load_cryptography():
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    class AEAD(object):
        __slots__ = ("_g",)

        def __init__(self, key):
            self._g = AESGCM(key)

        def seal(self, nonce, plaintext, aad):
            return self._g.encrypt(nonce, plaintext, aad)

        def open(self, nonce, ciphertext, aad):
            try:
                return self._g.decrypt(nonce, ciphertext, aad)
            except InvalidTag:
                raise AuthError("does not authenticate")

    x25519 = None
    try:
        from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
        from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

        def x25519(scalar, u):
            priv = X25519PrivateKey.from_private_bytes(bytes(scalar))
            if u == _x25519.BASE:
                return priv.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
            try:
                return priv.exchange(X25519PublicKey.from_public_bytes(bytes(u)))
            except ValueError:  # an all-zero shared secret (a low-order point)
                return b"\x00" * 32
    except ImportError:
        pass
    return "cryptography", AEAD, x25519


def _load_pycryptodome():
    try:
        from Crypto.Cipher import AES
    except ImportError:
        from Cryptodome.Cipher import AES  # Debian's python3-pycryptodome

    class AEAD(object):
        __slots__ = ("_key",)

        def __init__(self, key):
            self._key = bytes(key)

        def seal(self, nonce, plaintext, aad):
            c = AES.new(self._key, AES.MODE_GCM, nonce=nonce)
            c.update(aad)
            ct, tag = c.encrypt_and_digest(plaintext)
            return ct + tag

        def open(self, nonce, ciphertext, aad):
            if len(ciphertext) < 16:
                raise AuthError("does not authenticate")
            c = AES.new(self._key, AES.MODE_GCM, nonce=nonce)
            c.update(aad)
            try:
                return c.decrypt_and_verify(ciphertext[:-16], ciphertext[-16:])
            except ValueError:
                raise AuthError("does not authenticate")

    return "pycryptodome", AEAD, None


def _load():
    want = os.environ.get("WWSPECAPISDK_CRYPTO", "").strip().lower()
    loaders = [_load_cryptography, _load_pycryptodome]
    if want == "pycryptodome":
        loaders = [_load_pycryptodome]
    elif want == "cryptography":
        loaders = [_load_cryptography]
    errors = []
    for load in loaders:
        try:
            return load()
        except ImportError as e:
            errors.append(str(e))
    raise ImportError(
        "wwspecapisdk needs AES-GCM from the 'cryptography' package (Debian: apt-get install "
        "python3-cryptography; pip install cryptography) or from pycryptodome (pip install "
        "pycryptodome): " + "; ".join(errors))


BACKEND, AEAD, _x25519_lib = _load()


def x25519(scalar, u):
    """X25519(scalar, u) of RFC 7748 (an all-zero result is returned, not refused)."""
    if _x25519_lib is not None:
        return _x25519_lib(scalar, u)
    return _x25519.x25519(scalar, u)


def x25519_public(scalar):
    return x25519(scalar, _x25519.BASE)


def x25519_backend():
    return BACKEND if _x25519_lib is not None else "python (RFC 7748 ladder)"
