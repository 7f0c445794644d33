"""The gateway's counters in Prometheus text format, served on a tiny asyncio HTTP endpoint.

`render(status)` is pure: the status document (the same one the retained status topic
carries) becomes exposition-format text. `MetricsServer` answers GET /metrics and
GET /healthz on the gateway's own event loop; nothing else is needed on a Pi.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterator
from typing import Any

logger = logging.getLogger(__name__)

PREFIX = "bldgwatch_gateway_"
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

# (status path, metric name, type, help)
_SCALARS: tuple[tuple[tuple[str, ...], str, str, str], ...] = (
    (("mqtt_connected",), "mqtt_connected", "gauge", "1 while connected to the broker."),
    (("queue", "depth"), "queue_depth_readings", "gauge", "Readings in the durable queue."),
    (("queue", "bytes"), "queue_bytes", "gauge", "Estimated bytes the queue holds."),
    (("queue", "batches"), "queue_batches", "gauge", "Batches sent and not yet acknowledged."),
    (("queue", "oldest_age_s"), "queue_oldest_age_seconds", "gauge", "Age of the oldest reading."),
    (
        ("queue", "dropped"),
        "queue_dropped_readings_total",
        "counter",
        "Readings the quota dropped.",
    ),
    (("queue", "errors"), "queue_errors_total", "counter", "Readings that could not be queued."),
    (("publisher", "published"), "batches_published_total", "counter", "Batches published."),
    (("publisher", "acked"), "batches_acked_total", "counter", "Batches the broker acknowledged."),
    (("publisher", "inflight"), "batches_inflight", "gauge", "Batches awaiting their PUBACK."),
    (("publisher", "readings_sent"), "readings_sent_total", "counter", "Readings published."),
    (
        ("publisher", "backlog_batches"),
        "backlog_batches_total",
        "counter",
        "Batches sent from a backlog while live readings waited.",
    ),
    (
        ("publisher", "live_batches"),
        "live_batches_total",
        "counter",
        "Batches of live readings sent ahead of a draining backlog.",
    ),
    (("sensors", "messages"), "sensor_messages_total", "counter", "MQTT sensor messages."),
    (("sensors", "readings"), "sensor_readings_total", "counter", "MQTT sensor readings."),
)
_DEVICE: tuple[tuple[str, str, str, str], ...] = (
    ("polls", "device_polls_total", "counter", "Polls of the device."),
    ("failed_polls", "device_errors_total", "counter", "Polls that failed."),
    ("readings", "device_readings_total", "counter", "Readings the device yielded."),
    ("reconnects", "device_reconnects_total", "counter", "Connection attempts."),
    ("available", "device_available", "gauge", "1 available, 0 unavailable (absent: unknown)."),
    ("suppressed", "device_suppressed_total", "counter", "Readings report-by-exception held back."),
)


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _labels(**labels: str) -> str:
    inner = ",".join(f'{k}="{_escape(v)}"' for k, v in labels.items())
    return "{" + inner + "}" if inner else ""


def _dig(doc: dict[str, Any], path: tuple[str, ...]) -> Any:
    node: Any = doc
    for part in path:
        node = node.get(part) if isinstance(node, dict) else None
    return node


def _number(value: Any) -> str | None:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int | float):
        return repr(float(value)) if isinstance(value, float) else str(value)
    return None


def _family(name: str, kind: str, help_text: str) -> Iterator[str]:
    yield f"# HELP {PREFIX}{name} {help_text}"
    yield f"# TYPE {PREFIX}{name} {kind}"


def render(status: dict[str, Any]) -> str:
    """Prometheus text exposition of a gateway status document."""
    gw = {"site": str(status.get("site", "")), "gateway": str(status.get("gateway", ""))}
    lines: list[str] = []
    for path, name, kind, help_text in _SCALARS:
        value = _number(_dig(status, path))
        if value is not None:
            lines.extend(_family(name, kind, help_text))
            lines.append(f"{PREFIX}{name}{_labels(**gw)} {value}")
    devices: dict[str, dict[str, Any]] = status.get("devices", {})
    for key, name, kind, help_text in _DEVICE:
        lines.extend(_family(name, kind, help_text))
        for equipment, dev in sorted(devices.items()):
            value = _number(dev.get(key))
            if value is not None:
                lines.append(f"{PREFIX}{name}{_labels(**gw, equipment=equipment)} {value}")
    lines.extend(_family("device_exceptions_total", "counter", "Modbus exception responses."))
    for equipment, dev in sorted(devices.items()):
        for code, count in sorted(dev.get("exceptions", {}).items()):
            labels = _labels(**gw, equipment=equipment, code=str(code))
            lines.append(f"{PREFIX}device_exceptions_total{labels} {count}")
    lines.extend(_family("sensor_bad_payloads_total", "counter", "Rejected sensor payloads."))
    for reason, count in sorted((_dig(status, ("sensors", "bad_payloads")) or {}).items()):
        labels = _labels(**gw, reason=reason)
        lines.append(f"{PREFIX}sensor_bad_payloads_total{labels} {count}")
    return "\n".join(lines) + "\n"


class MetricsServer:
    """GET /metrics (Prometheus text) and GET /healthz, on the caller's event loop."""

    def __init__(self, host: str, port: int, status: Callable[[], dict[str, Any]]) -> None:
        self._host = host
        self._port = port
        self._status = status
        self._server: asyncio.Server | None = None

    @property
    def port(self) -> int:
        """The port listened on (the real one when asked for 0)."""
        if self._server is None or not self._server.sockets:
            return self._port
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    async def start(self) -> None:
        """Listen; an address in use is logged once and the gateway runs on without it."""
        try:
            self._server = await asyncio.start_server(self._handle, self._host, self._port)
        except OSError as err:
            logger.error("metrics endpoint %s:%s not served: %s", self._host, self._port, err)
            return
        logger.info("metrics on http://%s:%s/metrics", self._host, self.port)

    async def stop(self) -> None:
        """Stop listening."""
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._server.wait_closed(), 2)
            self._server = None

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
            method, _, rest = request.decode("latin-1").partition(" ")
            path = rest.split(" ", 1)[0].split("?", 1)[0]
            status, body, ctype = self._respond(method, path)
            head = (
                f"HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\n"
                f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
            )
            writer.write(head.encode() + body)
            await writer.drain()
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError, OSError):
            pass  # a client that went away or sent garbage gets nothing
        finally:
            writer.close()

    def _respond(self, method: str, path: str) -> tuple[str, bytes, str]:
        if method != "GET":
            return "405 Method Not Allowed", b"GET only\n", "text/plain"
        if path == "/metrics":
            return "200 OK", render(self._status()).encode(), CONTENT_TYPE
        if path == "/healthz":
            return "200 OK", b"ok\n", "text/plain"
        return "404 Not Found", b"not found\n", "text/plain"
