"""InfluxDB 1.x HTTP API adapter (also served by 2.x/3.x compatibility endpoints)."""

from __future__ import annotations

import re
from typing import Any

import httpx

from bldgwatch.core.config import InfluxSettings
from bldgwatch.core.httpclient import http_client
from bldgwatch.core.tsdb.base import PartialWriteError, Row, TsdbError

_BAD_LINE = re.compile(r"line (\d+)")


def _retry_after(resp: httpx.Response) -> float | None:
    value = resp.headers.get("Retry-After")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


class InfluxV1:
    """Line protocol to `/write`, InfluxQL to `/query`."""

    def __init__(self, settings: InfluxSettings, *, client: httpx.Client | None = None) -> None:
        self._s = settings
        self.raw_keep = settings.raw_keep
        auth = (settings.username, settings.password or "") if settings.username else None
        self._http = client or http_client(
            base_url=settings.url, timeout=settings.timeout_s, auth=auth
        )

    def ensure_database(self) -> None:
        self._post_query(f'CREATE DATABASE "{self._s.database}"')

    def execute(self, influxql: str) -> None:
        """A statement that changes the database (CREATE …, SELECT … INTO), in the configured
        database; TsdbError when InfluxDB refuses it."""
        try:
            resp = self._http.post(
                "/query", params={"db": self._s.database, "q": influxql, "epoch": "ms"}
            )
        except httpx.TransportError as err:
            raise TsdbError(f"InfluxDB unreachable: {err}", retryable=True) from err
        if resp.status_code != 200:
            self._raise_for(resp)
        flatten(resp.json())  # raises on a statement's error

    def write(self, body: bytes, *, precision: str = "ms") -> None:
        params = {"db": self._s.database, "precision": precision}
        if self._s.retention_policy:
            params["rp"] = self._s.retention_policy
        try:
            resp = self._http.post("/write", params=params, content=body)
        except httpx.TransportError as err:
            raise TsdbError(f"InfluxDB unreachable: {err}", retryable=True) from err
        if resp.status_code == 204:
            return
        self._raise_for(resp)

    def _raise_for(self, resp: httpx.Response) -> None:
        msg = f"InfluxDB {resp.status_code}: {resp.text.strip()[:500]}"
        status = resp.status_code
        if status == 429 or status >= 500:
            raise TsdbError(msg, retryable=True, retry_after=_retry_after(resp), status=status)
        if status == 400 and "partial write" in resp.text:
            # Servers that name lines count from 1; bad_lines is 0-based.
            bad = sorted({int(m) - 1 for m in _BAD_LINE.findall(resp.text)})
            raise PartialWriteError(msg, bad_lines=bad, status=status)
        raise TsdbError(msg, retryable=False, status=status)

    def _post_query(self, q: str) -> dict[str, Any]:
        try:
            resp = self._http.post("/query", params={"q": q})
        except httpx.TransportError as err:
            raise TsdbError(f"InfluxDB unreachable: {err}", retryable=True) from err
        if resp.status_code != 200:
            self._raise_for(resp)
        doc: dict[str, Any] = resp.json()
        return doc

    def query(self, influxql: str) -> list[Row]:
        try:
            resp = self._http.get(
                "/query", params={"db": self._s.database, "q": influxql, "epoch": "ms"}
            )
        except httpx.TransportError as err:
            raise TsdbError(f"InfluxDB unreachable: {err}", retryable=True) from err
        if resp.status_code != 200:
            self._raise_for(resp)
        return flatten(resp.json())

    def ping(self) -> bool:
        try:
            return self._http.get("/ping").status_code == 204
        except httpx.TransportError:
            return False

    def close(self) -> None:
        self._http.close()


def flatten(doc: dict[str, Any]) -> list[Row]:
    """InfluxQL JSON → one dict per row, with the series' tags merged in."""
    rows: list[Row] = []
    for result in doc.get("results", []):
        if "error" in result:
            raise TsdbError(f"InfluxQL error: {result['error']}", retryable=False)
        for series in result.get("series", []):
            tags = series.get("tags", {})
            cols = series["columns"]
            for values in series.get("values", []):
                row = dict(zip(cols, values, strict=True))
                row.update(tags)
                row.setdefault("_measurement", series.get("name"))
                rows.append(row)
    return rows
