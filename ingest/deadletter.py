"""Dead letters: rejected input, with the reason, on `bw/v1/{site}/deadletter/ingest`."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

import orjson

from bldgwatch.core import topics
from bldgwatch.ingest.counters import Counters

logger = logging.getLogger(__name__)

COMPONENT = "ingest"
UNKNOWN_SITE = "_unknown"
PAYLOAD_LIMIT = 2048

# The transport boundary: publish `payload` on `topic` at QoS 1.
Publish = Callable[[str, bytes], None]


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """One piece of refused input and why."""

    reason: str
    detail: str
    topic: str
    seq: int | None
    payload: bytes


def deadletter_topic(source_topic: str) -> str:
    """The dead-letter topic for input that arrived on `source_topic`."""
    site = topics.site_of(source_topic) or UNKNOWN_SITE
    try:
        return topics.deadletter(site, COMPONENT)
    except ValueError:
        return topics.deadletter(UNKNOWN_SITE, COMPONENT)


def encode(letter: DeadLetter) -> bytes:
    """The JSON document of a dead letter (payload cut to its first 2 KiB, as text)."""
    return orjson.dumps(
        {
            "component": COMPONENT,
            "reason": letter.reason,
            "detail": letter.detail,
            "topic": letter.topic,
            "seq": letter.seq,
            "payload": letter.payload[:PAYLOAD_LIMIT].decode("utf-8", errors="replace"),
        }
    )


class DeadLetterBox:
    """Publishes dead letters and counts them per reason (`dead_letters` group)."""

    def __init__(self, publish: Publish, counters: Counters) -> None:
        self._publish = publish
        self._counters = counters

    def send(self, letter: DeadLetter) -> None:
        """Publish one dead letter (QoS 1)."""
        self._counters.inc_reason("dead_letters", letter.reason)
        logger.debug("dead letter from %s: %s: %s", letter.topic, letter.reason, letter.detail)
        self._publish(deadletter_topic(letter.topic), encode(letter))
