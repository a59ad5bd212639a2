# -*- coding: utf-8 -*-
"""wwspecapisdk: OpenZone's drop-in for WeCom's Python zone SDK (专区SDK).

A program written for WeCom's data & intelligence zone (数据与智能专区)
imports this module in place of WeCom's wwspecapisdk.so and runs on OpenZone
unchanged: the same names, signatures and return values, over OpenZone's
packet protocol v2. It finds the zone as every OpenZone SDK does:

- deployed by the zone: OPENZONE_API, OPENZONE_PROGRAM_ID, OPENZONE_SECRET
  (and PORT, which the program reads itself);
- in debug mode (调试模式) on a developer's machine: OPENZONE_API, then
  spec_open_debug_mode(debug_token, access_token) — the debug credential
  names the program, and no production secret is ever needed.

Pure Python (3.6+), safe to fork (gunicorn and friends). Crypto comes from
the 'cryptography' package, else pycryptodome. See README.md.
"""
from ._sdk import (
    ChatDataSDK,
    INTERFACES,
    WWSpecException,
    WWToSpecHTTPReqDecoder,
    WWToSpecHTTPRspConstructor,
    WWToSpecRetryNotifyException,
    __version__,
    spec_gen_notify_id,
    spec_get_sdk_version,
    spec_log,
    spec_log_debug,
    spec_log_debug_with_req_id,
    spec_log_error,
    spec_log_error_with_req_id,
    spec_log_info,
    spec_log_info_with_req_id,
    spec_make_internal_error_rsp_data,
    spec_open_debug_mode,
)

__all__ = [
    "ChatDataSDK", "INTERFACES", "WWSpecException", "WWToSpecHTTPReqDecoder", "WWToSpecHTTPRspConstructor",
    "WWToSpecRetryNotifyException", "spec_gen_notify_id", "spec_get_sdk_version", "spec_log", "spec_log_debug",
    "spec_log_debug_with_req_id", "spec_log_error", "spec_log_error_with_req_id", "spec_log_info",
    "spec_log_info_with_req_id", "spec_make_internal_error_rsp_data", "spec_open_debug_mode",
]
