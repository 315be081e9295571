#!/usr/bin/env python3
"""The servers the notification tests deliver to, on loopback: a real SMTP server (aiosmtpd)
with STARTTLS and AUTH PLAIN, and an HTTP server taking webhook posts.

    mail_and_webhook_servers.py DIRECTORY CERTIFICATE KEY USER PASSWORD

Writes each accepted message to DIRECTORY/mail/<n>.eml and each webhook post to
DIRECTORY/hooks/<n>.json ({"path", "headers", "body"}). The first post to a path ending in
/flaky is answered 500, later ones 200; a path ending in /gone is always answered 410. While
DIRECTORY/slow exists, mail to an address starting with "slow" waits at RCPT.
Prints "smtp PORT http PORT" when both listen, then runs until killed."""
import asyncio
import json
import os
import socket
import ssl
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

directory, certificate, key, user, password = sys.argv[1:6]
for folder in ("mail", "hooks"):
    os.makedirs(os.path.join(directory, folder), exist_ok=True)
lock = threading.Lock()
counts = {"mail": 0, "hooks": 0}


def next_path(folder, suffix):
    with lock:
        counts[folder] += 1
        return os.path.join(directory, folder, f"{counts[folder]}.{suffix}")


class Mailbox:
    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        # While DIRECTORY/slow exists, a recipient named slow... waits at RCPT: a send in flight.
        while address.startswith("slow") and os.path.exists(os.path.join(directory, "slow")):
            await asyncio.sleep(0.1)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        path = next_path("mail", "eml")
        with open(path + ".part", "wb") as out:
            out.write(envelope.original_content)
        os.rename(path + ".part", path)  # whole files only: the test reads as they appear
        return "250 OK"


def authenticate(server, session, envelope, mechanism, auth_data):
    ok = mechanism == "PLAIN" and auth_data.login == user.encode() and auth_data.password == password.encode()
    return AuthResult(success=ok)


context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
context.load_cert_chain(certificate, key)


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


for attempt in range(20):  # the port was free a moment ago; another may take it in between
    smtp = Controller(Mailbox(), hostname="127.0.0.1", port=free_port(), tls_context=context, require_starttls=True,
                      authenticator=authenticate, auth_required=True)
    try:
        smtp.start()
        break
    except Exception:
        if attempt == 19:
            raise

flaky_seen = set()


class Hooks(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        status = 200
        if self.path.endswith("/gone"):
            status = 410
        elif self.path.endswith("/flaky") and self.path not in flaky_seen:
            flaky_seen.add(self.path)
            status = 500
        if status == 200:
            path = next_path("hooks", "json")
            with open(path + ".part", "w") as out:
                json.dump({"path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()},
                           "body": body.decode("utf-8")}, out)
            os.rename(path + ".part", path)
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


http = ThreadingHTTPServer(("127.0.0.1", 0), Hooks)
print(f"smtp {smtp.port} http {http.server_address[1]}", flush=True)
http.serve_forever()
