"""The SDK over a real pipe and a real PostgreSQL database (ITSM_TEST_DATABASE_URL, with the
coordinator's `itsm` schema migrated, as the toolkit's own test suite provides): concurrency,
cancellation, the concurrency limit, shutdown, events once, calls for the caller, migrations."""
import json
import os
import queue
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import uuid

import psycopg

from itsm_plugin import Migration, MigrationError
from itsm_plugin.database import Database

DATABASE = os.environ.get("ITSM_TEST_DATABASE_URL")
FIXTURE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "fixture_plugin.py")
# Seconds. Far more than any answer here needs on a busy machine (CI once took over 20), far
# less than the slow statements the cancellation tests stop.
ANSWER_WAIT = 60
SLOW = 300


class RunningPlugin:
    """The fixture plugin as the coordinator sees it: lines in, lines out."""

    def __init__(self):
        self.log = tempfile.TemporaryFile()
        self.process = subprocess.Popen([sys.executable, FIXTURE], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        stderr=self.log, env=dict(os.environ, ITSM_DATABASE_URL=DATABASE))
        self.messages = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.process.stdout:
            self.messages.put(json.loads(line))

    def send(self, message):
        self.process.stdin.write(json.dumps(dict(message, jsonrpc="2.0")).encode() + b"\n")
        self.process.stdin.flush()

    def next(self):
        try:
            return self.messages.get(timeout=ANSWER_WAIT)
        except queue.Empty:
            self.log.seek(0)
            raise AssertionError(f"no message from the plugin in {ANSWER_WAIT} s; its log:\n"
                                 + self.log.read()[-4000:].decode(errors="replace")) from None

    def request(self, request_id, method, params=None, meta=None):
        message = {"id": request_id, "method": method, "params": params or {}}
        if meta:
            message["meta"] = meta
        self.send(message)

    def start(self):
        self.request("init", "initialize", {"protocolVersions": [1], "limits": {"maxLineBytes": 1 << 20, "requestTimeoutMs": 30000}})
        manifest = self.next()["result"]
        self.send({"method": "initialized"})
        return manifest

    def close(self):
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        self.process.stdin.close()
        self.process.stdout.close()
        self.log.close()


@unittest.skipUnless(DATABASE, "ITSM_TEST_DATABASE_URL is not set (swift test sets it)")
class ProtocolTests(unittest.TestCase):
    def setUp(self):
        self.plugin = RunningPlugin()
        self.addCleanup(self.plugin.close)
        self.manifest = self.plugin.start()

    def test_the_manifest_says_what_the_declarations_say(self):
        methods = {method["name"]: method for method in self.manifest["methods"]}
        self.assertEqual(sorted(methods), ["fixture.ask", "fixture.note", "fixture.sleep"])
        self.assertEqual(methods["fixture.sleep"]["params"]["properties"], {"seconds": {"type": "number"}})
        self.assertEqual(self.manifest["limits"], {"maxConcurrentRequests": 2})
        self.assertEqual(self.manifest["eventSchemas"]["fixture.noted"]["description"], "When a note is made")
        self.assertEqual(self.manifest["subscribes"], ["fixture.noted"])

    def test_a_ping_is_answered_while_a_slow_request_runs(self):
        self.plugin.request("slow", "fixture.sleep", {"seconds": 2})
        self.plugin.request("ping", "$/ping")
        self.assertEqual(self.plugin.next(), {"jsonrpc": "2.0", "id": "ping", "result": {}})
        self.assertEqual(self.plugin.next()["id"], "slow")

    def test_a_cancelled_request_stops_its_statement_and_answers_cancelled(self):
        self.plugin.request("slow", "fixture.sleep", {"seconds": SLOW})
        self.plugin.request("ping", "$/ping")  # answered once the request is under way
        self.assertEqual(self.plugin.next()["id"], "ping")
        self.plugin.send({"method": "$/cancelRequest", "params": {"id": "slow"}})
        answer = self.plugin.next()
        self.assertEqual((answer["id"], answer["error"]["code"]), ("slow", -32800), answer)

    def test_a_request_beyond_the_announced_limit_is_refused_at_once(self):
        self.plugin.request("a", "fixture.sleep", {"seconds": SLOW})
        self.plugin.request("b", "fixture.sleep", {"seconds": SLOW})
        self.plugin.request("c", "fixture.sleep", {"seconds": SLOW})
        answer = self.plugin.next()
        self.assertEqual((answer["id"], answer["error"]["data"]["kind"], answer["error"]["data"]["retryable"]), ("c", "peer.busy", True))
        for request_id in ("a", "b"):
            self.plugin.send({"method": "$/cancelRequest", "params": {"id": request_id}})
        self.assertEqual(sorted(self.plugin.next()["id"] for _ in range(2)), ["a", "b"])

    def test_shutdown_finishes_the_work_in_flight_then_refuses_and_exits(self):
        self.plugin.request("slow", "fixture.sleep", {"seconds": 1})
        self.plugin.request("ping", "$/ping")
        self.assertEqual(self.plugin.next()["id"], "ping")
        self.plugin.request("bye", "shutdown")
        self.assertEqual(self.plugin.next(), {"jsonrpc": "2.0", "id": "slow", "result": {"slept": 1.0}})
        self.assertEqual(self.plugin.next(), {"jsonrpc": "2.0", "id": "bye", "result": {}})
        self.plugin.request("late", "fixture.sleep", {"seconds": 0})
        self.assertEqual(self.plugin.next()["error"]["code"], -32015)
        self.plugin.send({"method": "exit"})
        self.assertEqual(self.plugin.process.wait(timeout=ANSWER_WAIT), 0)

    def test_an_event_is_published_with_its_request_id_and_handled_once_when_delivered_twice(self):
        request_id = uuid.uuid4().hex
        self.plugin.request("note", "fixture.note", {"text": "hello"}, meta={"actor": "token:admin", "requestId": request_id})
        event_id = self.plugin.next()["result"]["event"]
        with psycopg.connect(DATABASE) as connection:
            row = connection.execute("SELECT type, source, subject, payload, request_id FROM itsm.outbox WHERE event_id = %s",
                                     (event_id,)).fetchone()
        self.assertEqual(row, ("fixture.noted", "fixture", "note", {"text": "hello"}, request_id))
        event = {"id": event_id, "sequence": 1, "type": "fixture.noted", "source": "fixture", "subject": "note",
                 "occurredAt": "2026-11-30T09:00:00.000Z", "data": {"text": "hello", "addedLater": 1}}
        for attempt in ("first", "again"):
            self.plugin.request(attempt, "$/event", event)
            self.assertEqual(self.plugin.next(), {"jsonrpc": "2.0", "id": attempt, "result": {}})
        with psycopg.connect(DATABASE) as connection:
            handled = connection.execute("SELECT text FROM fixture.handled WHERE event_id = %s", (event_id,)).fetchall()
        self.assertEqual(handled, [("hello",)])

    def test_a_call_made_for_a_request_carries_its_context_and_brings_back_the_callees_error(self):
        self.plugin.request("ask", "fixture.ask", {"number": "INC-000042"}, meta={"actor": "user:ada", "context": "handle-1", "requestId": "r-1"})
        call = self.plugin.next()
        self.assertEqual((call["method"], call["params"], call["meta"]), ("incident.get", {"number": "INC-000042"}, {"context": "handle-1", "requestId": "r-1"}))
        self.plugin.send({"id": call["id"], "error": {"code": -32803, "message": "no incident INC-000042",
                                                      "data": {"kind": "incident.not_found", "retryable": False}}})
        answer = self.plugin.next()
        self.assertEqual((answer["id"], answer["error"]["data"]["kind"]), ("ask", "incident.not_found"))

    def test_its_figures_count_requests_by_method_and_outcome(self):
        self.plugin.request("fast", "fixture.sleep", {"seconds": 0})
        self.assertEqual(self.plugin.next()["id"], "fast")
        self.plugin.request("bad", "fixture.sleep", {"seconds": "long"})
        self.assertEqual(self.plugin.next()["id"], "bad")
        self.plugin.request("figures", "$/metrics")
        families = {family["name"]: family for family in self.plugin.next()["result"]["metrics"]}
        counted = {(sample["labels"]["method"], sample["labels"]["outcome"]): sample["value"]
                   for sample in families["itsm_plugin_requests_total"]["samples"]}
        self.assertEqual(counted, {("fixture.sleep", "ok"): 1, ("fixture.sleep", "protocol.invalid_params"): 1})
        self.assertEqual(families["itsm_plugin_requests_total"]["type"], "counter")

    def test_params_are_checked_against_the_declared_types(self):
        self.plugin.request("bad", "fixture.sleep", {"seconds": "long"})
        self.assertEqual(self.plugin.next()["error"]["message"], "params.seconds: expected a number")


@unittest.skipUnless(DATABASE, "ITSM_TEST_DATABASE_URL is not set (swift test sets it)")
class MigrationTests(unittest.TestCase):
    def test_migrations_apply_once_and_an_edited_or_unknown_one_is_refused(self):
        schema = "sdk_" + uuid.uuid4().hex[:8]
        first = Migration(1, "a table", f"CREATE SCHEMA {schema}; CREATE TABLE {schema}.thing (id int);")
        second = Migration(2, "a column", f"ALTER TABLE {schema}.thing ADD COLUMN name text;")
        database = Database(DATABASE, schema)
        self.assertEqual(database.migrate(schema, [first]), [1])
        self.assertEqual(database.migrate(schema, [first, second]), [2])
        self.assertEqual(database.migrate(schema, [first, second]), [])
        edited = Migration(2, "a column", f"ALTER TABLE {schema}.thing ADD COLUMN label text;")
        with self.assertRaisesRegex(MigrationError, "differs from the one applied"):
            database.migrate(schema, [first, edited])
        with self.assertRaisesRegex(MigrationError, "at version 2 but this plugin knows only up to 1"):
            database.migrate(schema, [first])

    def test_a_database_that_refuses_for_good_is_named_at_once_and_one_not_up_yet_is_waited_for(self):
        started = time.monotonic()
        with self.assertRaisesRegex(MigrationError, 'database "itsm_no_such_database" does not exist'):
            Database(DATABASE + " dbname=itsm_no_such_database", "sdk").migrate("sdk", [], lock_timeout=30)
        self.assertLess(time.monotonic() - started, 30, "a missing database was waited for as if it could appear")
        started = time.monotonic()
        with self.assertRaisesRegex(MigrationError, "Is the server running"):
            Database("host=/nonexistent-itsm-socket-dir port=5432 dbname=itsm", "sdk").migrate("sdk", [], lock_timeout=1.5)
        self.assertGreaterEqual(time.monotonic() - started, 1.5, "an unreachable server was given up on before the deadline")


if __name__ == "__main__":
    unittest.main()
