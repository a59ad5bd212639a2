# -*- coding: utf-8 -*-
"""WeCom's SDK surface over the wire: the decoder, the reply constructor,
ChatDataSDK against a fake zone, forking, logging. (The real zone is the
judge of the end-to-end flows: examples/pyprogram.)"""
import base64
import email.message
import http.server
import io
import json
import os
import sys
import threading
import time
import unittest
from contextlib import redirect_stdout

import wwspecapisdk
from wwspecapisdk import _sdk, _wire

PROGRAM = "prog-py"
SECRET = _wire.Secret(3, bytes(range(32)))
SECRET_TEXT = "3:" + base64.b64encode(SECRET.key).decode()


def _env(**kw):
    """Sets the SDK's environment and forgets its state."""
    for k in (_sdk.ENV_API, _sdk.ENV_PROGRAM_ID, _sdk.ENV_SECRET, _sdk.ENV_INSTANCE):
        os.environ.pop(k, None)
    os.environ.update(kw)
    _sdk._reset_for_tests()


def _call(keys=None, hd=None, **fields):
    """A sealed call: (header pairs, body)."""
    keys = keys or _wire.Keys(SECRET)
    hd = hd or _wire.Header(PROGRAM, keys.secret.ver, _wire.new_request_id(), int(time.time()))
    c = {"corpid": "wwdemo", "agentid": 1000002, "call_type": 1, "data": '{"text":"你好"}', "is_async": False,
         "job_info": "", "ability_id": "echo", "notify_id": ""}
    c.update(fields)
    return hd, list(hd.headers().items()), keys.seal(_wire.CALL, hd, _wire.dumps(c))


class Decoder(unittest.TestCase):
    def setUp(self):
        _env(OPENZONE_PROGRAM_ID=PROGRAM, OPENZONE_SECRET=SECRET_TEXT)
        self.out = io.StringIO()
        self._redir = redirect_stdout(self.out)
        self._redir.__enter__()

    def tearDown(self):
        self._redir.__exit__(None, None, None)

    def test_getters_and_reply(self):
        hd, headers, body = _call(notify_id="n-1", is_async=True, job_info="ozj1.x")
        req = wwspecapisdk.WWToSpecHTTPReqDecoder(headers, body)
        got = (req.get_corpid(), req.get_agentid(), req.get_call_type(), req.get_data(), req.get_is_async(),
               req.get_job_info(), req.get_ability_id(), req.get_notify_id(), req.get_req_id())
        self.assertEqual(got, ("wwdemo", 1000002, 1, '{"text":"你好"}', True, "ozj1.x", "echo", "n-1", hd.request_id))
        rsp = wwspecapisdk.WWToSpecHTTPRspConstructor('{"ok":"好"}')
        h = rsp.get_normal_header()
        self.assertEqual(h, {"ww-secret-ver": "3", "ww-request-id": hd.request_id, "ww-timestamp": str(hd.timestamp)})
        body = rsp.get_encoded_body()
        self.assertIsInstance(body, str)
        reply = json.loads(_wire.Keys(SECRET).open(_wire.REPLY, hd, body).decode("utf-8"))
        self.assertEqual(reply, {"data": '{"ok":"好"}'})

    def test_header_forms(self):
        """Pairs in any case, a dict, http.server's message, bytes or str body."""
        cases = {
            "lower": lambda h: h,
            "canonical": lambda h: [("-".join(p.capitalize() for p in k.split("-")), v) for k, v in h],
            "upper": lambda h: [(k.upper(), v) for k, v in h],
            "dict": lambda h: dict(h),
            "with-others": lambda h: [("Host", "x"), ("Content-Length", "9"), ("Content-Type", "text/plain")] + h,
        }
        for name, form in cases.items():
            with self.subTest(name):
                hd, headers, body = _call()
                req = wwspecapisdk.WWToSpecHTTPReqDecoder(form(headers), body.encode())
                self.assertEqual(req.get_req_id(), hd.request_id)
        hd, headers, body = _call()
        msg = email.message.Message()
        for k, v in headers:
            msg[k.title()] = v
        self.assertEqual(wwspecapisdk.WWToSpecHTTPReqDecoder(msg, body).get_ability_id(), "echo")

    def refused(self, headers, body):
        with self.assertRaises(wwspecapisdk.WWSpecException) as cm:
            wwspecapisdk.WWToSpecHTTPReqDecoder(headers, body)
        rsp = wwspecapisdk.WWToSpecHTTPRspConstructor("")
        self.assertEqual(rsp.get_encoded_body(), "")
        h = rsp.get_exception_header()
        self.assertEqual(h["ww-exception"], str(cm.exception.code))
        self.assertEqual(rsp.get_normal_header()["ww-exception"], str(cm.exception.code))
        return cm.exception.code

    def test_refusals(self):
        hd, headers, body = _call()
        tampered = body[:40] + ("A" if body[40] != "A" else "B") + body[41:]
        other = _wire.Keys(_wire.Secret(3, os.urandom(32)))
        cases = [
            ("tampered body", headers, tampered, _wire.EXC_AUTH),
            ("wrong key", _call(keys=other)[1], _call(keys=other)[2], _wire.EXC_AUTH),
            ("raw v1 body", headers, base64.b64decode(body), _wire.EXC_MALFORMED),
            ("missing timestamp", [kv for kv in headers if kv[0] != "ww-timestamp"], body, _wire.EXC_MALFORMED),
            ("duplicate header in two cases", headers + [("WW-REQUEST-ID", hd.request_id)], body, _wire.EXC_MALFORMED),
            ("other secret version", [(k, "4" if k == "ww-secret-ver" else v) for k, v in headers], body,
             _wire.EXC_SECRET_VER),
            ("empty body", headers, "", _wire.EXC_MALFORMED),
            ("no headers", [], body, _wire.EXC_MALFORMED),
        ]
        for name, h, b, want in cases:
            with self.subTest(name):
                self.assertEqual(self.refused(h, b), want)
        self.assertIn("request refused", self.out.getvalue())

    def test_replay_and_stale(self):
        hd, headers, body = _call()
        wwspecapisdk.WWToSpecHTTPReqDecoder(headers, body)
        self.assertEqual(self.refused(headers, body), _wire.EXC_REPLAY)
        old = _wire.Header(PROGRAM, 3, _wire.new_request_id(), int(time.time()) - 301)
        _, headers, body = _call(hd=old)
        self.assertEqual(self.refused(headers, body), _wire.EXC_TIMESTAMP)

    def test_probe_is_an_app_call_of_no_ability(self):
        _, headers, body = _call(call_type=3, ability_id="", data="")
        req = wwspecapisdk.WWToSpecHTTPReqDecoder(headers, body)
        self.assertEqual((req.get_call_type(), req.get_ability_id(), req.get_data()), (1, "", ""))

    def test_no_program_id_in_debug_mode_before_opening(self):
        _env()
        _, headers, body = _call()
        self.assertEqual(self.refused(headers, body), _wire.EXC_SECRET_VER)

    def test_reply_bound_to_its_own_request_across_threads(self):
        """Each thread answers the request it decoded."""
        errors = []

        def serve():
            try:
                for _ in range(50):
                    hd, headers, body = _call()
                    wwspecapisdk.WWToSpecHTTPReqDecoder(headers, body)
                    b = wwspecapisdk.WWToSpecHTTPRspConstructor("x").get_encoded_body()
                    _wire.Keys(SECRET).open(_wire.REPLY, hd, b)
            except Exception as e:  # noqa: BLE001 - reported below
                errors.append(e)

        ts = [threading.Thread(target=serve) for _ in range(8)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        self.assertEqual(errors, [])


class FakeZone(object):
    """Answers /spec/v1/invoke with the reply `respond` makes."""

    def __init__(self):
        zone = self
        self.invokes = []
        self.batches = []  # log batches (protocol section 16)
        self.log_level = 2
        self.respond = None

        class H(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                hd = _wire.read_header(self.headers.items(), "")
                keys = _wire.Keys(SECRET)
                if self.path == _wire.LOG_PATH:
                    zone.batches.append(json.loads(keys.open(_wire.LOG, hd, body).decode("utf-8")))
                    out = keys.seal(_wire.RESULT, hd, json.dumps({"errcode": 0, "errmsg": "ok",
                                                                   "log_level": zone.log_level}))
                    self.send_response(200)
                    self.send_header("Content-Length", str(len(out)))
                    self.end_headers()
                    self.wfile.write(out.encode())
                    return
                inv = json.loads(keys.open(_wire.INVOKE, hd, body).decode("utf-8"))
                zone.invokes.append((hd, inv))
                status, headers, out = zone.respond(keys, hd, inv) if zone.respond else (
                    200, hd.headers(), keys.seal(_wire.RESULT, hd, json.dumps({"errcode": 0, "errmsg": "ok",
                                                                               "pid": os.getpid()})))
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out.encode() if isinstance(out, str) else out)

        self.srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.url = "http://127.0.0.1:%d" % self.srv.server_address[1]
        threading.Thread(target=self.srv.serve_forever, daemon=True).start()

    def close(self):
        self.srv.shutdown()
        self.srv.server_close()


class Invoke(unittest.TestCase):
    def setUp(self):
        self.zone = FakeZone()
        self.addCleanup(self.zone.close)
        _env(OPENZONE_API=self.zone.url, OPENZONE_PROGRAM_ID=PROGRAM, OPENZONE_SECRET=SECRET_TEXT,
             OPENZONE_INSTANCE="inst-1")
        self.out = io.StringIO()
        r = redirect_stdout(self.out)
        r.__enter__()
        self.addCleanup(r.__exit__, None, None, None)

    def test_interfaces_and_envelope(self):
        sdk = wwspecapisdk.ChatDataSDK("wwdemo", 1000002, "invoke_sync_msg", "ozj1.job")
        for name in ("sync_msg", "spec_notify_app", "knowledge_base_list", "create_ww_model_task",
                     "program_async_job_call_back", "echo"):
            self.assertTrue(callable(getattr(sdk, name)), name)
        out = sdk.sync_msg('{"cursor":"","limit":10}')
        self.assertEqual(json.loads(out)["errcode"], 0)
        hd, inv = self.zone.invokes[-1]
        self.assertEqual(inv, {"interface": "sync_msg", "corpid": "wwdemo", "agentid": 1000002,
                               "ability_id": "invoke_sync_msg", "job_info": "", "instance": "inst-1",
                               "request": {"cursor": "", "limit": 10}})
        self.assertEqual(hd.program_id, PROGRAM)
        sdk.program_async_job_call_back({"errcode": 0, "result": "{}"})
        self.assertEqual(self.zone.invokes[-1][1]["job_info"], "ozj1.job")
        sdk.spec_notify_app("")
        self.assertEqual(self.zone.invokes[-1][1]["request"], {})

    def code(self, respond, request="{}"):
        self.zone.respond = respond
        with self.assertRaises(wwspecapisdk.WWSpecException) as cm:
            wwspecapisdk.ChatDataSDK("wwdemo", 1000002).sync_msg(request)
        return cm.exception.code

    def test_failures(self):
        def tampered(keys, hd, inv):
            body = keys.seal(_wire.RESULT, hd, "{}")
            return 200, hd.headers(), body[:30] + ("A" if body[30] != "A" else "B") + body[31:]

        def for_another_request(keys, hd, inv):
            other = _wire.Header(hd.program_id, hd.secret_ver, _wire.new_request_id(), hd.timestamp)
            return 200, hd.headers(), keys.seal(_wire.RESULT, other, "{}")

        cases = [
            ("tampered result", tampered, _sdk.CODE_SIGNATURE),
            ("result of another request", for_another_request, _sdk.CODE_SIGNATURE),
            ("not a sealed packet", lambda k, hd, i: (200, hd.headers(), "%%%"), _sdk.CODE_DECRYPT),
            ("secret version refused", lambda k, hd, i: (401, {"ww-exception": "-10008"}, '{"errcode":710677}'),
             _sdk.CODE_SECRET_VER),
            ("unknown program", lambda k, hd, i: (401, {"ww-exception": "-10012"}, '{"errcode":800001}'),
             _sdk.CODE_HTTP_STATUS),
            ("HTTP 500", lambda k, hd, i: (500, {}, "boom"), _sdk.CODE_HTTP_STATUS),
            ("result not JSON", lambda k, hd, i: (200, hd.headers(), k.seal(_wire.RESULT, hd, "not json")),
             _sdk.CODE_INVALID_JSON),
        ]
        for name, respond, want in cases:
            with self.subTest(name):
                self.assertEqual(self.code(respond), want)
        self.assertEqual(self.code(None, request="{not json"), _sdk.CODE_INVALID_JSON)

    def test_network_and_config(self):
        self.zone.close()
        with self.assertRaises(wwspecapisdk.WWSpecException) as cm:
            wwspecapisdk.ChatDataSDK("wwdemo", 1000002).sync_msg("{}")
        self.assertEqual(cm.exception.code, _sdk.CODE_NETWORK)
        _env(OPENZONE_PROGRAM_ID=PROGRAM, OPENZONE_SECRET=SECRET_TEXT)
        with self.assertRaises(wwspecapisdk.WWSpecException) as cm:
            wwspecapisdk.ChatDataSDK("wwdemo", 1000002).sync_msg("{}")
        self.assertEqual(cm.exception.code, _sdk.CODE_INTERNAL)
        _env(OPENZONE_API="http://127.0.0.1:1", OPENZONE_PROGRAM_ID=PROGRAM)
        with self.assertRaises(wwspecapisdk.WWSpecException) as cm:
            wwspecapisdk.ChatDataSDK("wwdemo", 1000002).sync_msg("{}")
        self.assertEqual(cm.exception.code, _sdk.CODE_SECRET_VER)

    @unittest.skipUnless(hasattr(os, "fork"), "needs fork")
    def test_fork(self):
        """A worker forked after the parent invoked gets its own connection."""
        sdk = wwspecapisdk.ChatDataSDK("wwdemo", 1000002)
        self.assertEqual(json.loads(sdk.echo("{}"))["pid"], os.getpid())
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: invoke, report, exit without unittest's cleanup
            code = 1
            try:
                out = json.loads(wwspecapisdk.ChatDataSDK("wwdemo", 1000002).echo("{}"))
                code = 0 if out["errcode"] == 0 else 2
            finally:
                os.write(w, bytes([code]))
                os._exit(0)
        os.close(w)
        got = os.read(r, 1)
        os.waitpid(pid, 0)
        self.assertEqual(got, b"\x00")
        self.assertEqual(json.loads(sdk.echo("{}"))["errcode"], 0)


class Logs(unittest.TestCase):
    """Log lines go to the zone in sealed batches (protocol section 16)."""

    def setUp(self):
        self.zone = FakeZone()
        self.addCleanup(self.zone.close)
        _env(OPENZONE_API=self.zone.url, OPENZONE_PROGRAM_ID=PROGRAM, OPENZONE_SECRET=SECRET_TEXT,
             OPENZONE_INSTANCE="inst-1")
        _sdk._shipper.flush(ask=True)  # nothing left from other tests; the level is known
        self.zone.batches = []
        r = redirect_stdout(io.StringIO())
        r.__enter__()
        self.addCleanup(r.__exit__, None, None, None)

    def lines(self):
        return [line for b in self.zone.batches for line in b["lines"]]

    def test_lines_reach_the_zone(self):
        _sdk._set_current(None)
        wwspecapisdk.spec_log_info("one, two")
        wwspecapisdk.spec_log_debug("not kept at level 2")
        wwspecapisdk.spec_log_error_with_req_id("rid-9", "three")
        _sdk._shipper.flush(ask=True)
        got = self.lines()
        self.assertEqual(len(got), 2, got)
        self.assertRegex(got[0], r"^<\d+,\d+>,\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3},INFO,,test_sdk\.py,\d+,one, two$")
        self.assertIn(",ERR,rid-9,test_sdk.py,", got[1])
        b = self.zone.batches[0]
        self.assertEqual((b["instance"], b["dropped"], b["utc_offset"]), ("inst-1", 0, time.localtime().tm_gmtoff))
        # At level 3 the zone keeps DBG lines: the SDK sends them once it
        # has heard so.
        self.zone.log_level = 3
        _sdk._shipper.flush(ask=True)
        wwspecapisdk.spec_log_debug("kept at level 3")
        _sdk._shipper.flush()
        self.assertIn(",DBG,", self.lines()[-1])

    def test_full_buffer_drops_oldest_and_says_so(self):
        self.addCleanup(setattr, _sdk, "LOG_MAX_PENDING", _sdk.LOG_MAX_PENDING)
        with _sdk._shipper.send_lock:  # the sender thread waits: the buffer fills
            _sdk.LOG_MAX_PENDING = 3
            for i in range(5):
                wwspecapisdk.spec_log_info("line %d" % i)
        _sdk._shipper.flush()
        self.assertEqual([line.rsplit(",", 1)[1] for line in self.lines()], ["line 2", "line 3", "line 4"])
        self.assertEqual(sum(b["dropped"] for b in self.zone.batches), 2)


class Misc(unittest.TestCase):
    def test_notify_id_and_version(self):
        ids = set(wwspecapisdk.spec_gen_notify_id() for _ in range(100))
        self.assertEqual(len(ids), 100)
        self.assertTrue(all(len(i) == 32 and "/" not in i and "+" not in i for i in ids))
        self.assertTrue(wwspecapisdk.spec_get_sdk_version())
        self.assertEqual(json.loads(wwspecapisdk.spec_make_internal_error_rsp_data("坏了")),
                         {"errcode": 710660, "errmsg": "坏了"})

    def test_log_format(self):
        _sdk._set_current(None)  # no request being served
        out = io.StringIO()
        with redirect_stdout(out):
            wwspecapisdk.spec_log_info("hello", 42)
            wwspecapisdk.spec_log_error_with_req_id("rid-1", "x=%d", 7)
            wwspecapisdk.spec_log(3, "rid-2", "字" * 100)
        lines = out.getvalue().splitlines()
        self.assertEqual(len(lines), 3)
        f = lines[0].split(",")
        self.assertEqual(f[0], "<%d" % os.getpid())
        self.assertEqual((f[3], f[4], f[5], f[7]), ("INFO", "", "test_sdk.py", "hello 42"))
        self.assertTrue(f[6].isdigit())
        self.assertIn(",ERR,rid-1,test_sdk.py,", lines[1])
        self.assertTrue(lines[1].endswith(",x=7"))
        text = lines[2].split(",", 7)[7]
        self.assertIn(",DBG,rid-2,", lines[2])
        self.assertLessEqual(len(text.encode("utf-8")), 128)
        self.assertEqual(text, "字" * 42)


if __name__ == "__main__":
    unittest.main()
