"""A process plugin: its manifest, its methods and event handlers, and the protocol that serves
them (docs/protocol.md): framing, the handshake, concurrent requests, cancellation, shutdown."""
import dataclasses
import json
import logging
import os
import sys
import threading
import time
import typing
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as AnswerTimeout

from . import logs
from .database import Database, Migration, MigrationError
from .errors import CANCELLED, INTERNAL, TIMED_OUT, UNAVAILABLE, PluginError, invalid
from .logs import log
from .schema import ParamsError, decode, encode, schema_of

PROTOCOL_VERSIONS = [1]
DEFAULT_MAX_LINE_BYTES = 1 << 20


@dataclasses.dataclass
class _Method:
    name: str
    function: typing.Callable
    permission: str
    idempotent: bool
    description: str
    params_type: typing.Any
    result_type: typing.Any
    routes: list

    def descriptor(self):
        descriptor = {"name": self.name, "permission": self.permission, "idempotent": self.idempotent}
        if self.description:
            descriptor["description"] = self.description
        descriptor["params"] = schema_of(self.params_type) if self.params_type is not None else \
            {"type": "object", "properties": {}, "required": [], "additionalProperties": False}
        if self.result_type is not None:
            descriptor["result"] = schema_of(self.result_type)
        if self.routes:
            descriptor["routes"] = self.routes
        return descriptor


@dataclasses.dataclass
class _Subscription:
    type: str
    function: typing.Callable
    payload_type: typing.Any


class Plugin:
    """A process plugin. Declare what it does, then `run()` it:

        plugin = Plugin("change", version="1.0.0", migrations=MIGRATIONS, calls=["incident.get"])

        @plugin.method("change.get", permission="change.read", idempotent=True)
        def get(request: Request, params: GetParams) -> ChangeRequest: ...

        if __name__ == "__main__":
            plugin.run()
    """

    def __init__(self, name, version, schema=None, migrations=(), calls=(), permissions=(), max_concurrent_requests=8):
        self.name = name
        self.version = version
        self.schema = schema if schema is not None else (name if migrations else None)
        self.migrations = list(migrations)
        self.calls = list(calls)
        self.permissions = list(permissions)
        self.max_concurrent_requests = max_concurrent_requests
        self.methods = {}
        self.subscriptions = {}
        self.published = {}

    # MARK: - Declaring

    def method(self, name, permission, idempotent=False, description=None, params=None, result=None, routes=()):
        """Declares `name`, answered by the decorated function `(request, params)`. Its params
        and result types come from the function's annotations (a dataclass each), or from
        `params=` and `result=`; the description from its docstring."""
        def register(function):
            hints = typing.get_type_hints(function, include_extras=True)
            arguments = [argument for argument in function.__code__.co_varnames[:function.__code__.co_argcount]]
            params_type = params if params is not None else (hints.get(arguments[1]) if len(arguments) > 1 else None)
            result_type = result if result is not None else hints.get("return")
            if result_type in (dict, type(None), typing.Any):
                result_type = None
            text = description or " ".join((function.__doc__ or "").split())
            if name in self.methods:
                raise ValueError(f"{name} is declared twice")
            self.methods[name] = _Method(name, function, permission, idempotent, text, params_type, result_type, list(routes))
            return function
        return register

    def subscribe(self, type, payload=None):
        """Handles events of `type` with the decorated function `(event, transaction)`. The
        transaction has recorded the event as handled: it runs once per event even when the
        event is delivered twice, and the handling and the record commit together."""
        def register(function):
            self.subscriptions[type] = _Subscription(type, function, payload)
            return function
        return register

    def publishes(self, type, payload, description=""):
        """Declares an event this plugin publishes, with its payload type (a dataclass) and when
        it is published; `transaction.publish(type, payload, subject)` writes one."""
        self.published[type] = (payload, description)

    def manifest(self):
        manifest = {"plugin": {"name": self.name, "version": self.version},
                    "methods": [method.descriptor() for method in self.methods.values()],
                    "subscribes": list(self.subscriptions), "publishes": list(self.published),
                    "calls": self.calls, "limits": {"maxConcurrentRequests": self.max_concurrent_requests}}
        if self.schema:
            manifest["schema"] = self.schema
        if self.published:
            manifest["eventSchemas"] = {type: dict(schema_of(payload), **({"description": text} if text else {}))
                                        for type, (payload, text) in self.published.items()}
        if self.permissions:
            manifest["permissions"] = self.permissions
        return manifest

    # MARK: - Running

    def run(self, argv=None):
        """Serves the protocol on stdin and stdout until the coordinator says exit or goes away;
        `plugin migrate` (what `itsm migrate` runs) applies the migrations and exits."""
        logs.configure()
        argv = sys.argv[1:] if argv is None else argv
        if argv == ["migrate"]:
            url = os.environ.get("ITSM_DATABASE_URL")
            if not url:
                sys.exit("ITSM_DATABASE_URL is not set")
            try:
                if self.schema:
                    Database(url, self.name).migrate(self.schema, self.migrations)
            except MigrationError as error:
                sys.exit(str(error))
            return
        # stdout carries the protocol only (section 1): keep it for ourselves, and send what
        # anything else prints there to stderr.
        protocol_out = os.fdopen(os.dup(1), "wb")
        os.dup2(2, 1)
        _Session(self, protocol_out).serve(sys.stdin.buffer)
        os._exit(0)


class Request:
    """The request a method is handling: who it is for, and what it may do on their behalf."""

    def __init__(self, session, request_id, method, meta):
        self._session = session
        self.id = request_id
        self.method = method
        self.meta = meta
        self.actor = meta.get("actor") or "unknown"
        self.principal = meta.get("principal") or {}
        self.request_id = meta.get("requestId")
        self.idempotency_key = meta.get("idempotencyKey")
        self.cancelled = threading.Event()
        self.finished = threading.Event()
        self.connection = None  # the database connection of its transaction, to cancel its statement

    @property
    def config(self):
        """The plugin's `config:` section from itsm.yaml."""
        return self._session.config

    def holds(self, permission):
        """Whether the caller holds `permission`, one this plugin names (meta.principal.holds)."""
        return permission in (self.principal.get("holds") or [])

    def call(self, method, params=None, timeout=None):
        """Calls another process's method for this request's caller, within their permissions."""
        if self.cancelled.is_set():
            raise PluginError(CANCELLED, "request.cancelled", "the request was cancelled")
        return self._session.call(method, params or {}, timeout, context=self.meta.get("context"), request_id=self.request_id)

    def call_as_plugin(self, method, params=None, timeout=None):
        """Calls as the plugin itself, within what itsm.yaml grants it (not the caller's rights)."""
        return self._session.call(method, params or {}, timeout, request_id=self.request_id)

    def transaction(self):
        """A transaction on the shared database; events it publishes carry this request's id,
        and a `$/cancelRequest` cancels the statement running in it."""
        def track(connection):
            self.connection = connection
        return self._session.database().transaction(self.request_id, track, self.cancelled)

    def cancel(self):
        """Stops the work: statements not started yet are refused, and the running one is
        cancelled, again every 100 ms until the request ends (a cancel that reaches the server
        just before its statement does is lost)."""
        self.cancelled.set()

        def keep_cancelling():
            while not self.finished.is_set():
                connection = self.connection
                if connection is not None:
                    _cancel(connection)
                self.finished.wait(0.1)
        threading.Thread(target=keep_cancelling, daemon=True).start()


class Event:
    """An event delivered to a subscriber (docs/protocol.md, section 5)."""

    def __init__(self, session, params, data):
        self._session = session
        self.id = params.get("id")
        self.sequence = params.get("sequence")
        self.type = params.get("type")
        self.source = params.get("source")
        self.subject = params.get("subject")
        self.occurred_at = params.get("occurredAt")
        self.request_id = params.get("requestId")
        self.data = data

    def call(self, method, params=None, timeout=None):
        """Calls another process's method as this plugin (events have no caller)."""
        return self._session.call(method, params or {}, timeout, request_id=self.request_id)


def _cancel(connection):
    try:
        (getattr(connection, "cancel_safe", None) or connection.cancel)()
    except Exception as error:  # the statement may have just finished
        log("debug", "cancelling a statement failed", **{"itsm.error": repr(error)})


class _Session:
    """One connection to the coordinator: stdin and stdout, or a TCP link through `itsm agent`."""

    def __init__(self, plugin, out):
        self.plugin = plugin
        self.out = out
        self.write_lock = threading.Lock()
        self.lock = threading.Lock()
        self.state = "awaiting_initialize"  # then initialized, ready, shutting_down
        self.max_line_bytes = DEFAULT_MAX_LINE_BYTES
        self.request_timeout = 30.0
        self.config = {}
        self._database = None
        self.workers = ThreadPoolExecutor(max_workers=plugin.max_concurrent_requests, thread_name_prefix=plugin.name)
        self.in_flight = {}  # coordinator's request id -> Request (or None for events)
        self.idle = threading.Condition(self.lock)
        self.pending = {}  # our calls to the coordinator, by id
        self.next_id = 0
        self.figures = {}  # (family, label value, outcome) -> count or seconds, for $/metrics

    def database(self):
        if self._database is None:
            raise PluginError(INTERNAL, "internal", "this plugin has no database")
        return self._database

    # MARK: - Writing

    def send(self, message):
        data = json.dumps(message, separators=(",", ":"), ensure_ascii=False).encode("utf-8") + b"\n"
        if len(data) - 1 > self.max_line_bytes and "id" in message and ("result" in message or "error" in message):
            log("error", "an answer exceeds the line limit", **{"itsm.bytes": len(data) - 1})
            message = {"jsonrpc": "2.0", "id": message["id"], "error": PluginError(
                -32012, "protocol.message_too_large", f"the answer exceeds the limit of {self.max_line_bytes} bytes").to_error()}
            data = json.dumps(message, separators=(",", ":")).encode("utf-8") + b"\n"
        with self.write_lock:
            try:
                self.out.write(data)
                self.out.flush()
            except (BrokenPipeError, OSError):
                os._exit(0)  # the coordinator is gone (section 3)

    def error(self, request_id, error):
        self.send({"jsonrpc": "2.0", "id": request_id, "error": error.to_error()})

    # MARK: - Calls to the coordinator

    def call(self, method, params, timeout=None, context=None, request_id=None):
        """A request the coordinator routes to the process that declared `method` (it must be in
        the manifest's `calls`). Raises PluginError with the callee's error."""
        future = Future()
        with self.lock:
            self.next_id += 1
            call_id = f"{self.plugin.name}-{self.next_id}"
            self.pending[call_id] = future
        request = {"jsonrpc": "2.0", "id": call_id, "method": method, "params": encode(params)}
        meta = {name: value for name, value in (("context", context), ("requestId", request_id)) if value}
        if meta:
            request["meta"] = meta
        self.send(request)
        try:
            answer = future.result(timeout=timeout or self.request_timeout)
        except AnswerTimeout:
            self.send({"jsonrpc": "2.0", "method": "$/cancelRequest", "params": {"id": call_id}})
            raise PluginError(TIMED_OUT, "protocol.timeout", f"{method} did not answer in time", retryable=True) from None
        finally:
            with self.lock:
                self.pending.pop(call_id, None)
        if "error" in answer:
            raise PluginError.from_error(answer["error"] or {})
        return answer.get("result")

    # MARK: - Requests from the coordinator

    def initialize(self, params):
        try:
            manifest = self.initialize_once(params)
        except BaseException:
            self.state = "awaiting_initialize"
            raise
        self.state = "initialized"
        return manifest

    def initialize_once(self, params):
        offered = params.get("protocolVersions") or []
        common = [version for version in offered if version in PROTOCOL_VERSIONS]
        if not common:
            raise PluginError(-32602, "protocol.unsupported_version",
                              f"no common protocol version: offered {offered}, {self.plugin.name} speaks {PROTOCOL_VERSIONS}")
        limits = params.get("limits") or {}
        self.max_line_bytes = limits.get("maxLineBytes") or self.max_line_bytes
        self.request_timeout = (limits.get("requestTimeoutMs") or 30000) / 1000
        self.config = params.get("config") or {}
        url = os.environ.get("ITSM_DATABASE_URL") or (params.get("database") or {}).get("url")
        if url:
            self._database = Database(url, self.plugin.name, size=self.plugin.max_concurrent_requests)
        if self.plugin.schema:
            if not url:
                raise invalid("initialize: database.url is required (or ITSM_DATABASE_URL)")
            try:
                self._database.migrate(self.plugin.schema, self.plugin.migrations)
            except MigrationError as error:
                log("error", "migrating failed", **{"itsm.error": str(error)})
                raise PluginError(UNAVAILABLE, "plugin.migration_failed", str(error)) from None
        return dict(self.plugin.manifest(), protocolVersion=max(common))

    def handle_request(self, message):
        request_id, method = message["id"], message["method"]
        params = message.get("params", {})
        meta = message.get("meta") if isinstance(message.get("meta"), dict) else {}
        if method == "$/ping":
            return self.send({"jsonrpc": "2.0", "id": request_id, "result": {}})
        if method == "$/metrics":
            return self.send({"jsonrpc": "2.0", "id": request_id, "result": self.metrics()})
        if method == "initialize":
            if self.state != "awaiting_initialize":
                return self.error(request_id, PluginError(-32600, "protocol.already_initialized", "initialize was already received"))
            # Migrating can take a while: answer pings meanwhile.
            self.state = "initializing"
            return self.workers.submit(self.answer, request_id, lambda: self.initialize(params if isinstance(params, dict) else {}))
        if method == "shutdown":
            # Its own thread: it waits for the work in flight, which may fill every worker.
            with self.lock:
                self.in_flight[request_id] = None
            return threading.Thread(target=self.answer, args=(request_id, self.shutdown), daemon=True).start()
        if self.state == "shutting_down":
            return self.error(request_id, PluginError(-32015, "plugin.shutting_down", f"{self.plugin.name} is shutting down", retryable=True))
        if self.state != "ready":
            return self.error(request_id, PluginError(-32002, "protocol.not_initialized", "the handshake has not finished"))
        if method == "$/event":
            event = params if isinstance(params, dict) else {}
            return self.submit(request_id, None, lambda: self.counted("event", str(event.get("type")), lambda: self.deliver(event, meta)))
        handler = self.plugin.methods.get(method)
        if handler is None:
            return self.error(request_id, PluginError(-32601, "protocol.method_not_found", f"unknown method '{method}'"))
        request = Request(self, request_id, method, meta)
        self.submit(request_id, request, lambda: self.counted("method", method, lambda: self.run_method(handler, request, params)))

    # MARK: - Figures ($/metrics)

    def counted(self, family, name, work):
        """Runs `work`, counting it by name and outcome (`ok` or the error's kind) for $/metrics."""
        started = time.monotonic()
        outcome = "ok"
        try:
            return work()
        except PluginError as error:
            outcome = error.kind
            raise
        except Exception:
            outcome = "error"
            raise
        finally:
            with self.lock:
                self.figures[(family, name, outcome)] = self.figures.get((family, name, outcome), 0) + 1
                if family == "method":
                    self.figures[("seconds", name, "")] = self.figures.get(("seconds", name, ""), 0) + time.monotonic() - started

    def metrics(self):
        with self.lock:
            figures = sorted(self.figures.items())

        def samples(family, label):
            return [{"labels": {label: name, "outcome": outcome}, "value": value}
                    for (kind, name, outcome), value in figures if kind == family]
        return {"metrics": [
            {"name": "itsm_plugin_requests_total", "help": "Requests the plugin answered, by method and outcome", "type": "counter",
             "samples": samples("method", "method")},
            {"name": "itsm_plugin_request_seconds_total", "help": "Time spent answering requests, by method", "type": "counter",
             "samples": [{"labels": {"method": name}, "value": value} for (kind, name, _), value in figures if kind == "seconds"]},
            {"name": "itsm_plugin_events_total", "help": "Events the plugin handled, by type and outcome", "type": "counter",
             "samples": samples("event", "type")},
        ]}

    def submit(self, request_id, request, work):
        with self.lock:
            if len(self.in_flight) >= self.plugin.max_concurrent_requests:
                busy = True
            else:
                busy = False
                self.in_flight[request_id] = request
        if busy:
            return self.error(request_id, PluginError(UNAVAILABLE, "peer.busy",
                                                      f"{self.plugin.name} is handling {self.plugin.max_concurrent_requests} requests", retryable=True))
        self.workers.submit(self.answer, request_id, work)

    def answer(self, request_id, work):
        try:
            self.send({"jsonrpc": "2.0", "id": request_id, "result": encode(work())})
        except PluginError as failure:
            self.error(request_id, failure)
        except Exception:  # a bug in a handler must not take the process down
            logging.getLogger("itsm_plugin").exception("method failed")
            self.error(request_id, PluginError(INTERNAL, "internal", "internal error; see the plugin's log"))
        finally:
            logs.current.request_id = None
            with self.lock:
                self.in_flight.pop(request_id, None)
                self.idle.notify_all()

    def run_method(self, handler, request, params):
        logs.current.request_id = request.request_id
        if not isinstance(params, dict):
            raise invalid("params: expected an object; params are given by name")
        try:
            typed = decode(handler.params_type, params) if handler.params_type is not None else None
        except ParamsError as error:
            raise invalid(str(error)) from None
        if typed is None and handler.params_type is None and params:
            raise invalid(f"params.{sorted(params)[0]}: unknown member; this method takes no params")
        try:
            result = handler.function(request, typed)
        finally:
            request.finished.set()
        return {} if result is None else result

    def deliver(self, params, meta):
        logs.current.request_id = params.get("requestId") or meta.get("requestId")
        subscription = self.plugin.subscriptions.get(params.get("type"))
        if subscription is None:
            return {}  # not ours: nothing to do, and nothing to retry
        data = params.get("data") if isinstance(params.get("data"), dict) else {}
        if subscription.payload_type is not None:
            try:
                data = decode(subscription.payload_type, data, "data", ignore_unknown=True)
            except ParamsError as error:
                # It will not get better by delivering it again: say so, and acknowledge.
                log("warning", "an event's payload does not match its type; ignored",
                    **{"itsm.event": params.get("id"), "itsm.error": str(error)})
                return {}
        event = Event(self, params, data)
        with self.database().transaction(event.request_id) as transaction:
            if transaction.first_delivery(self.plugin.name, event.id):
                subscription.function(event, transaction)
        return {}

    def shutdown(self):
        self.state = "shutting_down"
        with self.lock:  # finish what was started; this request is the one left
            self.idle.wait_for(lambda: len(self.in_flight) <= 1)
        return {}

    def cancel(self, params):
        with self.lock:
            request = self.in_flight.get(params.get("id")) if isinstance(params, dict) else None
        if request is not None and not request.cancelled.is_set():
            request.cancel()

    # MARK: - Reading

    def handle(self, message):
        method = message.get("method")
        if method is None:  # an answer to one of our calls
            future = self.pending.get(message.get("id"))
            if future is not None and not future.done():
                future.set_result(message)
            return
        if "id" not in message:  # notifications
            if method == "initialized" and self.state == "initialized":
                self.state = "ready"
                log("info", f"{self.plugin.name} ready", **{"itsm.version": self.plugin.version})
            elif method == "exit":
                os._exit(0)
            elif method == "$/cancelRequest":
                self.cancel(message.get("params"))
            return
        if not isinstance(method, str):
            return self.error(message["id"], PluginError(-32600, "protocol.invalid_request", "method must be a string"))
        self.handle_request(message)

    def serve(self, stdin):
        while True:
            line = stdin.readline(self.max_line_bytes + 2)  # never buffer more than the limit (section 1)
            if not line:
                return  # end of input: the coordinator is gone (section 3)
            if not line.endswith(b"\n") and len(line) > self.max_line_bytes:
                while line and not line.endswith(b"\n"):
                    line = stdin.readline(1 << 16)
                self.send({"jsonrpc": "2.0", "id": None, "error": PluginError(
                    -32012, "protocol.message_too_large", f"a line exceeds the limit of {self.max_line_bytes} bytes").to_error()})
                continue
            line = line.strip()
            if not line:
                continue
            try:
                message = json.loads(line)
            except ValueError:
                self.send({"jsonrpc": "2.0", "id": None, "error": PluginError(
                    -32700, "protocol.parse_error", "the line is not valid JSON").to_error()})
                continue
            if not isinstance(message, dict) or message.get("jsonrpc") != "2.0":
                self.send({"jsonrpc": "2.0", "id": None, "error": PluginError(
                    -32600, "protocol.invalid_request", "not a JSON-RPC 2.0 object; batches are not used").to_error()})
                continue
            self.handle(message)


__all__ = ["Plugin", "Request", "Event", "Migration"]
