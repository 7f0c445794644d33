"""Local stand-ins for the providers: an HTTP sink that records requests and answers as
scripted, and a real SMTP server (aiosmtpd) that keeps what it receives."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import orjson
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from bldgwatch.servers import free_port

OK_BODY = b'{"errcode": 0, "errmsg": "ok", "code": 0, "Code": "OK", "BizId": "b-1"}'


@dataclass
class Request:
    """One request as the sink received it."""

    method: str
    path: str
    raw_query: str
    headers: dict[str, str]
    body: bytes
    at: float

    @property
    def query(self) -> dict[str, str]:
        """The query parameters, URL-decoded (one value each)."""
        return {k: v[0] for k, v in parse_qs(self.raw_query, keep_blank_values=True).items()}

    def json(self) -> Any:
        """The body as JSON."""
        return orjson.loads(self.body)


@dataclass
class HttpSink:
    """Records every request; answers with the scripted responses, then `default`."""

    default: tuple[int, bytes] = (200, OK_BODY)
    requests: list[Request] = field(default_factory=list)
    script: deque[tuple[int, bytes]] = field(default_factory=deque)
    url: str = ""
    arrived: threading.Condition = field(default_factory=threading.Condition)
    hold_next: bool = False
    """Keep the next request unanswered until `release` (a provider that hangs)."""
    released: threading.Event = field(default_factory=threading.Event)

    def answer(self) -> tuple[int, bytes]:
        """The next scripted response."""
        return self.script.popleft() if self.script else self.default

    def wait(self, count: int, timeout: float = 10.0) -> list[Request]:
        """Block until `count` requests have arrived (fails after `timeout`)."""
        with self.arrived:
            if not self.arrived.wait_for(lambda: len(self.requests) >= count, timeout):
                raise AssertionError(f"{len(self.requests)} requests, expected {count}")
            return list(self.requests)


def _handler(sink: HttpSink) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _record(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            parts = urlsplit(self.path)
            request = Request(
                self.command,
                parts.path,
                parts.query,
                dict(self.headers.items()),
                self.rfile.read(length),
                time.monotonic(),
            )
            # Recorded before the answer: a caller that has its response may look at once.
            held = sink.hold_next
            sink.hold_next = False
            with sink.arrived:
                sink.requests.append(request)
                sink.arrived.notify_all()
            if held:
                sink.released.wait(60)
            status, body = sink.answer()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            except OSError:  # the caller is gone (killed while we held it)
                return

        do_GET = do_POST = _record  # noqa: N815 - http.server's names

        def log_message(self, *args: object) -> None:
            return

    return Handler


def serve_http(sink: HttpSink) -> Iterator[HttpSink]:
    """Run the sink on a free loopback port until the generator closes."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(sink))
    sink.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield sink
    finally:
        server.shutdown()
        server.server_close()


@dataclass
class Mail:
    """One message the SMTP server accepted."""

    sender: str
    recipients: list[str]
    message: EmailMessage


class _Keep:
    def __init__(self, box: SmtpSink) -> None:
        self.box = box

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if self.box.refuse:
            return self.box.refuse
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        parsed = message_from_bytes(raw, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        with self.box.arrived:
            self.box.mails.append(Mail(str(envelope.mail_from), list(envelope.rcpt_tos), parsed))
            self.box.arrived.notify_all()
        return "250 Message accepted"


@dataclass
class SmtpSink:
    """A real SMTP server on loopback (aiosmtpd) with LOGIN/PLAIN auth for `user`."""

    user: str = "alerts"
    password: str = "smtp-pass-123"
    refuse: str = ""
    mails: list[Mail] = field(default_factory=list)
    logins: list[str] = field(default_factory=list)
    arrived: threading.Condition = field(default_factory=threading.Condition)
    port: int = 0

    def authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
    ) -> AuthResult:
        ok = isinstance(auth_data, LoginPassword) and (
            auth_data.login.decode(),
            auth_data.password.decode(),
        ) == (self.user, self.password)
        if ok:
            self.logins.append(self.user)
        return AuthResult(success=ok)

    def wait(self, count: int, timeout: float = 10.0) -> list[Mail]:
        with self.arrived:
            if not self.arrived.wait_for(lambda: len(self.mails) >= count, timeout):
                raise AssertionError(f"{len(self.mails)} mails, expected {count}")
            return list(self.mails)


def serve_smtp(sink: SmtpSink) -> Iterator[SmtpSink]:
    """Run the SMTP server until the generator closes."""
    sink.port = free_port()
    controller = Controller(
        _Keep(sink),
        hostname="127.0.0.1",
        port=sink.port,
        authenticator=sink.authenticate,
        auth_require_tls=False,
    )
    controller.start()
    try:
        yield sink
    finally:
        controller.stop()
