# -*- coding: utf-8 -*-
"""OpenZone packet protocol v2 (docs/protocol.md of the OpenZone repository).

A program secret (32 bytes, a version) gives one AES-256-GCM key per
purpose (HKDF-SHA256, salt "openzone packet v2"); a body is
base64(nonce || ciphertext || tag), one line; the additional data binds the
purpose, program id, secret version, request id and timestamp.
"""
import base64
import binascii
import datetime
import json
import os
import re
import threading
import time

from . import _crypto

VERSION = 2
SALT = b"openzone packet v2"
AAD_PREFIX = b"openzone/v2"
CONTENT_TYPE = "text/plain; charset=utf-8"
WINDOW = 300
NONCE_SIZE = 12
OVERHEAD = NONCE_SIZE + 16
MAX_SECRET_VER = 2 ** 31 - 1
DEBUG_SECRET_VER_MIN = 2 ** 30

CALL, REPLY, INVOKE, RESULT, LOG = "call", "reply", "invoke", "result", "log"
PURPOSES = (CALL, REPLY, INVOKE, RESULT, LOG)

H_SECRET_VER = "ww-secret-ver"
H_REQUEST_ID = "ww-request-id"
H_TIMESTAMP = "ww-timestamp"
H_PROGRAM_ID = "ww-program-id"
H_EXCEPTION = "ww-exception"

# Exception codes (ww-exception), as WeCom's SDK numbers the same failures.
EXC_MALFORMED = -10009
EXC_AUTH = -10004
EXC_SECRET_VER = -10008
EXC_TIMESTAMP = -10010
EXC_REPLAY = -10011
EXC_UNKNOWN_PROGRAM = -10012

_REQUEST_ID = re.compile(r"\A[0-9A-Za-z_-]{16,64}\Z")
_DECIMAL = re.compile(r"\A(0|[1-9][0-9]*)\Z")


class WireError(Exception):
    """A packet refused: code is the ww-exception code."""

    def __init__(self, code, reason):
        Exception.__init__(self, "%s (%d)" % (reason, code))
        self.code = code
        self.reason = reason


class Secret(object):
    __slots__ = ("ver", "key")

    def __init__(self, ver, key):
        self.ver, self.key = ver, bytes(key)

    def __repr__(self):  # never the key
        return "Secret(ver=%d)" % self.ver


def parse_secret(text):
    """Parses "<ver>:<base64 of 32 bytes>" (OPENZONE_SECRET)."""
    ver, sep, b64 = text.strip().partition(":")
    if not sep:
        raise ValueError('secret must look like "<ver>:<base64>"')
    v = _decimal(ver, MAX_SECRET_VER)
    if v is None or v < 1:
        raise ValueError("secret version must be a decimal integer in [1, 2^31-1]")
    try:
        key = base64.b64decode(b64.encode("ascii"), validate=True)
    except (binascii.Error, ValueError, UnicodeEncodeError):
        key = b""
    if len(key) != 32:
        raise ValueError("secret key must be 32 bytes in standard base64")
    return Secret(v, key)


def _decimal(s, maximum):
    if not _DECIMAL.match(s):
        return None
    n = int(s)
    return n if n <= maximum else None


def valid_program_id(pid):
    return isinstance(pid, str) and 1 <= len(pid) <= 128 and all(0x21 <= ord(c) <= 0x7E for c in pid)


class Header(object):
    """The cleartext context of a packet (the ww-* headers)."""
    __slots__ = ("program_id", "secret_ver", "request_id", "timestamp")

    def __init__(self, program_id, secret_ver, request_id, timestamp):
        self.program_id, self.secret_ver = program_id, secret_ver
        self.request_id, self.timestamp = request_id, timestamp

    def aad(self, purpose):
        return b"\x00".join((AAD_PREFIX, purpose.encode(), self.program_id.encode(), str(self.secret_ver).encode(),
                             self.request_id.encode(), str(self.timestamp).encode()))

    def headers(self, with_program=False):
        h = {H_SECRET_VER: str(self.secret_ver), H_REQUEST_ID: self.request_id, H_TIMESTAMP: str(self.timestamp)}
        if with_program:
            h[H_PROGRAM_ID] = self.program_id
        return h


def header_pairs(headers):
    """(name, value) pairs of headers given as a list of pairs, a dict, or a
    message object with items() (http.server's self.headers)."""
    if headers is None:
        return []
    if isinstance(headers, dict) or (hasattr(headers, "items") and not isinstance(headers, (list, tuple))):
        return [(str(k), str(v)) for k, v in headers.items()]
    out = []
    for kv in headers:
        if isinstance(kv, (list, tuple)) and len(kv) == 2:
            out.append((str(kv[0]), str(kv[1])))
    return out


def _value(pairs, name):
    vals = [v for k, v in pairs if k.strip().lower() == name]
    if len(vals) > 1:
        raise WireError(EXC_MALFORMED, "header %s appears %d times" % (name, len(vals)))
    return vals[0].strip() if vals else ""


def read_header(headers, program_id):
    """Reads the ww-* headers in any letter case; program_id fills the
    program when the packet carries no ww-program-id."""
    pairs = header_pairs(headers)
    p = _value(pairs, H_PROGRAM_ID)
    pid = p or program_id or ""
    if not valid_program_id(pid):
        raise WireError(EXC_MALFORMED, "program id missing or not 1 to 128 printable ASCII characters")
    ver = _decimal(_value(pairs, H_SECRET_VER), MAX_SECRET_VER)
    if ver is None or ver < 1:
        raise WireError(EXC_MALFORMED, "header %s missing or not a decimal integer in [1, 2^31-1]" % H_SECRET_VER)
    rid = _value(pairs, H_REQUEST_ID)
    if not _REQUEST_ID.match(rid):
        raise WireError(EXC_MALFORMED, "header %s must be 16 to 64 characters of [0-9A-Za-z_-]" % H_REQUEST_ID)
    ts = _decimal(_value(pairs, H_TIMESTAMP), 2 ** 63 - 1)
    if ts is None:
        raise WireError(EXC_MALFORMED, "header %s missing or not a non-negative decimal integer" % H_TIMESTAMP)
    return Header(pid, ver, rid, ts)


def new_request_id():
    return binascii.hexlify(os.urandom(16)).decode("ascii")


def derive_key(secret, purpose):
    return _crypto.hkdf(secret.key, SALT, purpose.encode(), 32)


class Keys(object):
    """The AEADs of one secret (one per purpose), derived once. Safe for
    concurrent use."""

    def __init__(self, secret):
        self.secret = secret
        self._aead = dict((p, _crypto.AEAD(derive_key(secret, p))) for p in PURPOSES)

    def seal(self, purpose, hd, plaintext, nonce=None):
        """Returns the body (str): base64 of nonce || ciphertext || tag."""
        if isinstance(plaintext, str):
            plaintext = plaintext.encode("utf-8")
        if nonce is None:
            nonce = os.urandom(NONCE_SIZE)
        raw = nonce + self._aead[purpose].seal(nonce, plaintext, hd.aad(purpose))
        return base64.b64encode(raw).decode("ascii")

    def open(self, purpose, hd, body):
        """Authenticates and decrypts a body (str or bytes); returns bytes."""
        if hd.secret_ver != self.secret.ver:
            raise WireError(EXC_SECRET_VER, "secret version %d, receiver has %d" % (hd.secret_ver, self.secret.ver))
        aead = self._aead.get(purpose)
        if aead is None:
            raise WireError(EXC_MALFORMED, "unknown purpose %r" % (purpose,))
        raw = decode_body(body)
        try:
            return aead.open(raw[:NONCE_SIZE], raw[NONCE_SIZE:], hd.aad(purpose))
        except _crypto.AuthError:
            raise WireError(EXC_AUTH, "packet does not authenticate (tampered, wrong key or wrong context)")


def decode_body(body):
    """The packet inside a body: one line of standard base64, white space
    around it ignored."""
    if isinstance(body, str):
        try:
            body = body.encode("ascii")
        except UnicodeEncodeError:
            raise WireError(EXC_MALFORMED, "body is not one line of standard base64 (protocol v2)")
    try:  # validate: anything outside the alphabet, inner white space included, is refused
        raw = base64.b64decode(bytes(body).strip(b" \t\r\n"), validate=True)
    except (binascii.Error, ValueError):
        raise WireError(EXC_MALFORMED, "body is not one line of standard base64 (protocol v2); "
                                       "a raw binary body is protocol v1, which is retired")
    if len(raw) < OVERHEAD:
        raise WireError(EXC_MALFORMED, "body is shorter than a sealed packet")
    return raw


def check_timestamp(ts, now):
    if ts < now - WINDOW or ts > now + WINDOW:
        raise WireError(EXC_TIMESTAMP, "timestamp %d is outside the receiver's clock %d +-%ds" % (ts, now, WINDOW))


class Guard(object):
    """Refuses stale timestamps and request ids seen within 2 x WINDOW."""

    def __init__(self):
        self._lock = threading.Lock()
        self._seen = {}
        self._next = 0

    def check(self, hd, now=None):
        n = int(time.time()) if now is None else int(now)
        check_timestamp(hd.timestamp, n)
        with self._lock:
            if n >= self._next:
                for rid in [r for r, exp in self._seen.items() if exp < n]:
                    del self._seen[rid]
                self._next = n + WINDOW
            exp = self._seen.get(hd.request_id)
            if exp is not None and exp >= n:
                raise WireError(EXC_REPLAY, "request id %s was already used" % hd.request_id)
            self._seen[hd.request_id] = n + 2 * WINDOW


def debug_info(program_id, corpid, agentid, ver):
    """The HPKE info that binds a sealed debug secret to its context."""
    return b"\x00".join((b"openzone debug secret v1", program_id.encode(), corpid.encode(),
                         str(agentid).encode(), str(ver).encode()))


def dumps(obj):
    """Compact JSON with non-ASCII kept, like Go's encoding/json."""
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


# Program logs (protocol section 16): WeCom's line format
# <pid,tid>,datetime,level,req_id,file,line,text, sent in sealed batches.
LOG_PATH = "/spec/v1/logs"
LOG_LEVEL_ERROR, LOG_LEVEL_INFO, LOG_LEVEL_DEBUG = 1, 2, 3
LOG_LEVEL_NAMES = {LOG_LEVEL_ERROR: "ERR", LOG_LEVEL_INFO: "INFO", LOG_LEVEL_DEBUG: "DBG"}
MAX_LOG_TEXT, MAX_LOG_REQ_ID, MAX_LOG_FILE = 128, 128, 256
MAX_LOG_BATCH_LINES = 1000
_LOG_FIELD_BAD = re.compile(r"[,\x00-\x1f\x7f]")


def _cut_utf8(text, limit):
    b = text.encode("utf-8", "replace")
    if len(b) <= limit:
        return b.decode("utf-8")
    return b[:limit].decode("utf-8", "ignore")


def format_log_line(pid, tid, time_ms, utc_offset, level, req_id, file, line, text):
    """One log line (no line break): the datetime is time_ms (unix
    milliseconds) at utc_offset seconds east of UTC; req_id and file have
    commas and control characters as _, text has line breaks as spaces and
    is cut at 128 bytes on a character boundary (as WeCom's SDK cuts it)."""
    secs, ms = divmod(int(time_ms), 1000)
    tz = datetime.timezone(datetime.timedelta(seconds=utc_offset))
    when = datetime.datetime.fromtimestamp(secs, tz).strftime("%Y-%m-%d %H:%M:%S") + ".%03d" % ms
    return "<%d,%d>,%s,%s,%s,%s,%d,%s" % (
        max(int(pid), 0), max(int(tid), 0), when, LOG_LEVEL_NAMES.get(level, "INFO"),
        _LOG_FIELD_BAD.sub("_", _cut_utf8(req_id, MAX_LOG_REQ_ID)),
        _LOG_FIELD_BAD.sub("_", _cut_utf8(file, MAX_LOG_FILE)), max(int(line), 0),
        _cut_utf8(text, MAX_LOG_TEXT).replace("\r", " ").replace("\n", " "))
