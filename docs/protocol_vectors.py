#!/usr/bin/env python3
"""Check the OpenZone packet protocol v2 test vectors outside Go.

Usage: python3 docs/protocol_vectors.py [sdk/zonewire/testdata/vectors.json]
Needs the "cryptography" package (pip install cryptography). See docs/protocol.md.
"""
import base64, binascii, datetime, json, re, sys
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

WINDOW = 300


def derive_key(secret_key: bytes, purpose: str) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=b"openzone packet v2",
                info=purpose.encode()).derive(secret_key)


def aad(purpose: str, h: dict) -> bytes:
    fields = ["openzone/v2", purpose, h["program_id"], str(h["secret_ver"]), h["request_id"], str(h["timestamp"])]
    return b"\x00".join(f.encode() for f in fields)


def receive(secret: dict, purpose: str, h: dict, body: bytes, now: int = 0) -> int:
    """A receiver's checks; returns 0 or the exception code."""
    if h["secret_ver"] != secret["ver"]:
        return -10008
    try:  # one line of standard base64; white space around it is ignored
        raw = base64.b64decode(body.strip(b" \t\r\n"), validate=True)
    except (binascii.Error, ValueError):
        return -10009
    if len(raw) < 12 + 16:
        return -10009
    key = derive_key(base64.b64decode(secret["key"]), purpose)
    try:
        AESGCM(key).decrypt(raw[:12], raw[12:], aad(purpose, h))
    except InvalidTag:
        return -10004
    if now and abs(now - h["timestamp"]) > WINDOW:
        return -10010
    return 0


LOG_LINE = re.compile(r"<(\d+),(\d+)>,(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}),(INFO|ERR|DBG),([^,\x00-\x1f\x7f]*),"
                      r"([^,\x00-\x1f\x7f]*),(\d+),([^\r\n]*)")


def read_log_line(line: str, utc_offset: int):
    """The zone's reading of a log line (section 16): a dict, or None."""
    m = LOG_LINE.fullmatch(line)
    if not m or len(m[5].encode()) > 128 or len(m[6].encode()) > 256:
        return None
    tz = datetime.timezone(datetime.timedelta(seconds=utc_offset))
    t = datetime.datetime.strptime(m[3], "%Y-%m-%d %H:%M:%S.%f").replace(tzinfo=tz)
    text = m[8].encode()[:128].decode("utf-8", "ignore")
    return {"pid": int(m[1]), "tid": int(m[2]), "time_ms": round(t.timestamp() * 1000), "level": m[4],
            "req_id": m[5], "file": m[6], "line": int(m[7]), "text": text}


def main() -> None:
    path = sys.argv[1] if len(sys.argv) > 1 else "sdk/zonewire/testdata/vectors.json"
    with open(path, encoding="utf-8") as f:
        v = json.load(f)
    for c in v["cases"]:
        key = derive_key(base64.b64decode(c["secret"]["key"]), c["purpose"])
        a = aad(c["purpose"], c["header"])
        nonce = bytes.fromhex(c["nonce"])
        raw = nonce + AESGCM(key).encrypt(nonce, c["plaintext"].encode("utf-8"), a)
        body = base64.b64encode(raw)
        assert key.hex() == c["key"], (c["name"], "key")
        assert a.hex() == c["aad"], (c["name"], "aad")
        assert raw.hex() == c["raw"], (c["name"], "raw")
        assert body.decode() == c["body"], (c["name"], "body")
        assert receive(c["secret"], c["purpose"], c["header"], body) == 0, c["name"]
    cases = {c["name"]: c for c in v["cases"]}
    for c in v["negative"]:
        got = receive(c["secret"], c["purpose"], c["header"], bytes.fromhex(c["body"]), c.get("now", 0))
        assert got == c["exception"], (c["name"], got, c["exception"])
    for c in v["accepted"]:
        b = cases[c["base"]]
        assert receive(b["secret"], b["purpose"], b["header"], bytes.fromhex(c["body"])) == 0, c["name"]
    for c in v["log_lines"]:
        got = read_log_line(c["line"], c["utc_offset"])
        assert got == c.get("parsed"), (c["name"], got)
    print(f"ok: {len(v['cases'])} cases, {len(v['negative'])} negative cases, {len(v['accepted'])} accepted bodies, "
          f"{len(v['log_lines'])} log lines")


if __name__ == "__main__":
    main()
