"""Fixtures of the review of issue 16: the alerts tests' provider sinks."""

from __future__ import annotations

from tests.alerts.conftest import http_sink, smtp_sink

__all__ = ["http_sink", "smtp_sink"]
