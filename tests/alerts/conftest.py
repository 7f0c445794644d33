"""Fixtures of the alerts tests: provider sinks."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.alerts.sinks import HttpSink, SmtpSink, serve_http, serve_smtp


@pytest.fixture
def http_sink() -> Iterator[HttpSink]:
    """An HTTP sink on a free port."""
    yield from serve_http(HttpSink())


@pytest.fixture
def smtp_sink() -> Iterator[SmtpSink]:
    """A real SMTP server on a free port."""
    yield from serve_smtp(SmtpSink())
