#!/usr/bin/env python3
# -*- coding: utf-8 -*-
"""A zone program (专区程序) written against WeCom's Python SDK, wwspecapisdk.

It ports the behaviour of WeCom's sample program, and knows nothing of
OpenZone: with WeCom's wwspecapisdk.so it would run in WeCom's zone, with
OpenZone's wwspecapisdk (openzone sdk export --lang python) it runs on
OpenZone, deployed or in debug mode.

Abilities:
- echo: {"text": "…"} → {"text": "…", "served_by": "<--name>"}
- invoke_<interface>: request_data to that SDK interface, its reply back
- get_callback_data: the event stored under the call's notify_id, as the
  event's own JSON
Events (call_type 2): the event is kept for 20 minutes under a fresh
notify_id (spec_gen_notify_id), then spec_notify_app tells the app. Async
calls (is_async) are acknowledged at once; the result is reported with
program_async_job_call_back.

Usage: program.py [--port 8080] [--name NAME] [--debug-token T --access-token A]
(or OPENZONE_DEBUG_TOKEN / OPENZONE_ACCESS_TOKEN): debug mode (调试模式) opens
the SDK half with the two tokens once the server listens.
"""
import argparse
import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer
from socketserver import ThreadingMixIn

SDK_DIR = "/usr/local/wwspecdemo/sdk"  # where WeCom's images keep the SDK
if os.path.isdir(SDK_DIR):
    sys.path.insert(0, SDK_DIR)

from wwspecapisdk import (  # noqa: E402
    ChatDataSDK,
    WWToSpecHTTPReqDecoder,
    WWToSpecHTTPRspConstructor,
    spec_gen_notify_id,
    spec_log_error,
    spec_log_info,
    spec_open_debug_mode,
)

DEMO_ERROR = 710660  # the sample's internal error code
EVENT_TTL = 20 * 60

NAME = "pyprogram"
EVENTS = {}  # notify_id -> (event JSON, expiry)
EVENTS_LOCK = threading.Lock()


def err(msg):
    return json.dumps({"errcode": DEMO_ERROR, "errmsg": msg}, ensure_ascii=False)


def store_event(notify_id, data):
    now = time.time()
    with EVENTS_LOCK:
        for k in [k for k, (_, exp) in EVENTS.items() if exp <= now]:
            del EVENTS[k]
        EVENTS[notify_id] = (data, now + EVENT_TTL)


def drop_event(notify_id):
    with EVENTS_LOCK:
        EVENTS.pop(notify_id, None)


def load_event(notify_id):
    with EVENTS_LOCK:
        ev = EVENTS.get(notify_id)
    if ev is None or ev[1] <= time.time():
        return None
    return ev[0]


def do_work(req, ability, data):
    """The response data of an app call."""
    if ability == "echo":
        try:
            text = json.loads(data or "{}").get("text", "")
        except (ValueError, AttributeError):
            return err('request_data must be {"text":"…"}')
        return json.dumps({"text": text, "served_by": NAME}, ensure_ascii=False, separators=(",", ":"))
    if ability == "get_callback_data":
        notify_id = req.get_notify_id()
        if not notify_id:
            return err("notify_id is empty: call with the notify_id of the program_notify callback")
        ev = load_event(notify_id)
        if ev is None:
            return err("no callback data for this notify_id (unknown, or expired after 20 minutes)")
        return ev
    if ability.startswith("invoke_") and len(ability) > len("invoke_"):
        sdk = ChatDataSDK(req.get_corpid(), req.get_agentid(), ability, req.get_job_info())
        try:
            return sdk.invoke(ability[len("invoke_"):], data or "{}")
        except Exception as e:  # the SDK raised: report it as the answer
            return err("invoke failed: %s" % e)
    return err("unknown ability %r" % ability)


def on_event(req):
    """An event: keep it under a fresh notify_id, then tell the app with
    spec_notify_app — stored first, so the app called back at once finds it."""
    notify_id = spec_gen_notify_id()
    store_event(notify_id, req.get_data())
    sdk = ChatDataSDK(req.get_corpid(), req.get_agentid(), req.get_ability_id(), "")
    try:
        reply = json.loads(sdk.spec_notify_app(json.dumps({"notify_id": notify_id})))
    except Exception:
        drop_event(notify_id)
        raise
    if reply.get("errcode") != 0:
        drop_event(notify_id)
        raise RuntimeError("spec_notify_app: errcode %s %s" % (reply.get("errcode"), reply.get("errmsg")))
    event_type = json.loads(req.get_data() or "{}").get("event_type", "")
    spec_log_info("event %s stored under notify_id %s" % (event_type, notify_id))


def run_async(corpid, agentid, ability, job_info, req, data):
    """Does an async call's work and reports it (上报异步任务结果)."""
    try:
        result, code = do_work(req, ability, data), 0
    except Exception as e:
        result, code = err(str(e)), DEMO_ERROR
    sdk = ChatDataSDK(corpid, agentid, ability, job_info)
    try:
        reply = json.loads(sdk.program_async_job_call_back(json.dumps({"errcode": code, "result": result})))
        if reply.get("errcode") != 0:
            spec_log_error("async report refused: errcode %s" % reply.get("errcode"))
    except Exception as e:
        spec_log_error("async report failed: %s" % e)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes: without TCP_NODELAY, Nagle's
    # algorithm holds the body for the zone's delayed ACK (40 ms a call).
    disable_nagle_algorithm = True

    def do_GET(self):
        self.send_error(405)

    do_PUT = do_DELETE = do_GET

    def reply(self, headers, body):
        body = body.encode("utf-8") if isinstance(body, str) else body
        self.send_response(200)
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        post_data = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        # Frameworks may change header names' case: hand the ww-* ones over in
        # lower case, as WeCom's Java sample does.
        headers = [(k.lower() if k.lower().startswith("ww-") else k, v) for k, v in self.headers.items()]
        try:
            req = WWToSpecHTTPReqDecoder(headers, post_data.decode("utf-8", "replace"))
        except Exception as e:
            spec_log_error("request could not be decoded: %s" % e)
            rsp = WWToSpecHTTPRspConstructor("")
            self.reply(rsp.get_exception_header(), rsp.get_encoded_body())
            return
        try:
            if req.get_call_type() == 2:
                on_event(req)
                data = "{}"
            elif req.get_is_async():
                threading.Thread(target=run_async, args=(req.get_corpid(), req.get_agentid(), req.get_ability_id(),
                                                         req.get_job_info(), req, req.get_data())).start()
                data = "{}"
            else:
                data = do_work(req, req.get_ability_id(), req.get_data())
        except Exception as e:
            spec_log_error("call failed: %s" % e)
            self.send_error(500)
            return
        rsp = WWToSpecHTTPRspConstructor(data)
        self.reply(rsp.get_normal_header(), rsp.get_encoded_body())

    def log_message(self, fmt, *args):
        pass


class Server(ThreadingMixIn, HTTPServer):
    daemon_threads = True


def main():
    global NAME
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8080")))
    p.add_argument("--host", default=os.environ.get("HOST", "0.0.0.0"))
    p.add_argument("--name", default=NAME)
    p.add_argument("--debug-token", default=os.environ.get("OPENZONE_DEBUG_TOKEN", ""))
    p.add_argument("--access-token", default=os.environ.get("OPENZONE_ACCESS_TOKEN", ""))
    a = p.parse_args()
    NAME = a.name
    if bool(a.debug_token) != bool(a.access_token):
        p.error("debug mode needs both --debug-token and --access-token")
    srv = Server((a.host, a.port), Handler)
    spec_log_info("listening on %s:%d as %s" % (a.host, srv.server_address[1], NAME))
    print("listening on %s:%d" % (a.host, srv.server_address[1]), flush=True)
    if a.debug_token:
        if not spec_open_debug_mode(a.debug_token, a.access_token):
            print("debug mode could not be opened", file=sys.stderr, flush=True)
            sys.exit(1)
        print("debug mode: SDK half open", flush=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
