"""ingest's counters as Prometheus metrics (prometheus_client), read when scraped.

`CountersCollector` turns a counters snapshot (`ingest.counters.Counters`, the same figures
the retained status carries) and the current gauges into metric families;
`core.metrics.MetricsServer` serves them on `/metrics`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

PREFIX = "bldgwatch_ingest"

# name in the counters → (metric, help)
TOTALS = {
    "received": ("received_messages_total", "Messages received from the broker."),
    "readings": ("received_readings_total", "Readings (or lines) in decodable messages."),
    "written": ("written_lines_total", "Lines InfluxDB stored."),
    "acked": ("acked_messages_total", "Messages acknowledged to the broker after their write."),
    "retries": ("write_retries_total", "InfluxDB writes retried."),
    "stale_acks": ("stale_acks_total", "Acks skipped because their connection was gone."),
    "handler_failures": (
        "handler_failures_total",
        "Messages whose handling raised (dead-lettered as handler_failed).",
    ),
}
GROUPS = {
    "rejected": ("rejected_total", "Refused messages, readings or lines, by reason."),
    "dead_letters": ("dead_letters_total", "Dead letters published, by reason."),
    "dropped": ("dropped_readings_total", "Readings left out on purpose, by reason."),
}
GAUGES = {
    "lag_s": ("lag_seconds", "Age of the newest reading of the last acknowledged message."),
    "pending": ("pending_lines", "Lines buffered and not yet written."),
}

Figures = tuple[Mapping[str, Any], Mapping[str, float]]
"""A counters snapshot (totals, and per-reason groups) and the current gauges."""


def counter_metrics(
    snapshot: Mapping[str, Any], gauges: Mapping[str, float], *, instance: str
) -> Iterator[Metric]:
    """The metric families of a counters snapshot and the current gauges."""
    for key, (name, help_text) in TOTALS.items():
        total = CounterMetricFamily(f"{PREFIX}_{name}", help_text, labels=["instance"])
        total.add_metric([instance], int(snapshot.get(key, 0)))
        yield total
    for key, (name, help_text) in GROUPS.items():
        group = CounterMetricFamily(f"{PREFIX}_{name}", help_text, labels=["instance", "reason"])
        for reason, count in sorted(dict(snapshot.get(key, {})).items()):
            group.add_metric([instance, reason], int(count))
        yield group
    for key, (name, help_text) in GAUGES.items():
        if key in gauges:
            gauge = GaugeMetricFamily(f"{PREFIX}_{name}", help_text, labels=["instance"])
            gauge.add_metric([instance], float(gauges[key]))
            yield gauge


class CountersCollector:
    """A prometheus_client collector: ingest's figures at scrape time."""

    def __init__(self, figures: Callable[[], Figures], *, instance: str) -> None:
        self._figures = figures
        self._instance = instance

    def collect(self) -> Iterator[Metric]:
        """The metric families of the current figures."""
        snapshot, gauges = self._figures()
        yield from counter_metrics(snapshot, gauges, instance=self._instance)


def ingest_registry(figures: Callable[[], Figures], *, instance: str) -> CollectorRegistry:
    """A registry holding only ingest's own metrics (not the library's defaults)."""
    registry = CollectorRegistry()
    registry.register(CountersCollector(figures, instance=instance))
    return registry
