"""Tiny local servers for notification tests: an HTTP sink and an SMTP sink (stdlib sockets)."""

from __future__ import annotations

import socketserver
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, HTTPServer


class HttpSink:
    """Collects POST bodies; answers with `status`."""

    def __init__(self, status: int = 204) -> None:
        self.bodies: list[bytes] = []
        self.status = status


@contextmanager
def http_sink(status: int = 204) -> Iterator[tuple[HttpSink, str]]:
    sink = HttpSink(status)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("content-length", "0"))
            sink.bodies.append(self.rfile.read(length))
            self.send_response(sink.status)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            return

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield sink, f"http://127.0.0.1:{server.server_address[1]}/hook"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


class Mail:
    """One message the SMTP sink received."""

    def __init__(self, sender: str, recipients: list[str], data: str) -> None:
        self.sender = sender
        self.recipients = recipients
        self.data = data


@contextmanager
def smtp_sink() -> Iterator[tuple[list[Mail], int]]:
    """A minimal SMTP server speaking just enough of RFC 5321 for smtplib."""
    received: list[Mail] = []

    class Handler(socketserver.StreamRequestHandler):
        def reply(self, line: str) -> None:
            self.wfile.write(line.encode() + b"\r\n")

        def handle(self) -> None:
            self.reply("220 sink ready")
            sender, rcpts = "", []
            while line := self.rfile.readline().decode().rstrip("\r\n"):
                verb = line.split(" ", 1)[0].upper()
                if verb in {"EHLO", "HELO"}:
                    self.reply("250 sink")
                elif verb == "MAIL":
                    sender = line.split(":", 1)[1].strip(" <>")
                    self.reply("250 ok")
                elif verb == "RCPT":
                    rcpts.append(line.split(":", 1)[1].strip(" <>"))
                    self.reply("250 ok")
                elif verb == "DATA":
                    self.reply("354 go on")
                    lines = []
                    while (body := self.rfile.readline().decode()) not in {".\r\n", ""}:
                        lines.append(body)
                    received.append(Mail(sender, rcpts, "".join(lines)))
                    sender, rcpts = "", []
                    self.reply("250 queued")
                elif verb == "QUIT":
                    self.reply("221 bye")
                    return
                else:
                    self.reply("250 ok")

    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield received, server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
