"""MQTT-native sensors: JSON payloads mapped to readings by dotted paths.

`parse_payload` is pure. `SensorHub` holds the per-sensor handlers; they run on paho's
network thread, parse there, and hand the readings to the gateway's sink, which must be
thread-safe (the service hands over with `loop.call_soon_threadsafe`). A bad payload is
counted by reason, logged (the first of each reason at WARNING) and dead-lettered on the
gateway's own `bw/v1/{site}/{gateway}/deadletter`; it never reaches the queue and never
stops the hub.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any

import paho.mqtt.client as paho

from bldgwatch.core.clock import Clock, to_epoch_ms
from bldgwatch.core.codec import MAX_INT
from bldgwatch.core.deadletter import DeadLetter, DeadLetters
from bldgwatch.core.errors import DecodeError
from bldgwatch.core.models import Quality, Reading
from bldgwatch.core.safejson import DEFAULT_LIMITS, DecodeLimits, load_json
from bldgwatch.gateway.config import SensorConfig
from bldgwatch.gateway.errors import PayloadError

logger = logging.getLogger(__name__)

_MISSING = object()


def lookup(doc: Any, path: str) -> Any:
    """The value at a dotted path (`a.b.0.c`; numbers index arrays), or `_MISSING`."""
    node = doc
    for part in path.split("."):
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return _MISSING
    return node


def parse_timestamp(raw: Any) -> int:
    """Epoch ms from epoch milliseconds or an ISO-8601 string with a time zone."""
    if isinstance(raw, bool):
        raise PayloadError("bad_timestamp", f"{raw!r} is not a time")
    if isinstance(raw, int | float):
        if not math.isfinite(raw) or not 0 <= raw <= MAX_INT:
            raise PayloadError("bad_timestamp", f"{raw!r} is not epoch milliseconds")
        return int(raw)
    if isinstance(raw, str):
        try:
            when = datetime.fromisoformat(raw)
        except ValueError as err:
            raise PayloadError("bad_timestamp", f"{raw!r} is not ISO-8601") from err
        if when.tzinfo is None:
            raise PayloadError("bad_timestamp", f"{raw!r} has no time zone")
        return to_epoch_ms(when)
    raise PayloadError("bad_timestamp", f"{raw!r} is not a time")


def _value(point: str, raw: Any) -> float | int | bool:
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, int) and not -MAX_INT <= raw <= MAX_INT:
        raise PayloadError("number_too_large", f"point {point}: {raw!r} is past 64 bits")
    if isinstance(raw, int | float) and math.isfinite(raw):
        return raw
    raise PayloadError("bad_value", f"point {point}: {raw!r} is not a finite number or boolean")


def parse_payload(
    sensor: SensorConfig,
    payload: bytes,
    *,
    received_ms: int,
    limits: DecodeLimits = DEFAULT_LIMITS,
) -> list[Reading]:
    """Readings of the configured points present in a JSON payload (within `limits`).

    Points missing from the payload are skipped (sensors may send partial updates); a
    present point with a bad value, a bad timestamp or no point at all is a PayloadError.
    """
    try:
        doc = load_json(payload, limits)
    except DecodeError as err:
        raise PayloadError(err.reason, err.detail) from err
    if not isinstance(doc, dict):
        raise PayloadError("bad_schema", "the payload must be a JSON object")
    ts = received_ms
    if sensor.timestamp_path is not None:
        raw_ts = lookup(doc, sensor.timestamp_path)
        if raw_ts is _MISSING:
            raise PayloadError("bad_timestamp", f"no {sensor.timestamp_path!r} in the payload")
        ts = parse_timestamp(raw_ts)
    readings = [
        Reading(sensor.equipment, point, ts, _value(point, raw), Quality.GOOD)
        for point, path in sensor.points.items()
        if (raw := lookup(doc, path)) is not _MISSING
    ]
    if not readings:
        raise PayloadError("no_points", f"none of {sorted(sensor.points.values())} in the payload")
    return readings


class SensorHub:
    """Handlers for the configured sensors, with counters (thread-safe)."""

    def __init__(
        self,
        *,
        sink: Callable[[list[Reading]], None],
        clock: Clock,
        dead_letters: DeadLetters | None = None,
        limits: DecodeLimits = DEFAULT_LIMITS,
    ) -> None:
        self._sink = sink
        self._clock = clock
        self._dead = dead_letters
        self._limits = limits
        self._lock = threading.Lock()
        self.messages = 0
        self.readings = 0
        self.good: dict[str, int] = {}
        """Messages that gave readings, by sensor (equipment id): what a trial waits for."""
        self.bad_payloads: dict[str, int] = {}
        self._logged: set[tuple[str, str]] = set()

    def handler(self, sensor: SensorConfig) -> Callable[[paho.MQTTMessage], None]:
        """The message handler of one sensor (called on the MQTT network thread)."""

        def handle(msg: paho.MQTTMessage) -> None:
            payload = bytes(msg.payload)
            try:
                self.handle(sensor, payload, topic=msg.topic)
            except Exception as err:  # a supervisor's top, per message
                logger.exception("sensor %s: handling mid %d failed", sensor.equipment, msg.mid)
                self._bad(sensor, PayloadError("handler_failed", repr(err)), msg.topic, payload)

        return handle

    def handle(self, sensor: SensorConfig, payload: bytes, *, topic: str = "") -> None:
        """Parse one payload and pass its readings on; count, log and dead-letter a bad one."""
        try:
            readings = parse_payload(
                sensor,
                payload,
                received_ms=to_epoch_ms(self._clock.now()),
                limits=self._limits,
            )
        except PayloadError as err:
            self._bad(sensor, err, topic or sensor.topic, payload)
            return
        with self._lock:
            self.messages += 1
            self.readings += len(readings)
            self.good[sensor.equipment] = self.good.get(sensor.equipment, 0) + 1
        self._sink(readings)

    def _bad(self, sensor: SensorConfig, err: PayloadError, topic: str, payload: bytes) -> None:
        key = (sensor.equipment, err.reason)
        with self._lock:
            self.messages += 1
            self.bad_payloads[err.reason] = self.bad_payloads.get(err.reason, 0) + 1
            first = key not in self._logged
            self._logged.add(key)
        level = logging.WARNING if first else logging.DEBUG
        logger.log(level, "sensor %s on %s: bad payload: %s", sensor.equipment, topic, err)
        if self._dead is not None:
            self._dead.send(DeadLetter(err.reason, err.detail, topic, None, payload))

    def answered(self, equipment: list[str]) -> int:
        """How many good messages the sensors `equipment` have given so far."""
        with self._lock:
            return sum(self.good.get(eq, 0) for eq in equipment)

    def counters(self) -> dict[str, Any]:
        """Counters for the status message."""
        with self._lock:
            return {
                "messages": self.messages,
                "readings": self.readings,
                "bad_payloads": dict(self.bad_payloads),
            }
