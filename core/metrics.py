"""A Prometheus `/metrics` endpoint (prometheus_client) over a service's own counters.

Services keep their counters as plain numbers (they also go into the retained status); a
`SnapshotCollector` turns a snapshot of them into metric families when Prometheus scrapes, so
nothing is counted twice and no metric object is shared between threads.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from threading import Thread
from wsgiref.simple_server import WSGIServer

from prometheus_client import CollectorRegistry, generate_latest, start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Family:
    """One metric: a plain value, or values by the label `label`."""

    name: str
    help: str
    value: float | Mapping[str, float]
    kind: str = "counter"
    label: str = "reason"


Snapshot = Callable[[], list[Family]]


class _SnapshotCollector(Collector):
    """Builds metric families from `snapshot()` at every scrape."""

    def __init__(self, prefix: str, snapshot: Snapshot) -> None:
        self._prefix = prefix
        self._snapshot = snapshot

    def collect(self) -> Iterator[Metric]:
        for family in self._snapshot():
            name = f"{self._prefix}_{family.name}"
            labels = [] if not isinstance(family.value, Mapping) else [family.label]
            metric: CounterMetricFamily | GaugeMetricFamily
            if family.kind == "counter":
                metric = CounterMetricFamily(name, family.help, labels=labels)
            else:
                metric = GaugeMetricFamily(name, family.help, labels=labels)
            if isinstance(family.value, Mapping):
                for key, value in sorted(family.value.items()):
                    metric.add_metric([key], value)
            else:
                metric.add_metric([], family.value)
            yield metric


def exposition(prefix: str, snapshot: Snapshot) -> bytes:
    """The Prometheus text of `snapshot()` (for a web app that serves /metrics itself)."""
    registry = CollectorRegistry()
    registry.register(_SnapshotCollector(prefix, snapshot))
    return generate_latest(registry)


class MetricsEndpoint:
    """Serves `/metrics` for one service on a daemon thread (port 0 picks a free one)."""

    def __init__(self, prefix: str, snapshot: Snapshot) -> None:
        self.registry = CollectorRegistry()
        self.registry.register(_SnapshotCollector(prefix, snapshot))
        self._server: WSGIServer | None = None
        self._thread: Thread | None = None

    def start(self, host: str, port: int) -> int:
        """Listen; the bound port."""
        self._server, self._thread = start_http_server(port, addr=host, registry=self.registry)
        bound = int(self._server.server_address[1])
        logger.info("metrics on http://%s:%d/metrics", host, bound)
        return bound

    def stop(self) -> None:
        """Stop serving."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
