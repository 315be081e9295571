#!/usr/bin/env python3
"""Opens N TCP connections to HOST:PORT, sends nothing, and holds them for SECONDS."""
import socket
import sys
import time

host, port, count, seconds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
sockets = [socket.create_connection((host, port)) for _ in range(count)]
print(f"holding {len(sockets)} connections", flush=True)
time.sleep(seconds)
