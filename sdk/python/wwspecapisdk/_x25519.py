# -*- coding: utf-8 -*-
"""X25519 (RFC 7748 §5), for a pycryptodome without it.

Used only when no installed package offers X25519: once per debug-mode
opening, on an ephemeral key made for that opening. Python integers are not
constant-time; an ephemeral key that lives for one exchange leaves a timing
attacker one sample. Checked against RFC 7748's test vectors.
"""

P = 2 ** 255 - 19
A24 = 121665
BASE = b"\x09" + b"\x00" * 31


def _scalar(k):
    b = bytearray(k)
    b[0] &= 248
    b[31] &= 127
    b[31] |= 64
    return int.from_bytes(bytes(b), "little")


def x25519(k, u):
    if len(k) != 32 or len(u) != 32:
        raise ValueError("X25519 takes 32-byte scalars and points")
    ub = bytearray(u)
    ub[31] &= 127
    x1 = int.from_bytes(bytes(ub), "little") % P
    n = _scalar(k)
    x2, z2, x3, z3, swap = 1, 0, x1, 1, 0
    for t in range(254, -1, -1):
        bit = (n >> t) & 1
        swap ^= bit
        if swap:
            x2, x3, z2, z3 = x3, x2, z3, z2
        swap = bit
        a, b = (x2 + z2) % P, (x2 - z2) % P
        aa, bb = a * a % P, b * b % P
        e = (aa - bb) % P
        c, d = (x3 + z3) % P, (x3 - z3) % P
        da, cb = d * a % P, c * b % P
        x3 = (da + cb) * (da + cb) % P
        z3 = x1 * (da - cb) * (da - cb) % P
        x2 = aa * bb % P
        z2 = e * (aa + A24 * e) % P
    if swap:
        x2, z2 = x3, z3
    return (x2 * pow(z2, P - 2, P) % P).to_bytes(32, "little")
