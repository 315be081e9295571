#!/usr/bin/env python3
"""Change requests: a complete custom process in Python, standard library only.

Written from docs/protocol.md alone. It shows everything a real process needs:

- its own schema (`change`), migrated at `initialize` (and by `plugin.py migrate`);
- methods with permissions: change.create, change.get, change.list, change.transition;
- events it publishes in the same transaction as the change (change.created,
  change.status_changed), through `itsm.outbox`;
- an event it subscribes to: incident.major_declared opens a draft emergency change, once per
  event even when the event is delivered twice (`itsm.inbox`);
- a call to another process through the coordinator: a change that names an incident is
  checked with incident.get.

The database is reached with `psql`, which ships with every PostgreSQL. Values never become
SQL text: each statement receives its input as one JSON document inside a dollar-quoted
literal whose random tag is checked not to occur in the document.

    plugins:
      - incident
      - name: change
        command: [python3, Examples/change-python/plugin.py]
"""
import json
import os
import secrets
import subprocess
import sys
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as AnswerTimeout

NAME = "change"
SUPPORTED_VERSIONS = [1]

# Allowed moves; anything else is refused with change.invalid_transition.
TRANSITIONS = {
    "draft": {"submitted", "cancelled"},
    "submitted": {"approved", "rejected", "cancelled"},
    "approved": {"implemented", "cancelled"},
    "implemented": {"closed"},
    "rejected": {"closed"},
    "cancelled": set(),
    "closed": set(),
}
KINDS = ("standard", "normal", "emergency")
RISKS = ("low", "medium", "high")


def params_schema(properties, required=()):
    """A method's params (docs/protocol.md, section 3.1): the coordinator refuses unknown members,
    wrong types and missing required ones, naming the member, before this plugin sees them."""
    return {"type": "object", "properties": properties, "required": list(required), "additionalProperties": False}


MANIFEST = {
    "plugin": {"name": NAME, "version": "1.0.0"},
    "schema": NAME,
    "methods": [
        # "routes": REST routes besides POST /api/v1/rpc/<method> (docs/protocol.md, section 3.1).
        {"name": "change.create", "permission": "change.write", "idempotent": False,
         "description": "Raise a change request: title, description, kind, risk, optional incident number",
         "params": params_schema({"title": {"type": "string"}, "description": {"type": "string"},
                                  "kind": {"type": "string", "enum": list(KINDS)}, "risk": {"type": "string", "enum": list(RISKS)},
                                  "incident": {"type": "string"}}, required=["title"]),
         "routes": [{"verb": "POST", "path": "changes"}]},
        {"name": "change.get", "permission": "change.read", "idempotent": True,
         "description": "One change request with its history",
         "params": params_schema({"number": {"type": "string"}}, required=["number"]),
         "routes": [{"verb": "GET", "path": "changes/{number}"}]},
        {"name": "change.list", "permission": "change.read", "idempotent": True,
         "description": "Change requests, newest first, optionally by status",
         "params": params_schema({"status": {"type": "string", "enum": list(TRANSITIONS)}, "limit": {"type": "integer"}}),
         "routes": [{"verb": "GET", "path": "changes"}]},
        {"name": "change.transition", "permission": "change.write", "idempotent": False,
         "description": "Move a change request along draft, submitted, approved, implemented, closed",
         "params": params_schema({"number": {"type": "string"}, "to": {"type": "string", "enum": list(TRANSITIONS)},
                                  "note": {"type": "string"}}, required=["number", "to"]),
         "routes": [{"verb": "POST", "path": "changes/{number}/transition"}]},
    ],
    "subscribes": ["incident.major_declared"],
    "publishes": ["change.created", "change.status_changed"],
    # A change naming an incident is checked with the incident process, for whoever creates it.
    "calls": ["incident.get"],
}


MIGRATIONS = [
    (1, "change requests and their history", """
        CREATE SCHEMA change;
        CREATE SEQUENCE change.request_number;
        CREATE TABLE change.request (
            id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
            number text NOT NULL UNIQUE DEFAULT 'CHG-' || lpad(nextval('change.request_number')::text, 6, '0'),
            title text NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
            description text NOT NULL DEFAULT '',
            kind text NOT NULL DEFAULT 'normal' CHECK (kind IN ('standard', 'normal', 'emergency')),
            risk text NOT NULL DEFAULT 'medium' CHECK (risk IN ('low', 'medium', 'high')),
            status text NOT NULL DEFAULT 'draft',
            incident text,
            requested_by text NOT NULL,
            created_at timestamptz NOT NULL DEFAULT now(),
            updated_at timestamptz NOT NULL DEFAULT now()
        );
        CREATE INDEX request_status ON change.request (status, created_at DESC);
        CREATE TABLE change.history (
            id bigserial PRIMARY KEY,
            request_id uuid NOT NULL REFERENCES change.request (id),
            at timestamptz NOT NULL DEFAULT now(),
            actor text NOT NULL,
            field text NOT NULL,
            old_value text,
            new_value text
        );
    """),
]


class PluginError(Exception):
    """Becomes a JSON-RPC error answer (docs/protocol.md §4)."""

    def __init__(self, code, kind, message, retryable=False, details=None):
        super().__init__(message)
        self.error = {"code": code, "message": message, "data": {"kind": kind, "retryable": retryable}}
        if details:
            self.error["data"]["details"] = details


def invalid(message):
    return PluginError(-32602, "protocol.invalid_params", message)


# MARK: - Database


class Database:
    def __init__(self, url):
        self.url = url

    def run(self, sql, params=None):
        """Runs `sql` in one transaction; `:params` in it is the JSON document `params`.

        Returns what the last statement printed, parsed as JSON (statements that should answer
        end with a SELECT of one JSON value)."""
        document = json.dumps(params if params is not None else {}, ensure_ascii=False)
        tag = "p" + secrets.token_hex(8)
        while tag in document:
            tag = "p" + secrets.token_hex(8)
        script = sql.replace(":params", f"${tag}${document}${tag}$::jsonb")
        completed = subprocess.run(
            ["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "--single-transaction", "-d", self.url, "-f", "-"],
            input=script.encode("utf-8"), capture_output=True, env=dict(os.environ, PGCONNECT_TIMEOUT="10"))
        if completed.returncode != 0:
            message = completed.stderr.decode("utf-8", "replace").strip().splitlines()
            reason = next((line for line in message if "ERROR" in line or "FATAL" in line), " ".join(message) or "psql failed")
            if completed.returncode == 2:  # could not connect
                raise PluginError(-32010, "database.unavailable", "the database is unavailable", retryable=True)
            log("error", "database statement failed", **{"itsm.error": reason})
            raise PluginError(-32803, "database.error", "the database refused the statement")
        lines = [line for line in completed.stdout.decode("utf-8").splitlines() if line.strip()]
        return json.loads(lines[-1]) if lines else None

    def migrate(self):
        """Applies the migrations this plugin knows, once each, under a lock."""
        self.run("""
            CREATE TABLE IF NOT EXISTS public.itsm_migrations (
                schema_name text NOT NULL, version integer NOT NULL, name text NOT NULL,
                checksum text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now(),
                PRIMARY KEY (schema_name, version));
        """)
        for version, name, sql in MIGRATIONS:
            self.run(f"""
                SELECT pg_advisory_xact_lock(hashtext('itsm_migrations:{NAME}'));
                DO $guard$ BEGIN
                    IF (SELECT max(version) FROM public.itsm_migrations WHERE schema_name = '{NAME}') > {MIGRATIONS[-1][0]} THEN
                        RAISE EXCEPTION 'the {NAME} schema is newer than this plugin';
                    END IF;
                END $guard$;
                SELECT EXISTS (SELECT FROM public.itsm_migrations
                               WHERE schema_name = '{NAME}' AND version = {version}) AS done \\gset applied_
                \\if :applied_done
                \\else
                    {sql}
                    INSERT INTO public.itsm_migrations (schema_name, version, name, checksum)
                    VALUES ('{NAME}', {version}, '{name}', md5(:params->>'sql'));
                \\endif
            """, {"sql": sql})


# MARK: - Methods


def create(db, params, actor, call):
    title = params.get("title")
    if not isinstance(title, str) or not 1 <= len(title.strip()) <= 200:
        raise invalid("title: required, 1 to 200 characters")
    if params.get("kind", "normal") not in KINDS:
        raise invalid(f"kind: one of {', '.join(KINDS)}")
    if params.get("risk", "medium") not in RISKS:
        raise invalid(f"risk: one of {', '.join(RISKS)}")
    incident = params.get("incident")
    if incident is not None:
        try:
            found = call("incident.get", {"number": incident})
        except PluginError as failure:
            if failure.error["data"]["kind"] == "incident.not_found":
                raise invalid(f"incident: {incident} does not exist")
            raise  # the incident process is disabled or down: its own clear error goes back
        incident = found["incident"]["number"]
    row = dict(params, title=title.strip(), incident=incident, actor=actor)
    return db.run("""
        WITH created AS (
            INSERT INTO change.request (title, description, kind, risk, incident, requested_by)
            SELECT p->>'title', coalesce(p->>'description', ''), coalesce(p->>'kind', 'normal'),
                   coalesce(p->>'risk', 'medium'), p->>'incident', p->>'actor'
            FROM (SELECT :params AS p) input
            RETURNING *),
        history AS (
            INSERT INTO change.history (request_id, actor, field, new_value)
            SELECT id, requested_by, 'status', status FROM created),
        event AS (
            INSERT INTO itsm.outbox (type, source, subject, payload)
            SELECT 'change.created', 'change', id::text, to_jsonb(created) FROM created)
        SELECT to_jsonb(created) FROM created;
    """, row)


def get(db, params, actor, call):
    number = params.get("number")
    if not isinstance(number, str):
        raise invalid("number: required, e.g. CHG-000001")
    found = db.run("""
        SELECT to_jsonb(r) || jsonb_build_object('history', coalesce(
            (SELECT jsonb_agg(to_jsonb(h) - 'request_id' ORDER BY h.id) FROM change.history h WHERE h.request_id = r.id),
            '[]'::jsonb))
        FROM change.request r WHERE r.number = :params->>'number';
    """, {"number": number})
    if found is None:
        raise PluginError(-32803, "change.not_found", f"no change request {number}")
    return found


def list_requests(db, params, actor, call):
    status = params.get("status")
    if status is not None and status not in TRANSITIONS:
        raise invalid(f"status: one of {', '.join(TRANSITIONS)}")
    limit = params.get("limit", 50)
    if not isinstance(limit, int) or not 1 <= limit <= 500:
        raise invalid("limit: 1 to 500")
    return {"items": db.run("""
        SELECT coalesce(jsonb_agg(to_jsonb(r) ORDER BY r.created_at DESC), '[]'::jsonb) FROM (
            SELECT * FROM change.request
            WHERE :params->>'status' IS NULL OR status = :params->>'status'
            ORDER BY created_at DESC LIMIT (:params->>'limit')::int) r;
    """, {"status": status, "limit": limit})}


def transition(db, params, actor, call):
    current = get(db, params, actor, call)
    target = params.get("to")
    if target not in TRANSITIONS:
        raise invalid(f"to: one of {', '.join(TRANSITIONS)}")
    if target not in TRANSITIONS[current["status"]]:
        allowed = ", ".join(sorted(TRANSITIONS[current["status"]])) or "none"
        raise PluginError(-32803, "change.invalid_transition",
                          f"{current['number']} is {current['status']}; it can move to: {allowed}",
                          details={"from": current["status"], "to": target})
    # Only if nobody moved it meanwhile: the status read above is part of the condition.
    updated = db.run("""
        WITH moved AS (
            UPDATE change.request SET status = :params->>'to', updated_at = now()
            WHERE number = :params->>'number' AND status = :params->>'from'
            RETURNING *),
        history AS (
            INSERT INTO change.history (request_id, actor, field, old_value, new_value)
            SELECT id, :params->>'actor', 'status', :params->>'from', status FROM moved),
        event AS (
            INSERT INTO itsm.outbox (type, source, subject, payload)
            SELECT 'change.status_changed', 'change', id::text,
                   to_jsonb(moved) || jsonb_build_object('from', :params->>'from', 'note', :params->>'note') FROM moved)
        SELECT to_jsonb(moved) FROM moved;
    """, {"number": current["number"], "from": current["status"], "to": target, "actor": actor,
          "note": params.get("note")})
    if updated is None:
        raise PluginError(-32803, "database.conflict", f"{current['number']} was changed meanwhile; read it again",
                          retryable=True)
    return updated


def on_event(db, event):
    """incident.major_declared: a draft emergency change for the incident, once per event."""
    if event.get("type") != "incident.major_declared":
        return {}
    incident = (event.get("data") or {}).get("incident") or {}
    if not incident.get("number"):
        log("warning", "incident.major_declared without an incident number; ignored", **{"itsm.event": event.get("id")})
        return {}
    db.run("""
        WITH fresh AS (
            INSERT INTO itsm.inbox (subscriber, event_id) VALUES ('change', (:params->>'id')::uuid)
            ON CONFLICT DO NOTHING RETURNING event_id),
        created AS (
            INSERT INTO change.request (title, description, kind, risk, incident, requested_by)
            SELECT 'Emergency change for ' || (:params->>'number'), coalesce(:params->>'title', ''), 'emergency', 'high',
                   :params->>'number', 'plugin:change'
            FROM fresh RETURNING *),
        history AS (
            INSERT INTO change.history (request_id, actor, field, new_value)
            SELECT id, requested_by, 'status', status FROM created),
        published AS (
            INSERT INTO itsm.outbox (type, source, subject, payload)
            SELECT 'change.created', 'change', id::text, to_jsonb(created) FROM created)
        SELECT count(*) FROM created;
    """, {"id": event.get("id"), "number": incident.get("number"), "title": incident.get("title")})
    return {}


METHODS = {"change.create": create, "change.get": get, "change.list": list_requests, "change.transition": transition}


# MARK: - Protocol


class Plugin:
    def __init__(self, out):
        self.out = out
        self.write_lock = threading.Lock()
        self.state = "awaiting_initialize"  # then initialized, ready, shutting_down
        self.max_line_bytes = 1 << 20
        self.db = None
        self.workers = ThreadPoolExecutor(max_workers=8)
        self.in_flight = set()
        self.pending = {}  # our requests to the coordinator, by id
        self.next_id = 0
        self.lock = threading.Lock()

    def send(self, message):
        data = json.dumps(message, separators=(",", ":"), ensure_ascii=False).encode("utf-8") + b"\n"
        with self.write_lock:
            self.out.write(data)
            self.out.flush()

    def call(self, method, params, timeout=30, context=None):
        """A request to the coordinator, which routes it to the process that declared `method`.
        With the `meta.context` of the request being handled, it runs for that request's caller
        and within their permissions; without one, as this plugin (itsm.yaml `grants`)."""
        future = Future()
        with self.lock:
            self.next_id += 1
            request_id = f"{NAME}-{self.next_id}"
            self.pending[request_id] = future
        request = {"jsonrpc": "2.0", "id": request_id, "method": method, "params": params}
        if context:
            request["meta"] = {"context": context}
        self.send(request)
        try:
            answer = future.result(timeout=timeout)
        except AnswerTimeout:
            self.send({"jsonrpc": "2.0", "method": "$/cancelRequest", "params": {"id": request_id}})
            raise PluginError(-32011, "protocol.timeout", f"{method} did not answer in time", retryable=True)
        finally:
            with self.lock:
                self.pending.pop(request_id, None)
        if "error" in answer:
            error = answer["error"]
            data = error.get("data") or {}
            raise PluginError(error.get("code", -32603), data.get("kind", "internal"), error.get("message", ""),
                              retryable=data.get("retryable", False))
        return answer.get("result")

    def answer(self, request_id, work):
        try:
            self.send({"jsonrpc": "2.0", "id": request_id, "result": work()})
        except PluginError as failure:
            self.send({"jsonrpc": "2.0", "id": request_id, "error": failure.error})
        except Exception as failure:  # a bug here must not take the process down
            log("error", "method failed", **{"itsm.error": repr(failure)})
            self.send({"jsonrpc": "2.0", "id": request_id,
                       "error": {"code": -32603, "message": "internal error", "data": {"kind": "internal", "retryable": False}}})
        finally:
            with self.lock:
                self.in_flight.discard(request_id)

    def initialize(self, params):
        if self.state != "awaiting_initialize":
            raise PluginError(-32600, "protocol.already_initialized", "initialize was already received")
        offered = params.get("protocolVersions", [])
        common = [version for version in offered if version in SUPPORTED_VERSIONS]
        if not common:
            raise PluginError(-32602, "protocol.unsupported_version",
                              f"no common protocol version: offered {offered}, {NAME} speaks {SUPPORTED_VERSIONS}")
        self.max_line_bytes = params.get("limits", {}).get("maxLineBytes", self.max_line_bytes)
        url = os.environ.get("ITSM_DATABASE_URL") or (params.get("database") or {}).get("url")
        if not url:
            raise PluginError(-32602, "protocol.invalid_params", "initialize: database.url is required")
        self.db = Database(url)
        self.db.migrate()
        self.state = "initialized"
        return dict(MANIFEST, protocolVersion=max(common))

    def shutdown(self):
        self.state = "shutting_down"
        while True:  # finish what was started
            with self.lock:
                if not self.in_flight:
                    return {}
            time.sleep(0.01)

    def handle(self, message):
        method = message.get("method")
        if method is None:  # an answer to one of our requests
            future = self.pending.get(message.get("id"))
            if future is not None and not future.done():
                future.set_result(message)
            return
        params = message.get("params", {})
        if "id" not in message:  # notifications
            if method == "initialized" and self.state == "initialized":
                self.state = "ready"
                log("info", "change ready")
            elif method == "exit":
                os._exit(0)
            return  # $/cancelRequest: our statements are short; the answer is ignored anyway
        request_id = message["id"]
        if method == "initialize":
            return self.answer(request_id, lambda: self.initialize(params))
        if method == "$/ping":
            return self.send({"jsonrpc": "2.0", "id": request_id, "result": {}})
        if method == "shutdown":
            return self.answer(request_id, self.shutdown)
        if self.state == "shutting_down":
            return self.answer(request_id, lambda: raise_(PluginError(
                -32015, "plugin.shutting_down", f"{NAME} is shutting down", retryable=True)))
        if self.state != "ready":
            return self.answer(request_id, lambda: raise_(PluginError(
                -32002, "protocol.not_initialized", "the handshake has not finished")))
        if method == "$/event":
            work = lambda: on_event(self.db, params)
        elif method in METHODS and not isinstance(params, dict):
            # Params by name only (§2); a list would otherwise run the method with defaults.
            work = lambda: raise_(invalid("params must be an object"))
        elif method in METHODS:
            meta = message.get("meta") or {}
            actor = meta.get("actor") or "unknown"
            # Calls made for this request carry its context: they run for its caller.
            call_for_caller = lambda m, p: self.call(m, p, context=meta.get("context"))
            work = lambda: METHODS[method](self.db, params, actor, call_for_caller)
        else:
            work = lambda: raise_(PluginError(-32601, "protocol.method_not_found", f"unknown method '{method}'"))
        with self.lock:
            self.in_flight.add(request_id)
        self.workers.submit(self.answer, request_id, work)

    def serve(self, stdin):
        while True:
            line = stdin.readline(self.max_line_bytes + 2)  # never buffer more than the limit (§1)
            if not line:
                return  # end of input: the coordinator is gone (§3)
            if not line.endswith(b"\n") and len(line) > self.max_line_bytes:
                while line and not line.endswith(b"\n"):
                    line = stdin.readline(1 << 16)
                self.send({"jsonrpc": "2.0", "id": None, "error": {
                    "code": -32012, "message": f"a line exceeds the limit of {self.max_line_bytes} bytes",
                    "data": {"kind": "protocol.message_too_large", "retryable": False}}})
                continue
            line = line.strip()
            if not line:
                continue
            try:
                message = json.loads(line)
            except ValueError:
                self.send({"jsonrpc": "2.0", "id": None, "error": {
                    "code": -32700, "message": "the line is not valid JSON",
                    "data": {"kind": "protocol.parse_error", "retryable": False}}})
                continue
            if not isinstance(message, dict) or message.get("jsonrpc") != "2.0":
                self.send({"jsonrpc": "2.0", "id": None, "error": {
                    "code": -32600, "message": "not a JSON-RPC 2.0 object",
                    "data": {"kind": "protocol.invalid_request", "retryable": False}}})
                continue
            self.handle(message)


def raise_(error):
    raise error


def log(level, message, **fields):
    record = {"ts": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "level": level, "msg": message, **fields}
    sys.stderr.write(json.dumps(record) + "\n")
    sys.stderr.flush()


def main():
    if sys.argv[1:] == ["migrate"]:  # itsm migrate (§7)
        url = os.environ.get("ITSM_DATABASE_URL")
        if not url:
            sys.exit("ITSM_DATABASE_URL is not set")
        Database(url).migrate()
        return
    # stdout carries the protocol only (§1): keep it for ourselves and send stray prints to stderr.
    protocol_out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    Plugin(protocol_out).serve(sys.stdin.buffer)
    os._exit(0)


if __name__ == "__main__":
    main()
