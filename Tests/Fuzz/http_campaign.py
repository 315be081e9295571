#!/usr/bin/env python3
"""An HTTP fuzz campaign against a running coordinator (loopback only, bounded): sends generated
bodies to every method the coordinator lists and to its own routes for people (sign-in,
accounts, roles, groups, the audit log), and reports how many answers were server errors
(HTTP 500-599 other than 503 for a process that is not enabled) and how many took too long.

    http_campaign.py BASE_URL TOKEN BODIES [SEED]

Prints one summary line and the first few problems; exits 1 when there was any."""
import json
import random
import sys
import time
import urllib.error
import urllib.request

base, token, total = sys.argv[1].rstrip("/"), sys.argv[2], int(sys.argv[3])
seed = int(sys.argv[4]) if len(sys.argv) > 4 else 1
rng = random.Random(seed)
assert base.startswith("http://127.") or base.startswith("http://localhost"), "loopback only"


def request(method, path, body=None, timeout=30):
    data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
    req = urllib.request.Request(base + path, data=data, method=method,
                                 headers={"Authorization": "Bearer " + token, "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as answer:
            return answer.status, answer.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


FIELDS = ["title", "description", "number", "id", "status", "to", "priority", "impact", "urgency", "service",
          "assignee", "assignmentGroup", "caller", "from", "createdFrom", "createdTo", "limit", "offset", "sort",
          "order", "supplier", "resource", "metric", "samples", "body", "at", "value", "kpi", "target", "period",
          "reason", "kind", "startsOn", "endsOn", "minutes", "targets", "metrics", "name", "unit", "warning",
          "critical", "importId", "rows", "columns", "firstRow", "incident", "problem", "query", "format", "calendar",
          "password", "displayName", "email", "roles", "members", "leads", "permissions", "disabled", "source",
          "current", "new"]
STRINGS = ["", " ", "x" * 300, "INC-000001", "PRB-000001", "P1", "P9", "high", "bogus", "2026-11-30T10:00:00Z",
           "2026-02-30", "0000-01-01T00:00:00Z", "294277-01-01T00:00:00Z", "résolu ✓", "\u202e", "a\u0000b",
           "'; DROP TABLE x; --", "null", "-1", "1e309", "{}", "[]", "../../etc/passwd"]


def value(depth=0):
    kind = rng.randrange(9 if depth < 3 else 6)
    if kind == 0: return rng.choice(STRINGS)
    if kind == 1: return rng.choice([0, -1, 1, 2**31, 2**63 - 1, -(2**63), 10**20])
    if kind == 2: return rng.choice([0.5, -1e308, 1e-320, 3.14])
    if kind == 3: return rng.choice([True, False])
    if kind == 4: return None
    if kind == 5: return rng.choice(STRINGS) + str(rng.randrange(1000))
    if kind in (6, 7): return {rng.choice(FIELDS): value(depth + 1) for _ in range(rng.randrange(4))}
    return [value(depth + 1) for _ in range(rng.randrange(4))]


def body():
    roll = rng.random()
    if roll < 0.05:
        return bytes(rng.randrange(256) for _ in range(rng.randrange(64)))
    if roll < 0.1:
        return json.dumps(value()).encode()
    return {rng.choice(FIELDS): value() for _ in range(rng.randrange(6))}


status, listing = request("GET", "/api/v1/methods")
assert status == 200, listing
targets = [("POST", "/api/v1/rpc/" + m["name"]) for m in json.loads(listing)] + [
    ("POST", "/api/v1/session"), ("POST", "/api/v1/users"), ("PATCH", "/api/v1/users/fuzz"),
    ("PUT", "/api/v1/roles/fuzz-role"), ("PUT", "/api/v1/groups/fuzz-group"), ("GET", "/api/v1/audit"),
]
QUERIES = ["", "?from=bogus", "?limit=0", "?limit=99999", "?after=-1", "?actor=%00", "?to=2026-02-30T00:00:00Z",
           "?from=2026-01-01T00:00:00Z&to=2026-12-31T00:00:00Z", "?nonsense=1", "?limit=1e3"]
counts = {"sent": 0, "2xx": 0, "4xx": 0, "503": 0, "5xx": 0, "slow": 0}
problems = []
for index in range(total):
    verb, method = targets[index % len(targets)]
    sent = body() if verb != "GET" else None
    path = method + (rng.choice(QUERIES) if verb == "GET" else "")
    started = time.monotonic()
    try:
        status, answer = request(verb, path, sent)
    except Exception as error:  # a timeout or a dropped connection is a hang or a crash
        status, answer = 599, str(error).encode()
    elapsed = time.monotonic() - started
    counts["sent"] += 1
    if status == 503 and b"plugin.disabled" in answer:
        counts["503"] += 1
    elif 200 <= status < 300:
        counts["2xx"] += 1
    elif 400 <= status < 500:
        counts["4xx"] += 1
    else:
        counts["5xx"] += 1
        problems.append(f"{method} {status} {sent!r:.200} -> {answer[:300]!r}")
    if elapsed > 10:
        counts["slow"] += 1
        problems.append(f"{method} took {elapsed:.1f} s for {sent!r:.200}")
print("http campaign: " + ", ".join(f"{k} {v}" for k, v in counts.items()) + f" (seed {seed})", flush=True)
for line in problems[:15]:
    print("  " + line)
sys.exit(1 if problems else 0)
