"""A component's `/metrics` (Prometheus) and `/healthz`, served by prometheus_client.

A component describes its figures as a prometheus_client collector that reads them when
scraped (the same counters its retained status carries) and hands the registry to
`MetricsServer`. The server is prometheus_client's WSGI app behind one small route table, on
the standard library's threaded WSGI server, on a daemon thread:

* `GET /metrics`: the registry (text format 0.0.4, or OpenMetrics when asked; gzip when
  accepted); another method gets 405;
* `GET /healthz`: `ok` when the component says it is healthy (for the gateway: its event
  loop answers), else 503;
* anything else: 404.

Services that keep their counters as plain numbers (they also go into the retained status)
describe them as `Family` values; `snapshot_registry` turns a snapshot of them into metric
families at every scrape, so nothing is counted twice and no metric object is shared between
threads, and `exposition` renders the same for a web app that serves /metrics itself.

Base install only (prometheus_client and the standard library), so the gateway serves it on
a Pi.
"""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import make_wsgi_app
from prometheus_client.registry import Collector

logger = logging.getLogger(__name__)

StartResponse = Callable[..., Any]
WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]

_TEXT = ("Content-Type", "text/plain; charset=utf-8")


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


def snapshot_registry(prefix: str, snapshot: Snapshot) -> CollectorRegistry:
    """A registry whose metrics are `snapshot()`, named `{prefix}_{family.name}`."""
    registry = CollectorRegistry()
    registry.register(_SnapshotCollector(prefix, snapshot))
    return registry


def exposition(prefix: str, snapshot: Snapshot) -> bytes:
    """The Prometheus text of `snapshot()` (for a web app that serves /metrics itself)."""
    return generate_latest(snapshot_registry(prefix, snapshot))


def metrics_app(registry: CollectorRegistry, healthy: Callable[[], bool] = lambda: True) -> WsgiApp:
    """The WSGI app: /metrics from `registry`, /healthz from `healthy`, 404 and 405 otherwise."""
    metrics = make_wsgi_app(registry)

    def app(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path == "/metrics":
            answer: Iterable[bytes] = metrics(environ, start_response)
            return answer
        if environ["REQUEST_METHOD"] != "GET":
            start_response("405 Method Not Allowed", [_TEXT, ("Allow", "GET")])
            return [b"GET only\n"]
        if path == "/healthz":
            if healthy():
                start_response("200 OK", [_TEXT])  # a new list: the server adds to it
                return [b"ok\n"]
            start_response("503 Service Unavailable", [_TEXT])
            return [b"unhealthy\n"]
        start_response("404 Not Found", [_TEXT])
        return [b"not found\n"]

    return app


class _Handler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("metrics request: %s", format % args)


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True  # a slow scraper never holds up the process's exit


class _Server6(_Server):
    address_family = socket.AF_INET6


class MetricsServer:
    """Serves `metrics_app(registry)` on `host:port` (0: any free port) on a daemon thread."""

    def __init__(
        self,
        host: str,
        port: int,
        registry: CollectorRegistry,
        *,
        name: str,
        healthy: Callable[[], bool] = lambda: True,
    ) -> None:
        self._host = host
        self._port = port
        self._app = metrics_app(registry, healthy)
        self._name = name
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        """The port listened on (the real one when asked for 0)."""
        if self._server is None:
            return self._port
        return int(self._server.server_address[1])

    def start(self) -> None:
        """Bind and serve in the background; OSError when the address cannot be had."""
        server_class = _Server6 if ":" in self._host else _Server
        self._server = make_server(
            self._host, self._port, self._app, server_class=server_class, handler_class=_Handler
        )
        self._thread = threading.Thread(
            target=self._server.serve_forever, name=f"{self._name}-metrics", daemon=True
        )
        self._thread.start()
        logger.info("metrics on http://%s:%d/metrics", self._host, self.port)

    def stop(self) -> None:
        """Stop serving and close the socket (a no-op when not started)."""
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(5)
        self._server = None
