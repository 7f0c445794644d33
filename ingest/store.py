"""What ingest needs of the time-series store (a subset of core.tsdb.TimeSeriesStore)."""

from __future__ import annotations

import gzip
from typing import Protocol

import httpx

from bldgwatch.core.config import InfluxSettings
from bldgwatch.core.httpclient import http_client
from bldgwatch.core.tsdb import TimeSeriesStore, open_store
from bldgwatch.core.tsdb.v1 import InfluxV1


class LineStore(Protocol):
    """Writes line protocol and can (re)create its database."""

    def write(self, body: bytes, *, precision: str = "ms") -> None:
        """Write line protocol; raise core.tsdb.TsdbError / PartialWriteError."""
        ...

    def ensure_database(self) -> None:
        """Create the database (v1) or check the bucket (v2)."""
        ...


class GzipWrites(httpx.BaseTransport):
    """An httpx transport that gzips the bodies of `/write` requests (InfluxDB 1.x accepts
    `Content-Encoding: gzip`), so core's v1 adapter sends compressed batches unchanged."""

    def __init__(self, inner: httpx.BaseTransport, *, level: int = 1) -> None:
        self._inner = inner
        self._level = level

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/write") and "content-encoding" not in request.headers:
            body = gzip.compress(request.read(), compresslevel=self._level)
            headers = httpx.Headers(request.headers)
            headers["Content-Encoding"] = "gzip"
            headers["Content-Length"] = str(len(body))
            request = httpx.Request(request.method, request.url, headers=headers, content=body)
        return self._inner.handle_request(request)

    def close(self) -> None:
        self._inner.close()


def open_line_store(settings: InfluxSettings, *, compress: bool) -> TimeSeriesStore:
    """The store ingest writes through: core's adapter, with gzip bodies on v1 when asked.

    (The v2 adapter's influxdb-client is left as core configures it.)
    """
    if settings.api != "v1" or not compress:
        return open_store(settings)
    auth = (settings.username, settings.password or "") if settings.username else None
    client = http_client(
        base_url=settings.url,
        timeout=settings.timeout_s,
        auth=auth,
        transport=GzipWrites(httpx.HTTPTransport()),
    )
    return InfluxV1(settings, client=client)
