"""What every channel is: settings (validated), named secrets, whom it reaches, how it sends
one notice, and its documented rate limits; plus the HTTP call the robots share."""

from __future__ import annotations

import abc
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import httpx
import orjson
from pydantic import Field

from bldgwatch.alerts.documents import Contact
from bldgwatch.alerts.errors import DeliveryError
from bldgwatch.alerts.render import Notice
from bldgwatch.alerts.secrets import REDACTOR
from bldgwatch.core.clock import Clock
from bldgwatch.core.config import StrictModel

RESPONSE_CHARS = 1000
"""How much of a provider's answer an attempt records."""


class ChannelSettings(StrictModel):
    """Settings every channel has."""

    rate_per_min: int | None = Field(
        None, ge=1, le=100_000, description="Messages per minute at most; the kind's default."
    )


@dataclass(frozen=True, slots=True)
class SendContext:
    """What channels send with: the HTTP client, its timeout, the clock (signed timestamps)."""

    http: httpx.Client
    timeout_s: float
    clock: Clock


class Channel(abc.ABC):
    """One configured channel of a site."""

    kind: ClassVar[str]
    settings_model: ClassVar[type[ChannelSettings]]
    secret_names: ClassVar[tuple[str, ...]] = ()
    """Secrets the kind takes; `required_secrets` of them must be given."""
    required_secrets: ClassVar[tuple[str, ...]] = ()
    default_limits: ClassVar[tuple[tuple[int, float], ...]] = ()
    """The provider's documented limits: (messages, seconds) windows."""

    def __init__(
        self,
        channel_id: str,
        settings: ChannelSettings,
        secrets: Mapping[str, str],
        ctx: SendContext,
    ) -> None:
        self.channel_id = channel_id
        self.settings = settings
        self.secrets = dict(secrets)
        self.ctx = ctx
        for value in self.secrets.values():
            REDACTOR.add(value)

    def limits(self) -> list[tuple[int, float]]:
        """Rate-limit windows: the documented ones, the per-minute one lowered to the
        configured `rate_per_min` (never raised above the provider's documented limit)."""
        rate = self.settings.rate_per_min
        if rate is None:
            return list(self.default_limits)
        documented = list(self.default_limits)
        if not any(span == 60.0 for _, span in documented):
            return [*documented, (rate, 60.0)]
        return [(min(rate, n) if span == 60.0 else n, span) for n, span in documented]

    @classmethod
    def documented_per_min(cls) -> int | None:
        """The provider's documented messages per minute, when it documents one."""
        return next((n for n, span in cls.default_limits if span == 60.0), None)

    @abc.abstractmethod
    def reaches(self, contact: Contact) -> bool:
        """Whether the contact has an address this channel can use."""

    @abc.abstractmethod
    def send(self, notice: Notice, contact: Contact) -> str:
        """Deliver; return the provider's answer (recorded). DeliveryError when refused."""


def clip(text: str) -> str:
    """A provider's answer as recorded: secrets masked, at most RESPONSE_CHARS."""
    return REDACTOR.scrub(text)[:RESPONSE_CHARS]


def within_deadline(
    ctx: SendContext, call: Callable[[dict[str, Any]], httpx.Response]
) -> httpx.Response:
    """Run one HTTP exchange with a total deadline of `ctx.timeout_s`.

    httpx's timeouts are per operation (a read timeout restarts with every byte), so a
    provider that drips its answer could hold a sender for minutes. The exchange runs on a
    helper thread; `call` gets httpx request extensions whose trace hook notes the
    connection's stream, which is closed at the deadline (ending the helper's read). The
    sender gets a retryable DeliveryError at once either way.
    """
    streams: list[Any] = []
    box: dict[str, Any] = {}

    def trace(event: str, info: dict[str, Any]) -> None:
        if event.endswith((".connect_tcp.complete", ".start_tls.complete")):
            streams.append(info.get("return_value"))

    def run() -> None:
        try:
            box["resp"] = call({"trace": trace})
        except BaseException as err:  # noqa: BLE001 - handed to the sender's thread below
            box["error"] = err

    worker = threading.Thread(target=run, name="alerts-http", daemon=True)
    worker.start()
    worker.join(ctx.timeout_s)
    if worker.is_alive():
        for stream in streams:
            close = getattr(stream, "close", None)
            if close is not None:
                close()
        raise DeliveryError(f"no complete answer within {ctx.timeout_s:g} s", retryable=True)
    error = box.get("error")
    if isinstance(error, httpx.HTTPError):
        raise DeliveryError(
            f"{type(error).__name__}: {REDACTOR.scrub(str(error))}", retryable=True
        ) from error
    if error is not None:
        raise error
    resp: httpx.Response = box["resp"]
    return resp


def post_json(
    ctx: SendContext,
    url: str,
    body: Any,
    *,
    params: Mapping[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
) -> httpx.Response:
    """POST a JSON body within the total deadline; transport errors, timeouts, 429 and 5xx
    are retryable DeliveryErrors, other 4xx and 3xx are not. The body goes out as UTF-8 JSON
    (the robots require UTF-8)."""
    content = body if isinstance(body, bytes) else orjson.dumps(body)
    resp = within_deadline(
        ctx,
        lambda extensions: ctx.http.post(
            url,
            content=content,
            params=params,
            headers={"Content-Type": "application/json; charset=utf-8", **(headers or {})},
            timeout=ctx.timeout_s,
            extensions=extensions,
        ),
    )
    check_status(resp)
    return resp


def check_status(resp: httpx.Response) -> None:
    """Raise a DeliveryError unless the status is 2xx (429/5xx retryable; a 3xx redirect is
    not a delivery — httpx does not follow it — and falls back to the next channel)."""
    if 200 <= resp.status_code < 300:
        return
    retry_after = resp.headers.get("Retry-After")
    wait = float(retry_after) if retry_after and retry_after.isdigit() else None
    raise DeliveryError(
        f"HTTP {resp.status_code}",
        retryable=resp.status_code == 429 or resp.status_code >= 500,
        response=clip(resp.text),
        retry_after=wait,
    )


def json_answer(resp: httpx.Response) -> dict[str, Any]:
    """The provider's JSON answer; a non-JSON answer is a (retryable) DeliveryError."""
    try:
        data = resp.json()
    except ValueError as err:
        raise DeliveryError(
            "the provider's answer is not JSON", retryable=True, response=clip(resp.text)
        ) from err
    if not isinstance(data, dict):
        raise DeliveryError("unexpected answer", retryable=True, response=clip(resp.text))
    return data


def now_ms(ctx: SendContext) -> int:
    """Milliseconds since the epoch on the send context's clock."""
    return int(ctx.clock.now().timestamp() * 1000)


def monotonic_ms() -> float:
    """A monotonic clock in milliseconds (latency of one call)."""
    return time.monotonic() * 1000
