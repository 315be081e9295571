#!/usr/bin/env python3
"""Clients that go on sending after a request head too large: each sends 20,000 headers, then up to
8 MiB more until the server has stopped reading for half a second, reads the answer and closes.
Its close waits behind the bytes the server never read, so the server never sees it. Prints how
many were answered 400 and how many were reset (refused past the connection cap)."""
import socket
import sys
import time

port, count = int(sys.argv[1]), int(sys.argv[2])
answered = reset = 0
for _ in range(count):
    s = socket.create_connection(("127.0.0.1", port))
    try:
        s.sendall(b"POST /api/v1/rpc/incident.list HTTP/1.1\r\nHost: x\r\n" + b"X-A: b\r\n" * 20000)
        s.setblocking(False)
        blocked_since, sent = None, 0
        while sent < 8 << 20 and (blocked_since is None or time.monotonic() - blocked_since < 0.5):
            try:
                sent += s.send(b"x" * 65536)
                blocked_since = None
            except BlockingIOError:
                blocked_since = blocked_since or time.monotonic()
                time.sleep(0.05)
        s.settimeout(10)
        if s.recv(4096).startswith(b"HTTP/1.1 400"):
            answered += 1
    except (BrokenPipeError, ConnectionResetError):
        reset += 1
    s.close()
print(f"answered {answered}, reset {reset} of {count}", flush=True)
