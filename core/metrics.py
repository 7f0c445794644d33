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

Base install only (prometheus_client and the standard library), so the gateway serves it on
a Pi.
"""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Callable, Iterable
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import CollectorRegistry
from prometheus_client.exposition import make_wsgi_app

logger = logging.getLogger(__name__)

StartResponse = Callable[..., Any]
WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]

_TEXT = ("Content-Type", "text/plain; charset=utf-8")


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
