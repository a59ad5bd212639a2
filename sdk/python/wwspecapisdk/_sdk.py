# -*- coding: utf-8 -*-
"""WeCom's Python zone SDK surface (专区SDK), spoken over OpenZone's protocol."""
import atexit
import base64
import binascii
import collections
import http.client
import json
import os
import socket
import sys
import threading
import time
from urllib.parse import urlsplit

from . import _crypto, _hpke, _wire

try:  # per asyncio task and per thread; threads only on Python 3.6
    import contextvars
except ImportError:  # pragma: no cover - Python 3.6
    contextvars = None

__version__ = "1.2.3+openzone.2"

ENV_API = "OPENZONE_API"
ENV_PROGRAM_ID = "OPENZONE_PROGRAM_ID"
ENV_SECRET = "OPENZONE_SECRET"
ENV_INSTANCE = "OPENZONE_INSTANCE"

INVOKE_PATH = "/spec/v1/invoke"
DEBUG_OPEN_PATH = "/spec/v1/debug/open"
MAX_RESULT_BYTES = 64 << 20

# Return codes of a failed invoke, as WeCom's SDKs number them.
CODE_INTERNAL = -10001
CODE_NETWORK = -10002
CODE_HTTP_STATUS = -10003
CODE_SIGNATURE = -10004
CODE_DECRYPT = -10005
CODE_UNKNOWN_API = -10006
CODE_SECRET_VER = -10008
CODE_INVALID_JSON = -10009

CALL_APP, CALL_EVENT, CALL_PROBE = 1, 2, 3
ASYNC_JOB_CALLBACK = "program_async_job_call_back"

# The SDK interfaces (专区程序调用SDK): one ChatDataSDK method each.
INTERFACES = (
    "sync_msg", "get_msg_list_by_page_id", "get_group_chat", "get_agree_status_single", "get_agree_status_room",
    "set_hide_sensitiveinfo_config", "get_hide_sensitiveinfo_config", "search_chat", "search_msg",
    "search_contact_or_customer", "create_rule", "get_rule_list", "get_rule_detail", "update_rule", "delete_rule",
    "get_hit_msg_list", "create_sentiment_task", "get_sentiment_result", "create_summary_task", "get_summary_result",
    "create_customer_tag_task", "get_customer_tag_result", "create_recommend_dialog_task",
    "get_recommend_dialog_result", "create_model_task", "get_model_task_result", "create_private_task",
    "get_private_task_result", "document_list", "knowledge_base_list", "knowledge_base_create",
    "knowledge_base_detail", "knowledge_base_add_doc", "knowledge_base_remove_doc", "knowledge_base_modify_name",
    "knowledge_base_delete", "create_spam_task", "get_spam_result", "create_chatdata_export_job",
    "get_chatdata_export_job_status", ASYNC_JOB_CALLBACK, "spec_notify_app", "create_program_task",
    "get_program_task_result", "create_ww_model_task", "get_ww_model_result", "echo", "ping",
)


class WWSpecException(Exception):
    """A failure of the SDK: code is WeCom's return code (-10001 …) or, for a
    request the decoder refused, the ww-exception code."""

    def __init__(self, code, message):
        Exception.__init__(self, "%s (code %d)" % (message, code))
        self.code = code
        self.message = message

    def GetCode(self):
        return self.code


class WWToSpecRetryNotifyException(Exception):
    """Raised by a program that wants the zone to deliver an event again
    later; answer with WWToSpecHTTPRspConstructor.get_retry_notify_header."""

    def __init__(self, message="", status=1):
        Exception.__init__(self, message)
        self.status = status

    def GetStatus(self):
        return self.status


class _Entry(object):
    """A secret the program holds: the production one, or the debug secret of
    one (corp, app)."""
    __slots__ = ("keys", "corpid", "agentid", "expires_at")

    def __init__(self, secret, corpid=None, agentid=None, expires_at=0):
        self.keys = _wire.Keys(secret)
        self.corpid, self.agentid, self.expires_at = corpid, agentid, expires_at

    @property
    def debug(self):
        return self.corpid is not None

    def bound_to(self, corpid, agentid):
        return not self.debug or (self.corpid == corpid and self.agentid == agentid)


class _State(object):
    """The program's configuration and secrets, read from the environment the
    zone gives an instance (and, in debug mode, learned from the zone)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.zone_url = os.environ.get(ENV_API, "").strip().rstrip("/")
        self.program_id = os.environ.get(ENV_PROGRAM_ID, "").strip()
        self.instance = os.environ.get(ENV_INSTANCE, "").strip()
        self.production = None
        self.config_error = ""
        secret = os.environ.get(ENV_SECRET, "")
        if secret.strip():
            try:
                self.production = _Entry(_wire.parse_secret(secret))
            except ValueError as e:
                self.config_error = "%s: %s" % (ENV_SECRET, e)
        if self.program_id and not _wire.valid_program_id(self.program_id):
            self.config_error = "%s must be 1 to 128 printable ASCII characters" % ENV_PROGRAM_ID
            self.program_id = ""
        self.debug = {}  # (corpid, agentid) -> _Entry; replaced, never mutated
        self.guard = _wire.Guard()

    def by_version(self, ver):
        p = self.production
        if p is not None and p.keys.secret.ver == ver:
            return p
        for e in self.debug.values():
            if e.keys.secret.ver == ver:
                return e
        return None

    def debug_for(self, corpid, agentid):
        return self.debug.get((corpid, agentid))


_state_lock = threading.Lock()
_state_obj = None


def _state():
    global _state_obj
    s = _state_obj
    if s is None:
        with _state_lock:
            if _state_obj is None:
                _state_obj = _State()
            s = _state_obj
    return s


def _reset_for_tests():
    global _state_obj
    with _state_lock:
        _state_obj = None


class _Current(object):
    """The request being served in this thread (or asyncio task)."""
    __slots__ = ("header", "entry", "call", "error")

    def __init__(self):
        self.header, self.entry, self.call, self.error = None, None, None, 0


if contextvars is not None:
    _current_var = contextvars.ContextVar("wwspecapisdk_current", default=None)

    def _get_current():
        return _current_var.get()

    def _set_current(cur):
        _current_var.set(cur)
else:  # pragma: no cover - Python 3.6
    _local = threading.local()

    def _get_current():
        return getattr(_local, "cur", None)

    def _set_current(cur):
        _local.cur = cur


def _text(v):
    if v is None:
        return ""
    if isinstance(v, bytes):
        return v.decode("utf-8")
    return str(v)


class WWToSpecHTTPReqDecoder(object):
    """Opens a request of the zone: headers (pairs, dict or http.server's
    self.headers; names in any case) and the body (str or bytes). Raises
    WWSpecException with the ww-exception code when it cannot."""

    def __init__(self, headers, body):
        cur = _Current()
        _set_current(cur)
        self._cur = cur
        try:
            self._decode(headers, body)
        except _wire.WireError as e:
            cur.error = e.code
            _log_line("ERR", cur.header.request_id if cur.header else "",
                      "wwspecapisdk: request refused: %s" % e.reason)
            raise WWSpecException(e.code, "request refused: " + e.reason)

    def _decode(self, headers, body):
        st = _state()
        cur = self._cur
        pid = st.program_id
        if not pid:
            try:
                cur.header = _wire.read_header(headers, "-")
            except _wire.WireError:
                pass
            raise _wire.WireError(_wire.EXC_SECRET_VER, "no secret yet: no %s, and debug mode is not open "
                                                        "(spec_open_debug_mode)" % ENV_PROGRAM_ID)
        hd = _wire.read_header(headers, pid)
        hd.program_id = pid  # a call sealed for another program does not authenticate
        cur.header = hd
        entry = st.by_version(hd.secret_ver)
        if entry is None:
            raise _wire.WireError(_wire.EXC_SECRET_VER, "no secret of version %d (the production secret is "
                                                        "%s; debug secrets are replaced by each "
                                                        "spec_open_debug_mode)" % (
                                      hd.secret_ver, st.production.keys.secret.ver if st.production else "absent"))
        plain = entry.keys.open(_wire.CALL, hd, body)
        st.guard.check(hd)
        try:
            c = json.loads(plain.decode("utf-8"))
        except (ValueError, UnicodeDecodeError):
            c = None
        if not isinstance(c, dict) or not isinstance(c.get("corpid", ""), str):
            raise _wire.WireError(_wire.EXC_MALFORMED, "call body is not a JSON call object")
        call = {
            "corpid": _text(c.get("corpid")), "agentid": int(c.get("agentid") or 0),
            "call_type": int(c.get("call_type") or 0), "data": _text(c.get("data")),
            "is_async": bool(c.get("is_async")), "job_info": _text(c.get("job_info")),
            "ability_id": _text(c.get("ability_id")), "notify_id": _text(c.get("notify_id")),
        }
        if not entry.bound_to(call["corpid"], call["agentid"]):
            raise _wire.WireError(_wire.EXC_AUTH, "call for corp %r app %d sealed with the debug secret of "
                                                  "corp %r app %d" % (call["corpid"][:64], call["agentid"],
                                                                      entry.corpid, entry.agentid))
        if call["call_type"] == CALL_PROBE:
            # The zone's pre-flight probe of a debug receiver: programs
            # written for WeCom know call types 1 and 2 only, so it is shown
            # as an app call of no ability — answered, sealed, and without
            # side effects (no program raises an event on it).
            call.update(call_type=CALL_APP, ability_id="", data="", is_async=False)
        cur.entry, cur.call = entry, call

    def get_corpid(self):
        return self._cur.call["corpid"]

    def get_agentid(self):
        return self._cur.call["agentid"]

    def get_call_type(self):
        return self._cur.call["call_type"]

    def get_data(self):
        return self._cur.call["data"]

    def get_is_async(self):
        return self._cur.call["is_async"]

    def get_job_info(self):
        return self._cur.call["job_info"]

    def get_ability_id(self):
        return self._cur.call["ability_id"]

    def get_notify_id(self):
        return self._cur.call["notify_id"]

    def get_req_id(self):
        return self._cur.header.request_id


class WWToSpecHTTPRspConstructor(object):
    """Builds the answer to the request this thread (or task) decoded last:
    get_normal_header() and get_encoded_body() for a reply, or
    get_exception_header() when the decoder refused the request. decoder
    names the request explicitly where a program decodes and answers in
    different threads."""

    def __init__(self, rsp_data, decoder=None):
        self._cur = decoder._cur if decoder is not None else _get_current()
        self._data = _text(rsp_data)
        self._body = None

    def _ok(self):
        c = self._cur
        return c is not None and c.call is not None and not c.error

    def get_normal_header(self):
        if not self._ok():
            return self.get_exception_header()
        return self._cur.header.headers()

    def get_exception_header(self, status=None):
        c = self._cur
        code = c.error if c is not None and c.error else CODE_INTERNAL
        if isinstance(status, int) and status < 0:
            code = status
        h = {_wire.H_EXCEPTION: str(code)}
        if c is not None and c.header is not None:
            h[_wire.H_REQUEST_ID] = c.header.request_id
        return h

    def get_retry_notify_header(self, status=1):
        h = self.get_normal_header()
        if self._ok():
            h["ww-retry-notify"] = str(status)
        return h

    def get_encoded_body(self):
        if not self._ok():
            return ""
        if self._body is None:
            c = self._cur
            self._body = c.entry.keys.seal(_wire.REPLY, c.header, _wire.dumps({"data": self._data}))
        return self._body


# One HTTP connection per thread and zone, reopened after a fork.
_conns = threading.local()


def _connection(url, connect_timeout):
    u = urlsplit(url)
    key = (os.getpid(), u.scheme, u.netloc)
    conn = getattr(_conns, "conn", None)
    if conn is not None and getattr(_conns, "key", None) == key:
        return conn, u
    if conn is not None:
        conn.close()
    cls = http.client.HTTPSConnection if u.scheme == "https" else http.client.HTTPConnection
    conn = cls(u.hostname, u.port, timeout=connect_timeout)
    _conns.conn, _conns.key = conn, key
    return conn, u


def _drop_connection():
    conn = getattr(_conns, "conn", None)
    if conn is not None:
        conn.close()
    _conns.conn = None


def _post(url, path, headers, body, connect_timeout, read_timeout):
    """POSTs body; returns (status, lower-cased header pairs, body bytes).
    Retries once on a kept-alive connection the zone had closed."""
    for attempt in (0, 1):
        conn, u = _connection(url, connect_timeout)
        try:
            if conn.sock is None:
                conn.connect()
            conn.sock.settimeout(read_timeout)
            conn.request("POST", (u.path or "") + path, body=body, headers=headers)
            resp = conn.getresponse()
            data = resp.read(MAX_RESULT_BYTES + 1)
            pairs = [(k.lower(), v) for k, v in resp.getheaders()]
            if resp.will_close:
                _drop_connection()
            return resp.status, pairs, data
        except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError) as e:
            _drop_connection()
            if attempt == 1:
                raise WWSpecException(CODE_NETWORK, "the zone closed the connection: %s" % e)
        except (socket.timeout, OSError, http.client.HTTPException) as e:
            _drop_connection()
            raise WWSpecException(CODE_NETWORK, "calling the zone at %s failed: %s" % (url, e))


def _zone_errmsg(body):
    try:
        r = json.loads(body.decode("utf-8"))
        return ": errcode %s, %s" % (r.get("errcode"), r.get("errmsg"))
    except (ValueError, UnicodeDecodeError, AttributeError):
        return ""


def _request_json(request):
    if request is None or (isinstance(request, (str, bytes)) and not request.strip()):
        return "{}"
    if isinstance(request, bytes):
        request = request.decode("utf-8")
    if isinstance(request, str):
        try:
            json.loads(request)
        except ValueError:
            raise WWSpecException(CODE_INVALID_JSON, "the request is not valid JSON")
        return request
    return _wire.dumps(request)


class ChatDataSDK(object):
    """Calls the zone's SDK interfaces (专区程序调用SDK) as the app (corpid,
    agentid): one method per interface, each taking the request JSON (str)
    and returning the reply JSON (str). Transport failures raise
    WWSpecException with WeCom's return code."""

    def __init__(self, corpid, agentid, ability_id="", job_info=""):
        self.corpid = _text(corpid)
        self.agentid = int(agentid or 0)
        self.ability_id = _text(ability_id)
        self.job_info = _text(job_info)
        self.connect_timeout = 5.0
        self.read_timeout = 60.0
        self.req_id = ""

    def set_connect_timeout(self, seconds):
        self.connect_timeout = float(seconds)

    def set_read_timeout(self, seconds):
        self.read_timeout = float(seconds)

    def set_req_id(self, req_id):
        self.req_id = _text(req_id)

    def _entry(self, st):
        cur = _get_current()
        if cur is not None and cur.entry is not None and cur.call["corpid"] == self.corpid and \
                cur.call["agentid"] == self.agentid:
            if cur.entry.debug:  # a debug secret replaced since the call came: the new one
                return st.debug_for(self.corpid, self.agentid) or cur.entry
            return cur.entry
        e = st.debug_for(self.corpid, self.agentid)
        if e is not None:
            return e
        if st.production is not None:
            return st.production
        raise WWSpecException(CODE_SECRET_VER, "debug mode is not open for corp %r app %d "
                                               "(spec_open_debug_mode with that app's access_token), and the "
                                               "program has no production secret (%s)%s" % (
                                   self.corpid[:64], self.agentid, ENV_SECRET,
                                   "; " + st.config_error if st.config_error else ""))

    def invoke(self, interface, request=None):
        """Calls SDK interface `interface` with `request` (JSON str, bytes or
        a dict) and returns the zone's reply JSON (str)."""
        st = _state()
        if not st.zone_url:
            raise WWSpecException(CODE_INTERNAL, "no zone URL: set %s" % ENV_API)
        if not interface or not isinstance(interface, str):
            raise WWSpecException(CODE_UNKNOWN_API, "no interface name")
        req = _request_json(request)
        entry = self._entry(st)
        env = {"interface": interface, "corpid": self.corpid, "agentid": self.agentid,
               "ability_id": self.ability_id, "job_info": self.job_info if interface == ASYNC_JOB_CALLBACK else ""}
        if st.instance:
            env["instance"] = st.instance
        plain = _wire.dumps(env)[:-1] + ',"request":' + req + "}"
        hd = _wire.Header(st.program_id, entry.keys.secret.ver, _wire.new_request_id(), int(time.time()))
        headers = hd.headers(with_program=True)
        headers["Content-Type"] = _wire.CONTENT_TYPE
        body = entry.keys.seal(_wire.INVOKE, hd, plain)
        start = time.time()
        status, pairs, data = _post(st.zone_url, INVOKE_PATH, headers, body.encode("ascii"),
                                    self.connect_timeout, self.read_timeout)
        exc = ",".join(v for k, v in pairs if k == _wire.H_EXCEPTION)
        if exc == str(_wire.EXC_SECRET_VER):
            msg = "the zone refused secret version %d" % hd.secret_ver
            if entry.debug:
                msg += (" (the debug secret of corp %r app %d: its debug credential expired, close_debug_mode "
                        "ended it, or another spec_open_debug_mode replaced it; open debug mode again)"
                        % (entry.corpid, entry.agentid))
            raise WWSpecException(CODE_SECRET_VER, msg + _zone_errmsg(data))
        if status != 200 or exc:
            raise WWSpecException(CODE_HTTP_STATUS, "HTTP %d%s%s" % (
                status, " (ww-exception %s)" % exc if exc else "", _zone_errmsg(data)))
        if len(data) > MAX_RESULT_BYTES:
            raise WWSpecException(CODE_INTERNAL, "reply larger than %d bytes" % MAX_RESULT_BYTES)
        try:
            res = entry.keys.open(_wire.RESULT, hd, data)
        except _wire.WireError as e:
            code = CODE_SIGNATURE if e.code == _wire.EXC_AUTH else CODE_DECRYPT
            raise WWSpecException(code, "the zone's reply: " + e.reason)
        try:
            out = res.decode("utf-8")
            json.loads(out)
        except (ValueError, UnicodeDecodeError):
            raise WWSpecException(CODE_INVALID_JSON, "the zone's reply is not valid JSON")
        _log_line("DBG", self.req_id or hd.request_id, "wwspecapisdk: invoke %s %.1f ms" % (
            interface, (time.time() - start) * 1000))
        return out


def _interface_method(name):
    def method(self, req=None):
        return self.invoke(name, req)

    method.__name__ = name
    method.__doc__ = "SDK interface %s: request JSON (str) in, reply JSON (str) out." % name
    return method


for _name in INTERFACES:
    setattr(ChatDataSDK, _name, _interface_method(_name))


def spec_open_debug_mode(debug_token, access_token):
    """The SDK half of debug mode (开启调试模式): with the program's debug
    credential (调试凭证) and the app's access_token, gets a debug secret
    from the zone (sealed to a fresh X25519 key) for that app's corp and
    agentid. Returns True when it is open; on failure logs the zone's
    errcode (never a token) and returns False."""
    try:
        s = _open_debug_mode(_text(debug_token).strip(), _text(access_token).strip())
    except WWSpecException as e:
        _log_line("ERR", "", "wwspecapisdk: debug mode not opened: " + e.message)
        return False
    _log_line("INFO", "", "wwspecapisdk: debug mode opened (SDK half): program %s corpid %s agentid %d "
                          "debug_mode_status %d" % (s["program_id"], s["corpid"], s["agentid"], s["status"]))
    return True


def _open_debug_mode(debug_token, access_token):
    st = _state()
    if not st.zone_url:
        raise WWSpecException(CODE_INTERNAL, "no zone URL: set %s" % ENV_API)
    if not debug_token or not access_token:
        raise WWSpecException(CODE_INTERNAL, "debug mode needs both the debug token (调试凭证) and the app's "
                                             "access_token")
    sk = os.urandom(32)
    req = {"debug_token": debug_token, "access_token": access_token,
           "public_key": base64.b64encode(_crypto.x25519_public(sk)).decode("ascii")}
    if st.program_id:
        req["program_id"] = st.program_id
    status, _, data = _post(st.zone_url, DEBUG_OPEN_PATH, {"Content-Type": "application/json"},
                            json.dumps(req).encode("utf-8"), 5.0, 30.0)
    if status != 200:
        raise WWSpecException(CODE_HTTP_STATUS, "HTTP %d from %s%s" % (status, DEBUG_OPEN_PATH, _zone_errmsg(data)))
    try:
        r = json.loads(data.decode("utf-8"))
        errcode = int(r["errcode"])
    except (ValueError, KeyError, TypeError, UnicodeDecodeError, AttributeError):
        raise WWSpecException(CODE_INVALID_JSON, "the zone's answer is not a JSON object with an errcode")
    if errcode != 0:
        raise WWSpecException(errcode, "the zone refused: errcode %d, %s" % (errcode, r.get("errmsg", "")))
    pid = r.get("program_id") or st.program_id
    corpid, agentid, ver = r.get("corpid"), r.get("agentid"), r.get("secret_ver")
    if not _wire.valid_program_id(pid) or not isinstance(corpid, str) or not corpid or \
            not isinstance(agentid, int) or not isinstance(ver, int) or \
            not _wire.DEBUG_SECRET_VER_MIN <= ver <= _wire.MAX_SECRET_VER:
        raise WWSpecException(CODE_INVALID_JSON, "the zone's answer lacks program_id, corpid, agentid or a debug "
                                                 "secret_ver in [2^30, 2^31-1]")
    try:
        sealed = base64.b64decode(_text(r.get("sealed_secret")).encode("ascii"), validate=True)
        key = _hpke.open_single(sk, sealed, _wire.debug_info(pid, corpid, agentid, ver))
    except (binascii.Error, ValueError, UnicodeEncodeError):
        raise WWSpecException(CODE_DECRYPT, "sealed_secret is not standard base64")
    except _hpke.HPKEError:
        raise WWSpecException(CODE_SIGNATURE, "the sealed debug secret does not open for this program, corp, app "
                                              "and version")
    if len(key) != 32:
        raise WWSpecException(CODE_DECRYPT, "the debug secret is not 32 bytes")
    entry = _Entry(_wire.Secret(ver, key), corpid, agentid, int(r.get("expires_at") or 0))
    with st.lock:
        if st.program_id and st.program_id != pid:
            raise WWSpecException(CODE_INTERNAL, "the debug credential is program %r's, and this program is %r" % (
                pid, st.program_id))
        if st.production is not None and st.production.keys.secret.ver == ver:
            raise WWSpecException(CODE_SECRET_VER, "the zone issued a debug secret with the production secret's "
                                                   "version %d" % ver)
        st.program_id = pid
        debug = dict(st.debug)
        debug[(corpid, agentid)] = entry
        st.debug = debug
    return {"program_id": pid, "corpid": corpid, "agentid": agentid, "status": int(r.get("debug_mode_status") or 0)}


def spec_gen_notify_id():
    """A fresh notify_id for spec_notify_app: 32 URL-safe characters."""
    return base64.urlsafe_b64encode(os.urandom(24)).decode("ascii")


def spec_get_sdk_version():
    return __version__


def spec_make_internal_error_rsp_data(errmsg):
    """The response data of a request the program failed to serve."""
    return _wire.dumps({"errcode": 710660, "errmsg": _text(errmsg)})


# Logging (日志): WeCom's line format <pid,tid>,datetime,level,req_id,file,line,text
# with the text cut at 128 bytes, printed to standard output and sent to the
# zone in sealed batches (protocol section 16), which keeps the lines within
# the program's log level (set_log_level).
_LEVELS = {1: "ERR", 2: "INFO", 3: "DBG", "ERR": "ERR", "ERROR": "ERR", "INFO": "INFO", "DBG": "DBG",
           "DEBUG": "DBG"}
_LEVEL_NUMBERS = {"ERR": 1, "INFO": 2, "DBG": 3}
_log_lock = threading.Lock()

LOG_FLUSH_EVERY = 1.0
LOG_BATCH_LINES = 500
LOG_MAX_PENDING = 10000
LOG_LEVEL_FOR = 10.0  # how long the level the zone said holds (then lines above it are sent again)


def _format(args):
    if len(args) > 1 and isinstance(args[0], str) and "%" in args[0]:
        try:
            return args[0] % tuple(args[1:])
        except (TypeError, ValueError):
            pass
    return " ".join(_text(a) for a in args)


def _log_line(level, req_id, text, depth=2):
    try:
        f = sys._getframe(depth)
        where = (os.path.basename(f.f_code.co_filename), f.f_lineno)
    except (ValueError, AttributeError):
        where = ("?", 0)
    tid = threading.get_native_id() if hasattr(threading, "get_native_id") else threading.get_ident()
    now = time.time()
    ms = int(now * 1000)
    offset = time.localtime(ms // 1000).tm_gmtoff
    number = _LEVEL_NUMBERS.get(level, 2)
    line = _wire.format_log_line(os.getpid(), tid, ms, offset, number, req_id, where[0], where[1], text)
    with _log_lock:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()
    _shipper.add(number, offset, line)


class _LogShipper(object):
    """A process's unsent log lines and the thread that sends them: every
    second, at once when 500 wait, later after a failure (up to 30 s). At
    most 10,000 wait; beyond, the oldest are dropped and the zone told how
    many. A forked child starts empty, with its own thread."""

    def __init__(self):
        self._reset()

    def _reset(self):
        self.lock = threading.Lock()
        self.send_lock = threading.Lock()
        self.pending = collections.deque()
        self.dropped = 0
        self.level = 0
        self.level_at = 0.0
        self.pid = None
        self.wake = threading.Event()

    def add(self, level, offset, line):
        if not _state().zone_url:
            return
        with self.lock:
            if self.pid != os.getpid():
                self.pending.clear()
                self.dropped = 0
                self.pid = os.getpid()
                t = threading.Thread(target=self._run, name="wwspecapisdk-logs")
                t.daemon = True
                t.start()
            if self.level and level > self.level and time.time() - self.level_at < LOG_LEVEL_FOR:
                return
            if len(self.pending) >= LOG_MAX_PENDING:
                self.pending.popleft()
                self.dropped += 1
            self.pending.append((offset, line))
            if len(self.pending) >= LOG_BATCH_LINES:
                self.wake.set()

    def _run(self):
        pid, wait = os.getpid(), LOG_FLUSH_EVERY
        while self.pid == pid:
            self.wake.wait(wait)
            self.wake.clear()
            try:
                self.flush()
                wait = LOG_FLUSH_EVERY
            except (WWSpecException, OSError):
                wait = min(wait * 2, 30.0)

    def flush(self, connect_timeout=5.0, read_timeout=10.0, ask=False):
        """Sends every waiting line (when ask, at least one batch, if empty, to
        learn the log level); raises WWSpecException when it cannot."""
        with self.send_lock:
            first = True
            while True:
                with self.lock:
                    lines = []
                    for off, line in self.pending:
                        if len(lines) >= _wire.MAX_LOG_BATCH_LINES or off != self.pending[0][0]:
                            break
                        lines.append(line)
                    if not lines and not self.dropped and not (ask and first):
                        return
                    first = False
                    batch = {"utc_offset": self.pending[0][0] if lines else time.localtime().tm_gmtoff,
                             "dropped": self.dropped, "lines": lines}
                st = _state()
                if st.instance:
                    batch["instance"] = st.instance
                ans = _send_logs(st, batch, connect_timeout, read_timeout)
                with self.lock:
                    for _ in range(min(len(lines), len(self.pending))):
                        self.pending.popleft()
                    self.dropped -= batch["dropped"]
                    level = ans.get("log_level")
                    if isinstance(level, int) and 1 <= level <= 3:
                        self.level, self.level_at = level, time.time()


def _send_logs(st, batch, connect_timeout, read_timeout):
    entry = st.production
    if entry is None:
        entry = next(iter(st.debug.values()), None)
    if entry is None:
        raise WWSpecException(CODE_SECRET_VER, "no secret to seal log lines with: no production secret, and "
                                               "debug mode is not open")
    hd = _wire.Header(st.program_id, entry.keys.secret.ver, _wire.new_request_id(), int(time.time()))
    headers = hd.headers(with_program=True)
    headers["Content-Type"] = _wire.CONTENT_TYPE
    body = entry.keys.seal(_wire.LOG, hd, _wire.dumps(batch))
    status, _, data = _post(st.zone_url, _wire.LOG_PATH, headers, body.encode("ascii"), connect_timeout,
                            read_timeout)
    if status != 200:
        raise WWSpecException(CODE_HTTP_STATUS, "log batch: HTTP %d%s" % (status, _zone_errmsg(data)))
    try:
        ans = json.loads(entry.keys.open(_wire.RESULT, hd, data).decode("utf-8"))
    except _wire.WireError as e:
        raise WWSpecException(CODE_SIGNATURE, "log batch: the zone's answer: " + e.reason)
    except (ValueError, UnicodeDecodeError):
        raise WWSpecException(CODE_INVALID_JSON, "log batch: the zone's answer is not JSON")
    if not isinstance(ans, dict) or ans.get("errcode") != 0:
        raise WWSpecException(CODE_INTERNAL, "log batch refused: %r" % (ans,))
    return ans


_shipper = _LogShipper()
if hasattr(os, "register_at_fork"):  # a lock held by another thread at fork stays held in the child
    os.register_at_fork(after_in_child=_shipper._reset)


def _flush_logs_at_exit():
    try:
        _shipper.flush(1.0, 2.0)
    except (WWSpecException, OSError):
        pass


atexit.register(_flush_logs_at_exit)


def _req_id():
    cur = _get_current()
    return cur.header.request_id if cur is not None and cur.header is not None else ""


def spec_log(log_level, req_id, *args):
    _log_line(_LEVELS.get(log_level, "INFO"), _text(req_id), _format(args), depth=2)


def spec_log_info(*args):
    _log_line("INFO", _req_id(), _format(args))


def spec_log_error(*args):
    _log_line("ERR", _req_id(), _format(args))


def spec_log_debug(*args):
    _log_line("DBG", _req_id(), _format(args))


def spec_log_info_with_req_id(req_id, *args):
    _log_line("INFO", _text(req_id), _format(args))


def spec_log_error_with_req_id(req_id, *args):
    _log_line("ERR", _text(req_id), _format(args))


def spec_log_debug_with_req_id(req_id, *args):
    _log_line("DBG", _text(req_id), _format(args))
