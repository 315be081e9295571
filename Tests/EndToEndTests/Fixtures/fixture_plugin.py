#!/usr/bin/env python3
"""A plugin for end-to-end tests, written from docs/protocol.md with the standard library only.

It misbehaves on request, to show the coordinator contains it, and records the events it is
sent to the file named by FIXTURE_EVENTS.
"""
import json
import os
import signal
import sys
import threading
import time

protocol_out = sys.stdout
send_lock = threading.Lock()
EVENTS = os.environ.get("FIXTURE_EVENTS")


def send(message):
    with send_lock:
        protocol_out.write(json.dumps(message, separators=(",", ":")) + "\n")
        protocol_out.flush()


def respond(request_id, result=None, error=None):
    message = {"jsonrpc": "2.0", "id": request_id}
    if error is not None:
        message["error"] = error
    else:
        message["result"] = result
    send(message)


def log(message, **fields):
    sys.stderr.write(json.dumps({"ts": time.strftime("%Y-%m-%dT%H:%M:%SZ"), "level": "info", "msg": message, **fields}) + "\n")
    sys.stderr.flush()


# FIXTURE_LAX: ignores a batch, runs methods whatever their params, and keeps working after shutdown.
LAX = os.environ.get("FIXTURE_LAX") == "1"

# FIXTURE_STUBBORN: ignores SIGTERM, shutdown, exit and the end of its input; only SIGKILL ends it.
STUBBORN = os.environ.get("FIXTURE_STUBBORN") == "1"
if STUBBORN:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)

if os.environ.get("FIXTURE_GARBAGE_FIRST") == "1":
    protocol_out.write("this is not a protocol message\n")
    protocol_out.flush()

MANIFEST = {
    "protocolVersion": 1,
    "plugin": {"name": "fixture", "version": os.environ.get("FIXTURE_VERSION", "0.0.1")},
    "methods": [
        {"name": "fixture.echo", "permission": "fixture.read", "idempotent": True},
        {"name": "fixture.garbage", "permission": "fixture.read", "idempotent": True},
        {"name": "fixture.huge", "permission": "fixture.read", "idempotent": True},
        {"name": "fixture.crash", "permission": "fixture.write", "idempotent": False},
        {"name": "fixture.call", "permission": "fixture.read", "idempotent": True},
        {"name": "fixture.hang", "permission": "fixture.read", "idempotent": True},
        {"name": "fixture.create_for_caller", "permission": "fixture.write", "idempotent": False},
        {"name": "fixture.create_as_itself", "permission": "fixture.write", "idempotent": False},
        {"name": "fixture.undeclared", "permission": "fixture.write", "idempotent": False},
        {"name": "fixture.borrow", "permission": "fixture.write", "idempotent": False},
        {"name": "fixture.relay", "permission": "fixture.read", "idempotent": False},
        {"name": "fixture.slow_write", "permission": "fixture.write", "idempotent": False},
    ],
    "subscribes": os.environ.get("FIXTURE_SUBSCRIBES", "incident.created").split(","),
    "publishes": [],
    "calls": os.environ.get("FIXTURE_CALLS", "incident.list,incident.create").split(","),
}

# FIXTURE_RESULT_SCHEMA: fixture.echo declares a result it does not give.
if os.environ.get("FIXTURE_RESULT_SCHEMA") == "1":
    MANIFEST["methods"][0]["params"] = {"type": "object", "additionalProperties": True}
    MANIFEST["methods"][0]["result"] = {"type": "object", "properties": {"echo": {"type": "string"}},
                                        "required": ["echo"], "additionalProperties": False}

# FIXTURE_EXTRA_METHODS: more methods to declare (a later version, or a rogue instance).
for extra in filter(None, os.environ.get("FIXTURE_EXTRA_METHODS", "").split(",")):
    MANIFEST["methods"].append({"name": extra, "permission": "fixture.read", "idempotent": True})

state = {"initialized": False, "next_id": 1000}


def call_coordinator(method, params, context=None):
    """Sends a request to the coordinator and handles whatever else arrives until its answer.
    With a request's meta.context it runs for that request's caller; without, as the plugin."""
    state["next_id"] += 1
    request_id = state["next_id"]
    request = {"jsonrpc": "2.0", "id": request_id, "method": method, "params": params}
    if context:
        request["meta"] = {"context": context}
    send(request)
    for line in sys.stdin:
        message = json.loads(line)
        if "method" not in message and message.get("id") == request_id:
            return message
        handle(message)
    sys.exit(0)


def handle(message):
    if not isinstance(message, dict):
        if LAX:
            return
        send({"jsonrpc": "2.0", "id": None, "error": {"code": -32600, "message": "a message must be a JSON object",
                                                      "data": {"kind": "protocol.invalid_request", "retryable": False}}})
        return
    method = message.get("method")
    request_id = message.get("id")
    if method is None:
        return  # a response nobody waits for
    if method == "initialize":
        respond(request_id, MANIFEST)
    elif method == "initialized":
        state["initialized"] = True
        log("fixture ready")
    elif method == "exit":
        if not STUBBORN:
            sys.exit(0)
    elif request_id is None:
        return
    elif method == "shutdown":
        if not STUBBORN:
            state["shutting_down"] = True
            respond(request_id, {})
    elif method == "$/ping":
        if os.environ.get("FIXTURE_PING_ERROR") == "1":
            respond(request_id, error={"code": -32603, "message": "ping handler is broken"})
        elif os.environ.get("FIXTURE_NO_PING") != "1":
            respond(request_id, {})
    elif not state["initialized"]:
        respond(request_id, error={"code": -32002, "message": "not initialized"})
    elif state.get("shutting_down") and not LAX:
        respond(request_id, error={"code": -32015, "message": "shutting down",
                                   "data": {"kind": "plugin.shutting_down", "retryable": True}})
    elif not method.startswith("$/") and not isinstance(message.get("params", {}), dict):
        if LAX:
            respond(request_id, {"accepted": message.get("params")})  # as if it had run
        else:
            respond(request_id, error={"code": -32602, "message": "params must be an object",
                                       "data": {"kind": "protocol.invalid_params", "retryable": False}})
    elif method == "$/event":
        params = message.get("params", {})
        if EVENTS:
            with open(EVENTS, "a") as events:
                events.write(json.dumps({"id": params.get("id"), "type": params.get("type"), "requestId": params.get("requestId"),
                                         "metaRequestId": (message.get("meta") or {}).get("requestId")}) + "\n")
        if os.environ.get("FIXTURE_EVENT_FAILS") == "1":  # a handler that breaks on what it is given
            respond(request_id, error={"code": -32603, "message": "event handler failed",
                                       "data": {"kind": "internal", "retryable": False}})
        else:
            respond(request_id, {})
    elif method == "fixture.echo":
        respond(request_id, {"params": message.get("params"), "meta": message.get("meta"), "version": MANIFEST["plugin"]["version"]})
    elif method == "fixture.garbage":
        protocol_out.write("{{{ garbage on stdout\n")
        protocol_out.flush()
        respond(request_id, {"survived": True})
    elif method == "fixture.huge":
        respond(request_id, {"blob": "x" * (2 * 1024 * 1024)})
    elif method == "fixture.hang":
        time.sleep(3600)  # stops reading stdin: heartbeats go unanswered
    elif method == "fixture.slow_write":
        # A change that takes its time, so a test can stop the coordinator while it is made.
        threading.Timer(30, respond, (request_id, {"written": True})).start()
    elif method == "fixture.crash":
        os._exit(3)
    elif method == "fixture.call":
        # Calls another process's method through the coordinator, for the caller.
        answer = call_coordinator("incident.list", {"limit": 1}, (message.get("meta") or {}).get("context"))
        respond(request_id, {"total": answer.get("result", {}).get("total")})
    elif method == "fixture.create_for_caller":
        # Creates an incident for whoever called; the coordinator checks their permission.
        answer = call_coordinator("incident.create", message.get("params") or {}, (message.get("meta") or {}).get("context"))
        respond(request_id, answer.get("result"), answer.get("error"))
    elif method == "fixture.create_as_itself":
        # The same, as the plugin itself: only what itsm.yaml grants it.
        answer = call_coordinator("incident.create", message.get("params") or {})
        respond(request_id, answer.get("result"), answer.get("error"))
    elif method == "fixture.undeclared":
        answer = call_coordinator("incident.update", {"number": "INC-000001", "title": "x"}, (message.get("meta") or {}).get("context"))
        respond(request_id, answer.get("result"), answer.get("error"))
    elif method == "fixture.relay":
        # Calls any method: for the caller, or with asItself as the plugin.
        params = message.get("params") or {}
        context = None if params.get("asItself") else (message.get("meta") or {}).get("context")
        answer = call_coordinator(params.get("method"), params.get("params") or {}, context)
        respond(request_id, answer.get("result"), answer.get("error"))
    elif method == "fixture.borrow":
        # Tries a context it was not given for this request: a stale or forged handle.
        answer = call_coordinator("incident.create", message.get("params") or {}, "0" * 32)
        respond(request_id, answer.get("result"), answer.get("error"))
    elif any(method == extra["name"] for extra in MANIFEST["methods"]):
        respond(request_id, {"method": method, "version": MANIFEST["plugin"]["version"]})
    elif os.environ.get("FIXTURE_CRASH_ON_UNKNOWN") == "1":
        os._exit(3)
    else:
        respond(request_id, error={"code": -32601, "message": "unknown method " + method,
                                   "data": {"kind": "protocol.method_not_found", "retryable": False}})


for line in sys.stdin:
    line = line.strip()
    if not line:
        continue
    try:
        message = json.loads(line)
    except ValueError:
        continue
    handle(message)
while STUBBORN:
    time.sleep(3600)  # end of input, and still here
