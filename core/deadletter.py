"""Dead letters: refused input, with the counted reason, on `bw/v1/{site}/deadletter/{component}`.

Every consumer (ingest, rules, maintenance, the console's live hub, the gateway's sensor input)
refuses a message the same way: it acknowledges it, counts the reason and publishes one of
these documents, so an operator sees what was refused, by whom and why. The payload is cut to
its first `PAYLOAD_LIMIT` bytes and carried as text (invalid UTF-8 replaced). A service that
runs as named instances also says which one refused it and when (`instance`, `at`).
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson

from bldgwatch.core import topics

logger = logging.getLogger(__name__)

UNKNOWN_SITE = "_unknown"
PAYLOAD_LIMIT = 2048
DETAIL_LIMIT = 2000

Publish = Callable[[str, bytes], object]
"""The transport boundary: publish `payload` on `topic` at QoS 1."""


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """One piece of refused input and why."""

    reason: str
    detail: str
    topic: str
    seq: int | None
    payload: bytes


def deadletter_topic(source_topic: str, component: str) -> str:
    """The dead-letter topic of `component` for input that arrived on `source_topic`."""
    site = topics.site_of(source_topic) or UNKNOWN_SITE
    try:
        return topics.deadletter(site, component)
    except ValueError:
        return topics.deadletter(UNKNOWN_SITE, component)


def encode(
    component: str,
    letter: DeadLetter,
    *,
    instance: str | None = None,
    at: datetime | None = None,
) -> bytes:
    """The JSON document of a dead letter (`instance` and `at` only when given)."""
    doc: dict[str, Any] = {
        "component": component,
        "reason": letter.reason,
        "detail": letter.detail[:DETAIL_LIMIT],
        "topic": letter.topic,
        "seq": letter.seq,
        "payload": letter.payload[:PAYLOAD_LIMIT].decode("utf-8", errors="replace"),
    }
    if instance is not None:
        doc["instance"] = instance
    if at is not None:
        doc["at"] = at.isoformat()
    return orjson.dumps(doc)


class DeadLetters:
    """Publishes a component's dead letters and counts them per reason (thread-safe)."""

    def __init__(
        self,
        component: str,
        publish: Publish,
        *,
        topic_for: Callable[[str], str] | None = None,
        instance: str | None = None,
        now: Callable[[], datetime] | None = None,
    ) -> None:
        self.component = component
        self.instance = instance
        self._now = now
        self._publish = publish
        self._topic_for = topic_for or (lambda source: deadletter_topic(source, component))
        self._lock = threading.Lock()
        self._by_reason: Counter[str] = Counter()

    def send(self, letter: DeadLetter) -> int:
        """Count and publish one dead letter (QoS 1); how many of its reason so far."""
        with self._lock:
            self._by_reason[letter.reason] += 1
            count = self._by_reason[letter.reason]
        logger.debug("dead letter from %s: %s: %s", letter.topic, letter.reason, letter.detail)
        at = self._now() if self._now is not None else None
        body = encode(self.component, letter, instance=self.instance, at=at)
        self._publish(self._topic_for(letter.topic), body)
        return count

    def counts(self) -> dict[str, int]:
        """Dead letters sent so far, by reason."""
        with self._lock:
            return dict(self._by_reason)

    @property
    def total(self) -> int:
        """Dead letters sent so far."""
        with self._lock:
            return sum(self._by_reason.values())
