"""Review of issue 16: channels attacked by providers that misbehave."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator

import httpx
import pytest

from bldgwatch.alerts.channels import SendContext
from bldgwatch.alerts.documents import Contact
from bldgwatch.alerts.errors import DeliveryError
from bldgwatch.core.clock import ManualClock
from tests.alerts.sinks import HttpSink
from tests.alerts.test_channels import NOTICE, NOW, ZHANG, make


@pytest.fixture
def ctx() -> Iterator[SendContext]:
    with httpx.Client() as http:
        yield SendContext(http=http, timeout_s=1.0, clock=ManualClock(NOW))


def test_a_webhook_answering_with_a_redirect_is_not_a_delivery(
    http_sink: HttpSink, ctx: SendContext
) -> None:
    """FINDING (medium): `check_status` lets every status below 400 through and
    `JsonWebhook.send` records it as `sent`; httpx does not follow redirects. A receiver
    moved to https (301/302/307/308) never gets the notice, yet the attempt says `sent` and
    the fallback channel is not tried. The module's own docstring says "Any 2xx answer is a
    delivery"."""
    http_sink.default = (307, b"")
    hook = make("webhook", {"url": f"{http_sink.url}/hook"}, {}, ctx)
    with pytest.raises(DeliveryError):
        hook.send(NOTICE, ZHANG)


class DripServer:
    """An HTTP server that answers one byte every `gap_s` seconds (a hanging provider)."""

    def __init__(self, gap_s: float, total_s: float) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(4)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}/hook"
        self.gap_s, self.total_s = gap_s, total_s
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        self.sock.settimeout(0.2)
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            with conn:
                conn.recv(65536)
                answer = (
                    b'HTTP/1.1 200 OK\r\nContent-Length: 30\r\n\r\n{"errcode":0,"errmsg":"ok"}   '
                )
                end = time.monotonic() + self.total_s
                for byte in answer:
                    if self.stop.is_set() or time.monotonic() > end:
                        break
                    try:
                        conn.sendall(bytes([byte]))
                    except OSError:
                        break
                    self.stop.wait(self.gap_s)

    def close(self) -> None:
        self.stop.set()
        self.thread.join(5)
        self.sock.close()


def test_a_provider_that_drips_its_answer_cannot_hold_a_sender(ctx: SendContext) -> None:
    """FINDING (high): `http_timeout_s` is passed to httpx as a per-operation timeout, so
    the read timeout restarts with every byte received. A robot gateway (or a proxy) that
    answers one byte every 0.5 s holds the sender far beyond `http_timeout_s` (here 1 s,
    held for the whole 8 s the server drips; in production a byte per 4 s holds it for
    minutes);
    the `workers` such calls block every sender, so an entrapment notice to anyone waits.
    The issue asks for "a channel webhook hangs" to fall back; the call needs a total
    deadline."""
    server = DripServer(gap_s=0.5, total_s=8)
    try:
        hook = make("webhook", {"url": server.url}, {}, ctx)
        started = time.monotonic()
        with contextlib.suppress(DeliveryError):
            hook.send(NOTICE, ZHANG)
        took = time.monotonic() - started
    finally:
        server.close()
    assert took < 3 * ctx.timeout_s, f"one provider call held the sender for {took:.1f} s"


def test_a_contacts_name_cannot_mention_the_whole_feishu_group(
    http_sink: HttpSink, ctx: SendContext
) -> None:
    """FINDING (low): the Feishu bot's mention is built by string formatting,
    `<at user_id="{open_id}">{name}</at>`, with neither the name nor the open_id escaped or
    checked (the open_id has no pattern). A contact named `</at><at user_id="all">所有人`
    — or an open_id of `all` — turns every alarm notice into an @all of the whole group."""
    person = Contact(id="x", name='张三</at><at user_id="all">所有人', feishu_open_id="ou_abc")
    bot = make(
        "feishu", {"url": f"{http_sink.url}/open-apis/bot/v2/hook/"}, {"hook_token": "h-1"}, ctx
    )
    bot.send(NOTICE, person)
    text = http_sink.requests[-1].json()["content"]["text"]
    assert 'user_id="all"' not in text
