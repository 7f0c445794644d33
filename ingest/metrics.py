"""Prometheus text exposition of ingest's counters on `/metrics` (a small HTTP server)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

logger = logging.getLogger(__name__)

PREFIX = "bldgwatch_ingest"
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

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


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _head(name: str, help_text: str, kind: str) -> list[str]:
    return [f"# HELP {PREFIX}_{name} {help_text}", f"# TYPE {PREFIX}_{name} {kind}"]


def render(snapshot: dict[str, Any], gauges: dict[str, float], *, instance: str) -> str:
    """The exposition text for a counters snapshot and the current gauges."""
    label = f'instance="{_escape(instance)}"'
    out: list[str] = []
    for key, (name, help_text) in TOTALS.items():
        out += _head(name, help_text, "counter")
        out.append(f"{PREFIX}_{name}{{{label}}} {int(snapshot.get(key, 0))}")
    for key, (name, help_text) in GROUPS.items():
        out += _head(name, help_text, "counter")
        for reason, count in sorted(dict(snapshot.get(key, {})).items()):
            out.append(f'{PREFIX}_{name}{{{label},reason="{_escape(reason)}"}} {int(count)}')
    for key, (name, help_text) in GAUGES.items():
        if key in gauges:
            out += _head(name, help_text, "gauge")
            out.append(f"{PREFIX}_{name}{{{label}}} {float(gauges[key]):g}")
    return "\n".join(out) + "\n"


class MetricsServer:
    """Serves `render()` of the current figures at GET /metrics, on a daemon thread."""

    def __init__(self, host: str, port: int, produce: Callable[[], str]) -> None:
        self._produce = produce

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path.split("?")[0] != "/metrics":
                    self.send_error(404)
                    return
                body = produce().encode("utf-8")
                self.send_response(200)
                self.send_header("Content-Type", CONTENT_TYPE)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                logger.debug("metrics request: %s", format % args)

        self._server = ThreadingHTTPServer((host, port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="ingest-metrics", daemon=True
        )

    @property
    def port(self) -> int:
        """The bound port."""
        return int(self._server.server_address[1])

    def start(self) -> None:
        """Serve in the background."""
        self._thread.start()
        logger.info("metrics on http://%s:%d/metrics", *self._server.server_address[:2])

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self._server.shutdown()
        self._server.server_close()
