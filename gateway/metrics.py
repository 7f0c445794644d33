"""The gateway's counters as Prometheus metrics (prometheus_client), read from its status.

`StatusCollector` turns the status document (the same one the retained status topic carries)
into metric families when scraped; `core.metrics.MetricsServer` serves it with `/healthz`.
The status is computed by whoever the `status` callable asks: the gateway's service makes it
ask its event loop, which owns the queue and the pollers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

PREFIX = "bldgwatch_gateway_"
GATEWAY_LABELS = ("site", "gateway")

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
    (
        ("queue", "gathering"),
        "queue_gathering_readings",
        "gauge",
        "Readings polled and not yet written (queue.flush_deadline_s).",
    ),
    (
        ("queue", "urgent_commits"),
        "queue_urgent_commits_total",
        "counter",
        "Polls written and sent at once for a change of a priority point.",
    ),
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


Family = CounterMetricFamily | GaugeMetricFamily


def _family(name: str, kind: str, help_text: str, labels: tuple[str, ...]) -> Family:
    if kind == "counter":
        return CounterMetricFamily(PREFIX + name, help_text, labels=labels)
    return GaugeMetricFamily(PREFIX + name, help_text, labels=labels)


def _dig(doc: dict[str, Any], path: tuple[str, ...]) -> Any:
    node: Any = doc
    for part in path:
        node = node.get(part) if isinstance(node, dict) else None
    return node


def _number(value: Any) -> float | None:
    """A number (True/False as 1/0); None for anything else, e.g. an unknown state."""
    if isinstance(value, bool | int | float):
        return float(value)
    return None


def status_metrics(status: dict[str, Any]) -> Iterator[Metric]:
    """The metric families of one gateway status document."""
    gw = [str(status.get("site", "")), str(status.get("gateway", ""))]
    for path, name, kind, help_text in _SCALARS:
        value = _number(_dig(status, path))
        if value is not None:
            family = _family(name, kind, help_text, GATEWAY_LABELS)
            family.add_metric(gw, value)
            yield family
    devices: dict[str, dict[str, Any]] = status.get("devices", {})
    for key, name, kind, help_text in _DEVICE:
        family = _family(name, kind, help_text, (*GATEWAY_LABELS, "equipment"))
        for equipment, dev in sorted(devices.items()):
            value = _number(dev.get(key))
            if value is not None:
                family.add_metric([*gw, equipment], value)
        yield family
    exceptions = _family(
        "device_exceptions_total",
        "counter",
        "Exception answers: Modbus exception codes, DL/T 645 error bytes.",
        (*GATEWAY_LABELS, "equipment", "code"),
    )
    for equipment, dev in sorted(devices.items()):
        for code, count in sorted(dev.get("exceptions", {}).items()):
            exceptions.add_metric([*gw, equipment, str(code)], count)
    yield exceptions
    bad = _family(
        "sensor_bad_payloads_total",
        "counter",
        "Rejected sensor payloads.",
        (*GATEWAY_LABELS, "reason"),
    )
    for reason, count in sorted((_dig(status, ("sensors", "bad_payloads")) or {}).items()):
        bad.add_metric([*gw, reason], count)
    yield bad


class StatusCollector:
    """A prometheus_client collector: the status document's figures at scrape time."""

    def __init__(self, status: Callable[[], dict[str, Any]]) -> None:
        self._status = status

    def collect(self) -> Iterator[Metric]:
        """The metric families of the current status."""
        yield from status_metrics(self._status())


def gateway_registry(status: Callable[[], dict[str, Any]]) -> CollectorRegistry:
    """A registry holding only the gateway's own metrics (not the library's defaults)."""
    registry = CollectorRegistry()
    registry.register(StatusCollector(status))
    return registry
