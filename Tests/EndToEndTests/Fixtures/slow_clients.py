#!/usr/bin/env python3
"""Slow HTTP clients (a slowloris): opens N connections and sends a request head one byte every
half second. Prints how many the server closed and how long that took; exits 1 if any is still
open after the time limit."""
import socket
import sys
import time

port, count, limit = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
head = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"x" * 200 + b"\r\n\r\n"
started = time.monotonic()
sockets = []
for _ in range(count):
    s = socket.create_connection(("127.0.0.1", port))
    s.setblocking(False)
    sockets.append(s)
closed = set()
position = 0
while len(closed) < count and time.monotonic() - started < limit:
    for index, s in enumerate(sockets):
        if index in closed:
            continue
        try:
            data = s.recv(4096)
            if data == b"":
                closed.add(index)
                continue
        except BlockingIOError:
            pass
        except OSError:
            closed.add(index)
            continue
        try:
            s.send(head[position % len(head):position % len(head) + 1])
        except BlockingIOError:
            pass
        except OSError:
            closed.add(index)
    position += 1
    time.sleep(0.5)
print(f"closed {len(closed)} of {count} after {time.monotonic() - started:.1f} s", flush=True)
sys.exit(0 if len(closed) == count else 1)
