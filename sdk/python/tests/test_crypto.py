# -*- coding: utf-8 -*-
"""The SDK's crypto against published vectors: OpenZone's protocol v2,
RFC 9180 (HPKE) and RFC 7748 (X25519)."""
import base64
import hashlib
import json
import os
import unittest

from wwspecapisdk import _crypto, _hpke, _wire, _x25519

HERE = os.path.dirname(os.path.abspath(__file__))
VECTORS = os.path.join(HERE, "..", "..", "zonewire", "testdata", "vectors.json")
RFC9180 = os.path.join(HERE, "..", "testdata", "rfc9180.json")


def _secret(s):
    return _wire.Secret(s["ver"], base64.b64decode(s["key"]))


def _header(h):
    return _wire.Header(h["program_id"], h["secret_ver"], h["request_id"], h["timestamp"])


def _receive(secret, purpose, hd, body, now=0):
    """A receiver's checks in protocol order; 0 or the exception code."""
    try:
        _wire.Keys(secret).open(purpose, hd, body)
        if now:
            _wire.check_timestamp(hd.timestamp, now)
    except _wire.WireError as e:
        return e.code
    return 0


class ProtocolVectors(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        with open(VECTORS, encoding="utf-8") as f:
            cls.v = json.load(f)

    def test_protocol(self):
        self.assertEqual(self.v["protocol"], "openzone packet v2")

    def test_cases(self):
        self.assertGreaterEqual(len(self.v["cases"]), 6)
        for c in self.v["cases"]:
            with self.subTest(c["name"]):
                sec, hd = _secret(c["secret"]), _header(c["header"])
                self.assertEqual(_wire.derive_key(sec, c["purpose"]).hex(), c["key"])
                self.assertEqual(hd.aad(c["purpose"]).hex(), c["aad"])
                keys = _wire.Keys(sec)
                body = keys.seal(c["purpose"], hd, c["plaintext"], nonce=bytes.fromhex(c["nonce"]))
                self.assertEqual(body, c["body"])
                self.assertEqual(base64.b64decode(body).hex(), c["raw"])
                self.assertEqual(keys.open(c["purpose"], hd, c["body"]).decode("utf-8"), c["plaintext"])
                self.assertEqual(keys.open(c["purpose"], hd, c["body"].encode()).decode("utf-8"), c["plaintext"])

    def test_negative(self):
        self.assertGreaterEqual(len(self.v["negative"]), 6)
        for c in self.v["negative"]:
            with self.subTest(c["name"]):
                got = _receive(_secret(c["secret"]), c["purpose"], _header(c["header"]),
                               bytes.fromhex(c["body"]), c.get("now", 0))
                self.assertEqual(got, c["exception"], c["mutation"])

    def test_accepted(self):
        cases = dict((c["name"], c) for c in self.v["cases"])
        self.assertTrue(self.v["accepted"])
        for c in self.v["accepted"]:
            with self.subTest(c["name"]):
                b = cases[c["base"]]
                pt = _wire.Keys(_secret(b["secret"])).open(b["purpose"], _header(b["header"]), bytes.fromhex(c["body"]))
                self.assertEqual(pt.decode("utf-8"), b["plaintext"])

    def test_headers(self):
        self.assertGreaterEqual(len(self.v["headers"]), 6)
        for c in self.v["headers"]:
            with self.subTest(c["name"]):
                try:
                    hd = _wire.read_header(c["headers"], c["program_id"])
                    got = 0
                except _wire.WireError as e:
                    got = e.code
                self.assertEqual(got, c["exception"])
                if c["exception"] == 0:
                    want = c["header"]
                    self.assertEqual((hd.program_id, hd.secret_ver, hd.request_id, hd.timestamp),
                                     (want["program_id"], want["secret_ver"], want["request_id"], want["timestamp"]))

    def test_log_lines(self):
        levels = {"ERR": 1, "INFO": 2, "DBG": 3}
        formatted = [c for c in self.v["log_lines"] if "fields" in c]
        self.assertGreaterEqual(len(formatted), 5)
        for c in formatted:
            with self.subTest(c["name"]):
                f = c["fields"]
                got = _wire.format_log_line(f["pid"], f["tid"], f["time_ms"], c["utc_offset"], levels[f["level"]],
                                            f["req_id"], f["file"], f["line"], f["text"])
                self.assertEqual(got, c["line"])

    def test_round_trip_sizes(self):
        keys = _wire.Keys(_wire.Secret(7, os.urandom(32)))
        hd = _wire.Header("prog", 7, _wire.new_request_id(), 1767225600)
        for n in (0, 1, 2, 3, 100, 70 << 10):
            pt = os.urandom(n)
            body = keys.seal(_wire.CALL, hd, pt)
            self.assertEqual(len(body), 4 * ((n + 28 + 2) // 3))
            self.assertNotIn("\n", body)
            self.assertEqual(keys.open(_wire.CALL, hd, body), pt)


def _shake_stream(n):
    return hashlib.shake_128(b"").digest(n)


class HPKEVectors(unittest.TestCase):
    """RFC 9180, base mode, DHKEM(X25519, HKDF-SHA256) / HKDF-SHA256 /
    AES-128-GCM and AES-256-GCM (the debug-secret suite)."""

    def test_rfc9180(self):
        with open(RFC9180, encoding="utf-8") as f:
            vectors = json.load(f)["vectors"]
        self.assertEqual(sorted(v["aead_id"] for v in vectors), [1, 2])
        for v in vectors:
            with self.subTest(aead=v["aead_id"]):
                info = bytes.fromhex(v["info"])
                sk_e, pk_e = _hpke.derive_key_pair(bytes.fromhex(v["ikmE"]))
                sk_r, pk_r = _hpke.derive_key_pair(bytes.fromhex(v["ikmR"]))
                self.assertEqual(sk_r.hex(), v["skRm"])
                self.assertEqual(pk_r.hex(), v["pkRm"])
                enc, sender = _hpke.setup_sender(pk_r, info, v["aead_id"], sk_e=sk_e)
                self.assertEqual(enc.hex(), v["enc"])
                self.assertEqual(pk_e, enc)
                recipient = _hpke.setup_recipient(enc, sk_r, info, v["aead_id"])
                stream, pos, sink = _shake_stream(1 << 20), 0, []

                def draw():
                    nonlocal pos
                    n = stream[pos]
                    out = stream[pos + 1:pos + 1 + n]
                    pos += 1 + n
                    return out

                for _ in range(1000):
                    aad, pt = draw(), draw()
                    ct = sender.seal(aad, pt)
                    sink.append(ct)
                    self.assertEqual(recipient.open(aad, ct), pt)
                self.assertEqual(hashlib.shake_128(b"".join(sink)).digest(16).hex(), v["encryptions_accumulated"])
                stream, pos, sink = _shake_stream(1 << 20), 0, []
                for length in range(1000):
                    ctx = draw()
                    value = sender.export(ctx, length)
                    self.assertEqual(recipient.export(ctx, length), value)
                    sink.append(value)
                self.assertEqual(hashlib.shake_128(b"".join(sink)).digest(16).hex(), v["exports_accumulated"])

    def test_single_shot_refuses_other_info(self):
        sk_r, pk_r = _hpke.derive_key_pair(os.urandom(32))
        info = _wire.debug_info("prog", "wwdemo", 1000002, 2 ** 30 + 5)
        enc, ctx = _hpke.setup_sender(pk_r, info)
        sealed = enc + ctx.seal(b"", b"k" * 32)
        self.assertEqual(_hpke.open_single(sk_r, sealed, info), b"k" * 32)
        for other in (_wire.debug_info("prog2", "wwdemo", 1000002, 2 ** 30 + 5),
                      _wire.debug_info("prog", "wwdemo", 1000003, 2 ** 30 + 5),
                      _wire.debug_info("prog", "wwdemo", 1000002, 2 ** 30 + 6)):
            with self.assertRaises(_hpke.HPKEError):
                _hpke.open_single(sk_r, sealed, other)
        with self.assertRaises(_hpke.HPKEError):
            _hpke.open_single(sk_r, sealed[:40], info)


class X25519Vectors(unittest.TestCase):
    """RFC 7748 §5.2 and §6.1, for the installed backend and the fallback."""
    cases = [
        ("a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4",
         "e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c",
         "c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552"),
        ("4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d",
         "e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493",
         "95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957"),
    ]
    alice = ("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a",
             "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a")
    bob = ("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb",
           "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f")
    shared = "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742"

    def check(self, x25519):
        for k, u, out in self.cases:
            self.assertEqual(x25519(bytes.fromhex(k), bytes.fromhex(u)).hex(), out)
        for sk, pk in (self.alice, self.bob):
            self.assertEqual(x25519(bytes.fromhex(sk), _x25519.BASE).hex(), pk)
        self.assertEqual(x25519(bytes.fromhex(self.alice[0]), bytes.fromhex(self.bob[1])).hex(), self.shared)
        self.assertEqual(x25519(bytes.fromhex(self.bob[0]), bytes.fromhex(self.alice[1])).hex(), self.shared)

    def test_backend(self):
        self.check(_crypto.x25519)

    def test_fallback(self):
        self.check(_x25519.x25519)
        k, u = bytes.fromhex(self.cases[0][0]), bytes(32)
        self.assertEqual(_x25519.x25519(k, u), bytes(32))  # the low-order point: HPKE refuses it

    def test_hkdf_rfc5869_case1(self):
        ikm = bytes.fromhex("0b" * 22)
        salt = bytes.fromhex("000102030405060708090a0b0c")
        info = bytes.fromhex("f0f1f2f3f4f5f6f7f8f9")
        self.assertEqual(_crypto.hkdf(ikm, salt, info, 42).hex(),
                         "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865")


if __name__ == "__main__":
    unittest.main()
