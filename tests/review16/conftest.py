"""Fixtures of the review of issue 16: the alerts tests' provider sinks and the console
tests' client factory."""

from __future__ import annotations

from tests.alerts.conftest import http_sink, smtp_sink
from tests.console.conftest import closed_influx, make_client

__all__ = ["closed_influx", "http_sink", "make_client", "smtp_sink"]
