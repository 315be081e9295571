#!/usr/bin/env python3
"""A complete process plugin in Python, standard library only, written from docs/protocol.md.

It offers one method, hello.greet, and passes every rule of `itsm plugin check`.
Run it under the coordinator by listing it in itsm.yaml:

    plugins:
      - incident
      - name: hello
        command: [python3, Examples/hello-python/plugin.py]
"""
import json
import sys
import time

SUPPORTED_VERSIONS = [1]
MANIFEST = {
    "plugin": {"name": "hello", "version": "1.0.0"},
    "methods": [
        {"name": "hello.greet", "permission": "hello.read", "idempotent": True,
         "description": "Greets someone by name"},
    ],
    "subscribes": [],
    "publishes": [],
}

out = sys.stdout.buffer  # protocol only (§1); logs go to stderr (§8)
max_line_bytes = 1 << 20
state = "awaiting_initialize"  # then "initialized", "ready", "shutting_down"


def send(message):
    out.write(json.dumps(message, separators=(",", ":"), ensure_ascii=False).encode("utf-8") + b"\n")
    out.flush()


def log(level, message, **fields):
    record = {"ts": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "level": level, "msg": message, **fields}
    sys.stderr.write(json.dumps(record) + "\n")
    sys.stderr.flush()


def error(code, kind, message, retryable=False):
    return {"code": code, "message": message, "data": {"kind": kind, "retryable": retryable}}


def handle_request(method, params):
    """Returns ("result", value) or ("error", error object)."""
    global state, max_line_bytes
    if method == "initialize":
        if state != "awaiting_initialize":
            return "error", error(-32600, "protocol.already_initialized", "initialize was already received")
        offered = params.get("protocolVersions", [])
        common = [v for v in offered if v in SUPPORTED_VERSIONS]
        if not common:
            return "error", error(-32602, "protocol.unsupported_version",
                                  f"no common protocol version: offered {offered}, hello speaks {SUPPORTED_VERSIONS}")
        max_line_bytes = params.get("limits", {}).get("maxLineBytes", max_line_bytes)
        state = "initialized"
        return "result", dict(MANIFEST, protocolVersion=max(common))
    if method == "$/ping":
        return "result", {}
    if method == "shutdown":
        state = "shutting_down"
        return "result", {}
    if state == "shutting_down":
        return "error", error(-32015, "plugin.shutting_down", "hello is shutting down", retryable=True)
    if state != "ready":
        return "error", error(-32002, "protocol.not_initialized", "the handshake has not finished")
    if method == "hello.greet":
        name = params.get("name")
        if not isinstance(name, str) or not name.strip():
            return "error", error(-32602, "protocol.invalid_params", "name: required, a non-empty string")
        return "result", {"greeting": f"Hello, {name.strip()}!"}
    return "error", error(-32601, "protocol.method_not_found", f"unknown method '{method}'")


def handle_line(line):
    global state
    try:
        message = json.loads(line)
    except ValueError:
        send({"jsonrpc": "2.0", "id": None, "error": error(-32700, "protocol.parse_error", "the line is not valid JSON")})
        return
    if not isinstance(message, dict) or message.get("jsonrpc") != "2.0":
        send({"jsonrpc": "2.0", "id": None, "error": error(-32600, "protocol.invalid_request", "not a JSON-RPC 2.0 object")})
        return
    method = message.get("method")
    if method is None:
        return  # a response: this plugin sends no requests
    params = message.get("params") or {}
    if "id" not in message:  # a notification
        if method == "initialized" and state == "initialized":
            state = "ready"
            log("info", "hello ready")
        elif method == "exit":
            sys.exit(0)
        return  # $/cancelRequest: nothing runs long enough to cancel
    if not isinstance(params, dict):  # params by name only (§2)
        kind, value = "error", {"code": -32602, "message": "params must be an object",
                                "data": {"kind": "protocol.invalid_params", "retryable": False}}
    else:
        kind, value = handle_request(method, params)
    send({"jsonrpc": "2.0", "id": message["id"], kind: value})


def main():
    stdin = sys.stdin.buffer
    while True:
        line = stdin.readline(max_line_bytes + 2)  # the cap (§1): never buffer more than the limit
        if not line:
            return  # end of input: the coordinator is gone (§3)
        if not line.endswith(b"\n") and len(line) > max_line_bytes:
            while line and not line.endswith(b"\n"):  # skip the rest of the over-long line
                line = stdin.readline(1 << 16)
            send({"jsonrpc": "2.0", "id": None,
                  "error": error(-32012, "protocol.message_too_large", f"a line exceeds the limit of {max_line_bytes} bytes")})
            continue
        line = line.rstrip(b"\r\n")
        if line.strip():
            handle_line(line)


if __name__ == "__main__":
    main()
