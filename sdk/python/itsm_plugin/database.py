"""The shared PostgreSQL database: connections, transactions, migrations, the outbox and inbox.

Statements take their values as parameters (`%(name)s` or `%s`, psycopg's placeholders), never
as SQL text. Rows come back as dicts.
"""
import logging
import queue
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass

import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from .errors import CANCELLED, PluginError, UNAVAILABLE, invalid, business
from .schema import encode

_log = logging.getLogger("itsm_plugin")

# pg_try_advisory_lock(int, int): "ITSM" in ASCII, the lock every migrator of the database
# takes (the coordinator's and the Swift kit's too), since creating the shared ledger
# concurrently is not safe.
MIGRATION_LOCK = (0x4954534D, 0)


def fingerprint(sql):
    """The checksum recorded for a migration: 64-bit FNV-1a of its UTF-8 text, in hex, as the
    Swift kit records it, so a migration edited after it was applied is noticed."""
    value = 0xCBF29CE484222325
    for byte in sql.encode("utf-8"):
        value = ((value ^ byte) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return format(value, "x")


@dataclass(frozen=True)
class Migration:
    """One step of the plugin's schema, applied once, in version order, never edited after."""
    version: int
    name: str
    sql: str


class MigrationError(Exception):
    pass


def _is_transient(error):
    state = getattr(error, "sqlstate", None) or ""
    return isinstance(error, psycopg.OperationalError) and (not state or state.startswith(("08", "57P", "53")))


# What a server says when it cannot take a connection yet; any other FATAL (a wrong password, a
# missing database) will not pass by waiting. A failure without FATAL is the network's.
_PASSING_FAILURES = ("too many clients", "connection slots", "starting up", "shutting down", "in recovery")


def _may_pass(connection_failure):
    return "FATAL" not in connection_failure or any(words in connection_failure for words in _PASSING_FAILURES)


def refusal(error):
    """A database failure as callers see it (docs/protocol.md, section 4): retryable when the
    database is unreachable; a value it refuses as invalid params naming the column; a duplicate
    key as `database.conflict`; anything else an internal error. SQLSTATEs, constraint names and
    the server's message (it can quote data) go to the log only."""
    state = getattr(error, "sqlstate", None) or ""
    if state == "57014":
        return PluginError(CANCELLED, "request.cancelled", "the request was cancelled")
    _log.error("database error", extra={"itsm.error": f"{state} {error}".strip()})
    if _is_transient(error):
        return PluginError(UNAVAILABLE, "database.unavailable", "the database is unavailable; try again", retryable=True)
    diagnostic = getattr(error, "diag", None)
    column = getattr(diagnostic, "column_name", None) if diagnostic else None
    field = f"{column}: " if column else ""
    reasons = {"22001": "a value is too long", "22003": "a number is out of range", "22007": "a date or time is out of range",
               "22008": "a date or time is out of range", "22021": "text holds a character the database cannot store",
               "54000": "a value is too large to store"}
    if state in reasons:
        return invalid(field + reasons[state])
    if state.startswith("22"):
        return invalid(field + "a value is not valid")
    if state == "23505":
        return business("database.conflict", field + "a record with the same key already exists")
    if state.startswith("23"):
        return invalid(field + "a value breaks a rule of the record")
    return PluginError(-32603, "database.error", "the database refused the request; see the plugin's log")


class Transaction:
    """One transaction on one connection; commits when its `with` block ends without an error."""

    def __init__(self, connection, source, request_id, cancelled=None):
        self.connection = connection
        self.source = source
        self.request_id = request_id
        self.cancelled = cancelled

    def execute(self, sql, params=None):
        """Runs a statement and returns its cursor (rows as dicts)."""
        if self.cancelled is not None and self.cancelled.is_set():
            raise PluginError(CANCELLED, "request.cancelled", "the request was cancelled")
        return self.connection.execute(sql, _adapt(params))

    def one(self, sql, params=None):
        """The first row of a statement, or None."""
        return self.execute(sql, params).fetchone()

    def all(self, sql, params=None):
        return self.execute(sql, params).fetchall()

    def value(self, sql, params=None):
        """The first column of the first row, or None."""
        row = self.one(sql, params)
        return None if row is None else next(iter(row.values()))

    def publish(self, type, payload, subject=None):
        """Writes an event to `itsm.outbox`: it is delivered to subscribers once this transaction
        commits, and never if it does not. Carries the id of the request being handled."""
        return self.value("""
            INSERT INTO itsm.outbox (type, source, subject, payload, request_id)
            VALUES (%s, %s, %s, %s, %s) RETURNING event_id""",
            (type, self.source, None if subject is None else str(subject), Jsonb(encode(payload)), self.request_id))

    def first_delivery(self, subscriber, event_id):
        """Records that `subscriber` handled the event; False when it already had, so a
        redelivered event changes nothing. Commits or rolls back with the handling."""
        return self.one("""
            INSERT INTO itsm.inbox (subscriber, event_id) VALUES (%s, %s)
            ON CONFLICT DO NOTHING RETURNING event_id""", (subscriber, event_id)) is not None


def _adapt(params):
    """dicts and lists as jsonb; dataclasses, datetimes and UUIDs through `encode`."""
    if params is None:
        return None

    def one(value):
        if isinstance(value, (dict, list)):
            return Jsonb(encode(value))
        return value

    if isinstance(params, dict):
        return {name: one(value) for name, value in params.items()}
    return [one(value) for value in params]


class Database:
    """A small pool of connections to the shared database, one per request handled at once."""

    def __init__(self, url, source, size=8, application_name=None):
        self.url = url
        self.source = source
        self.size = size
        self.application_name = application_name or f"itsm-{source}"
        self._idle = queue.LifoQueue()
        self._opened = 0
        self._lock = threading.Lock()

    def _connect(self):
        try:
            return psycopg.connect(self.url, row_factory=dict_row, autocommit=False, connect_timeout=10,
                                   application_name=self.application_name)
        except psycopg.Error as error:
            raise refusal(error) from None

    def _checkout(self):
        try:
            return self._idle.get_nowait()
        except queue.Empty:
            pass
        with self._lock:
            if self._opened < self.size:
                self._opened += 1
                try:
                    return self._connect()
                except BaseException:
                    self._opened -= 1
                    raise
        return self._idle.get()

    def _checkin(self, connection):
        if connection.closed or connection.broken:
            with self._lock:
                self._opened -= 1
            return
        self._idle.put(connection)

    @contextmanager
    def transaction(self, request_id=None, on_connection=None, cancelled=None):
        """A transaction; `on_connection(connection or None)` tells the caller which connection
        runs it (to cancel its statement), and None once it is done; once `cancelled` (an Event)
        is set, no statement starts in it."""
        connection = self._checkout()
        if on_connection:
            on_connection(connection)
        try:
            with connection.transaction():
                yield Transaction(connection, self.source, request_id, cancelled)
        except psycopg.Error as error:
            raise refusal(error) from None
        finally:
            if on_connection:
                on_connection(None)
            self._checkin(connection)

    def close(self):
        while True:
            try:
                self._idle.get_nowait().close()
            except queue.Empty:
                return

    # MARK: - Migrations

    def migrate(self, schema, migrations, lock_timeout=60.0):
        """Applies `migrations` to `schema` once each, in order, under the advisory lock every
        migrator of the database takes; refuses a schema newer than this plugin or a migration
        changed after it was applied. Returns the versions applied now."""
        ordered = sorted(migrations, key=lambda migration: migration.version)
        versions = [migration.version for migration in ordered]
        if len(set(versions)) != len(versions) or any(version < 1 for version in versions):
            raise MigrationError(f"versions of {schema} must be positive and unique")
        deadline = time.monotonic() + lock_timeout
        connection = self._connect_for_migration(schema, deadline)
        with connection:
            while not connection.execute("SELECT pg_try_advisory_lock(%s, %s)", MIGRATION_LOCK).fetchone()[0]:
                if time.monotonic() > deadline:
                    raise MigrationError(f"another process held the migration lock for over {lock_timeout:.0f} s; is a migration stuck?")
                time.sleep(0.1)
            try:
                return self._migrate_locked(connection, schema, ordered)
            finally:
                connection.execute("SELECT pg_advisory_unlock(%s, %s)", MIGRATION_LOCK)

    def _connect_for_migration(self, schema, deadline):
        """A connection for the migrator, tried again until `deadline` while the server cannot
        take it yet (starting, failing over, out of connection slots, slow to answer under load):
        a plugin that starts beside a busy database waits for it instead of failing its start."""
        while True:
            try:
                return psycopg.connect(self.url, autocommit=True, connect_timeout=10, application_name=self.application_name)
            except psycopg.Error as error:
                # libpq's own words for a failed connection name the server and the reason,
                # never data or the password.
                reason = " ".join(line.strip() for line in str(error).splitlines() if line.strip()) or "no connection"
                if not _may_pass(reason) or time.monotonic() > deadline:
                    raise MigrationError(f"cannot reach the database to migrate {schema}: {reason}") from None
                time.sleep(0.5)

    def _migrate_locked(self, connection, schema, migrations):
        connection.execute("""
            CREATE TABLE IF NOT EXISTS public.itsm_migrations (
                schema_name text NOT NULL,
                version integer NOT NULL,
                name text NOT NULL,
                checksum text NOT NULL,
                applied_at timestamptz NOT NULL DEFAULT now(),
                PRIMARY KEY (schema_name, version))""")
        applied = dict(connection.execute(
            "SELECT version, checksum FROM public.itsm_migrations WHERE schema_name = %s", (schema,)).fetchall())
        newest = migrations[-1].version if migrations else 0
        if applied and max(applied) > newest:
            raise MigrationError(f"schema {schema} is at version {max(applied)} but this plugin knows only up to {newest}; upgrade the plugin")
        known = {migration.version: migration for migration in migrations}
        for version, checksum in applied.items():
            if version in known and fingerprint(known[version].sql) != checksum:
                raise MigrationError(f"migration {schema} {version} ({known[version].name}) differs from the one applied; migrations must not be edited")
        applied_now = []
        for migration in migrations:
            if migration.version in applied:
                continue
            _log.info("applying migration", extra={"itsm.schema": schema, "itsm.migration.version": migration.version,
                                                   "itsm.migration.name": migration.name})
            with connection.transaction():
                # A migration is the plugin's own trusted SQL, run as a script (no parameters).
                connection.execute(migration.sql, prepare=False)
                connection.execute("INSERT INTO public.itsm_migrations (schema_name, version, name, checksum) VALUES (%s, %s, %s, %s)",
                                   (schema, migration.version, migration.name, fingerprint(migration.sql)))
            applied_now.append(migration.version)
        return applied_now
