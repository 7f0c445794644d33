"""MQTT-native sensors: JSON payloads mapped to readings by dotted paths.

`parse_payload` is pure. `SensorHub` holds the per-sensor handlers; they run on paho's
network thread, parse there, and hand the readings to the gateway's sink, which must be
thread-safe (the service hands over with `loop.call_soon_threadsafe`). A bad payload is
logged and counted by reason; it never reaches the queue and never stops the hub.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any

import orjson
import paho.mqtt.client as paho

from bldgwatch.core.clock import Clock, to_epoch_ms
from bldgwatch.core.models import Quality, Reading
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
        if not math.isfinite(raw) or raw < 0:
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
    if isinstance(raw, int | float) and math.isfinite(raw):
        return raw
    raise PayloadError("bad_value", f"point {point}: {raw!r} is not a finite number or boolean")


def parse_payload(sensor: SensorConfig, payload: bytes, *, received_ms: int) -> list[Reading]:
    """Readings of the configured points present in a JSON payload.

    Points missing from the payload are skipped (sensors may send partial updates); a
    present point with a bad value, a bad timestamp or no point at all is a PayloadError.
    """
    try:
        doc = orjson.loads(payload)
    except orjson.JSONDecodeError as err:
        raise PayloadError("malformed_json", str(err)) from err
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

    def __init__(self, *, sink: Callable[[list[Reading]], None], clock: Clock) -> None:
        self._sink = sink
        self._clock = clock
        self._lock = threading.Lock()
        self.messages = 0
        self.readings = 0
        self.bad_payloads: dict[str, int] = {}
        self._logged: set[tuple[str, str]] = set()

    def handler(self, sensor: SensorConfig) -> Callable[[paho.MQTTMessage], None]:
        """The message handler of one sensor (called on the MQTT network thread)."""

        def handle(msg: paho.MQTTMessage) -> None:
            self.handle(sensor, bytes(msg.payload))

        return handle

    def handle(self, sensor: SensorConfig, payload: bytes) -> None:
        """Parse one payload and pass its readings on; count and log a bad one."""
        try:
            readings = parse_payload(sensor, payload, received_ms=to_epoch_ms(self._clock.now()))
        except PayloadError as err:
            self._bad(sensor, err)
            return
        with self._lock:
            self.messages += 1
            self.readings += len(readings)
        self._sink(readings)

    def _bad(self, sensor: SensorConfig, err: PayloadError) -> None:
        key = (sensor.equipment, err.reason)
        with self._lock:
            self.messages += 1
            self.bad_payloads[err.reason] = self.bad_payloads.get(err.reason, 0) + 1
            first = key not in self._logged
            self._logged.add(key)
        level = logging.WARNING if first else logging.DEBUG
        logger.log(level, "sensor %s on %s: bad payload: %s", sensor.equipment, sensor.topic, err)

    def counters(self) -> dict[str, Any]:
        """Counters for the status message."""
        with self._lock:
            return {
                "messages": self.messages,
                "readings": self.readings,
                "bad_payloads": dict(self.bad_payloads),
            }
