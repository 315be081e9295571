#!/usr/bin/env python3
"""Change requests: a complete custom process in Python, on the toolkit's Python SDK.

It shows everything a real process needs; the SDK (sdk/python) does the protocol:

- its own schema (`change`), migrated at `initialize` (and by `plugin.py migrate`);
- methods with typed params and results, and REST routes: change.create, change.get,
  change.list, change.transition;
- events it publishes in the same transaction as the change (change.created,
  change.status_changed);
- an event it subscribes to: incident.major_declared opens a draft emergency change, once per
  event even when the event is delivered twice;
- a call to another process through the coordinator, for the caller: a change that names an
  incident is checked with incident.get.

    pip install ./sdk/python
    plugins:
      - incident
      - name: change
        command: [python3, Examples/change-python/plugin.py]
"""
import dataclasses
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal, Optional
from uuid import UUID

from itsm_plugin import Event, Migration, Plugin, PluginError, Request, Transaction, business, invalid, log

Status = Literal["draft", "submitted", "approved", "implemented", "rejected", "cancelled", "closed"]
Kind = Literal["standard", "normal", "emergency"]
Risk = Literal["low", "medium", "high"]

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

MIGRATIONS = [
    Migration(1, "change requests and their history", """
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

plugin = Plugin("change", version="1.1.0", migrations=MIGRATIONS,
                # A change naming an incident is checked with the incident process, for whoever creates it.
                calls=["incident.get"])


# MARK: - Types


@dataclass
class HistoryEntry:
    id: int
    at: datetime
    actor: str
    field: str
    old_value: Optional[str] = None
    new_value: Optional[str] = None


@dataclass
class ChangeRequest:
    """A change request"""
    id: UUID
    number: str = field(metadata={"description": "CHG-000001"})
    title: str
    description: str
    kind: Kind
    risk: Risk
    status: Status
    requested_by: str
    created_at: datetime
    updated_at: datetime
    incident: Optional[str] = field(default=None, metadata={"description": "the incident it is for, e.g. INC-000001"})
    history: Optional[list[HistoryEntry]] = None


@dataclass
class StatusChanged(ChangeRequest):
    """A change request moved to another status"""
    from_: Optional[Status] = field(default=None, metadata={"json": "from", "description": "the status it left"})
    note: Optional[str] = None


@dataclass
class CreateParams:
    title: str = field(metadata={"description": "1 to 200 characters"})
    description: str = ""
    kind: Kind = "normal"
    risk: Risk = "medium"
    incident: Optional[str] = field(default=None, metadata={"description": "an incident number, checked with the incident process"})


@dataclass
class GetParams:
    number: str = field(metadata={"description": "CHG-000001"})


@dataclass
class ListParams:
    status: Optional[Status] = None
    limit: int = field(default=50, metadata={"description": "1 to 500"})


@dataclass
class ChangeRequests:
    items: list[ChangeRequest]


@dataclass
class TransitionParams:
    number: str
    to: Status
    note: Optional[str] = None


@dataclass
class MajorIncident:
    number: str
    title: Optional[str] = None


@dataclass
class MajorDeclared:
    incident: MajorIncident


plugin.publishes("change.created", ChangeRequest, "When a change request is raised, by a person or for a major incident")
plugin.publishes("change.status_changed", StatusChanged, "When a change request moves to another status")


def change_request(row):
    """A row of change.request as the API shows it."""
    fields = {field.name for field in dataclasses.fields(ChangeRequest)}
    return ChangeRequest(**{name: value for name, value in row.items() if name in fields})


def record_creation(transaction: Transaction, row):
    transaction.execute("INSERT INTO change.history (request_id, actor, field, new_value) VALUES (%s, %s, 'status', %s)",
                        (row["id"], row["requested_by"], row["status"]))
    transaction.publish("change.created", change_request(row), subject=row["id"])


# MARK: - Methods


@plugin.method("change.create", permission="change.write", routes=[{"verb": "POST", "path": "changes"}])
def create(request: Request, params: CreateParams) -> ChangeRequest:
    """Raise a change request: title, description, kind, risk, optional incident number"""
    title = params.title.strip()
    if not 1 <= len(title) <= 200:
        raise invalid("title: 1 to 200 characters")
    incident = params.incident
    if incident is not None:
        try:
            incident = request.call("incident.get", {"number": incident})["incident"]["number"]
        except PluginError as failure:
            if failure.kind == "incident.not_found":
                raise invalid(f"incident: {params.incident} does not exist") from None
            raise  # the incident process is disabled or down: its own clear error goes back
    with request.transaction() as transaction:
        row = transaction.one("""
            INSERT INTO change.request (title, description, kind, risk, incident, requested_by)
            VALUES (%s, %s, %s, %s, %s, %s) RETURNING *""",
            (title, params.description, params.kind, params.risk, incident, request.actor))
        record_creation(transaction, row)
    return change_request(row)


@plugin.method("change.get", permission="change.read", idempotent=True, routes=[{"verb": "GET", "path": "changes/{number}"}])
def get(request: Request, params: GetParams) -> ChangeRequest:
    """One change request with its history"""
    with request.transaction() as transaction:
        row = transaction.one("SELECT * FROM change.request WHERE number = %s", (params.number,))
        if row is None:
            raise business("change.not_found", f"no change request {params.number}", details={"key": params.number})
        history = transaction.all("""
            SELECT id, at, actor, field, old_value, new_value FROM change.history
            WHERE request_id = %s ORDER BY id""", (row["id"],))
    found = change_request(row)
    found.history = [HistoryEntry(**entry) for entry in history]
    return found


@plugin.method("change.list", permission="change.read", idempotent=True, routes=[{"verb": "GET", "path": "changes"}])
def list_requests(request: Request, params: ListParams) -> ChangeRequests:
    """Change requests, newest first, optionally by status"""
    if not 1 <= params.limit <= 500:
        raise invalid("limit: 1 to 500")
    with request.transaction() as transaction:
        rows = transaction.all("""
            SELECT * FROM change.request WHERE %(status)s::text IS NULL OR status = %(status)s
            ORDER BY created_at DESC LIMIT %(limit)s""", {"status": params.status, "limit": params.limit})
    return ChangeRequests(items=[change_request(row) for row in rows])


@plugin.method("change.transition", permission="change.write", routes=[{"verb": "POST", "path": "changes/{number}/transition"}])
def transition(request: Request, params: TransitionParams) -> ChangeRequest:
    """Move a change request along draft, submitted, approved, implemented, closed"""
    with request.transaction() as transaction:
        # The row lock keeps two moves of one change from both reading the same status.
        row = transaction.one("SELECT * FROM change.request WHERE number = %s FOR UPDATE", (params.number,))
        if row is None:
            raise business("change.not_found", f"no change request {params.number}", details={"key": params.number})
        current = row["status"]
        if params.to not in TRANSITIONS[current]:
            allowed = ", ".join(sorted(TRANSITIONS[current])) or "none"
            raise business("change.invalid_transition", f"{row['number']} is {current}; it can move to: {allowed}",
                           details={"from": current, "to": params.to})
        moved = transaction.one("UPDATE change.request SET status = %s, updated_at = now() WHERE id = %s RETURNING *",
                                (params.to, row["id"]))
        transaction.execute("""
            INSERT INTO change.history (request_id, actor, field, old_value, new_value)
            VALUES (%s, %s, 'status', %s, %s)""", (row["id"], request.actor, current, params.to))
        changed = StatusChanged(**dataclasses.asdict(change_request(moved)), from_=current, note=params.note)
        transaction.publish("change.status_changed", changed, subject=row["id"])
    return change_request(moved)


# MARK: - Events


@plugin.subscribe("incident.major_declared", payload=MajorDeclared)
def on_major_incident(event: Event, transaction: Transaction):
    """A draft emergency change for the major incident (the SDK makes it once per event)."""
    incident = event.data.incident
    row = transaction.one("""
        INSERT INTO change.request (title, description, kind, risk, incident, requested_by)
        VALUES (%s, %s, 'emergency', 'high', %s, 'plugin:change') RETURNING *""",
        (f"Emergency change for {incident.number}", incident.title or "", incident.number))
    record_creation(transaction, row)
    log("info", "emergency change opened for a major incident", **{"itsm.number": row["number"], "itsm.incident": incident.number})


if __name__ == "__main__":
    plugin.run()
