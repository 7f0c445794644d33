"""What every channel is: settings (validated), named secrets, whom it reaches, how it sends
one notice, and its documented rate limits; plus the HTTP call the robots share."""

from __future__ import annotations

import abc
import time
from collections.abc import Mapping
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
        """Rate-limit windows: the configured per-minute limit, else the documented ones."""
        if self.settings.rate_per_min is not None:
            return [(self.settings.rate_per_min, 60.0)]
        return list(self.default_limits)

    @abc.abstractmethod
    def reaches(self, contact: Contact) -> bool:
        """Whether the contact has an address this channel can use."""

    @abc.abstractmethod
    def send(self, notice: Notice, contact: Contact) -> str:
        """Deliver; return the provider's answer (recorded). DeliveryError when refused."""


def clip(text: str) -> str:
    """A provider's answer as recorded: secrets masked, at most RESPONSE_CHARS."""
    return REDACTOR.scrub(text)[:RESPONSE_CHARS]


def post_json(
    ctx: SendContext,
    url: str,
    body: Any,
    *,
    params: Mapping[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
) -> httpx.Response:
    """POST a JSON body; transport errors, 429 and 5xx are retryable DeliveryErrors, other
    4xx are not. The body goes out as UTF-8 JSON (the robots require UTF-8)."""
    content = body if isinstance(body, bytes) else orjson.dumps(body)
    try:
        resp = ctx.http.post(
            url,
            content=content,
            params=params,
            headers={"Content-Type": "application/json; charset=utf-8", **(headers or {})},
            timeout=ctx.timeout_s,
        )
    except httpx.HTTPError as err:
        raise DeliveryError(
            f"{type(err).__name__}: {REDACTOR.scrub(str(err))}", retryable=True
        ) from err
    check_status(resp)
    return resp


def check_status(resp: httpx.Response) -> None:
    """Raise a DeliveryError for an HTTP error status (429/5xx retryable)."""
    if resp.status_code < 400:
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
