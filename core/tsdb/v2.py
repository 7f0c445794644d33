"""InfluxDB 2.x adapter through influxdb-client (token, org, bucket); InfluxQL through the
v1-compatibility `/query` endpoint, which needs a DBRP mapping for the bucket."""

from __future__ import annotations

from typing import Any, cast

from influxdb_client.client.influxdb_client import InfluxDBClient
from influxdb_client.client.write_api import SYNCHRONOUS
from influxdb_client.domain.write_precision import WritePrecision
from influxdb_client.rest import ApiException

from bldgwatch.core.config import InfluxSettings
from bldgwatch.core.httpclient import http_client
from bldgwatch.core.tsdb.base import Row, TsdbError
from bldgwatch.core.tsdb.v1 import flatten

# influxdb-client types write_precision as WritePrecision, whose members are plain strings.
_PRECISIONS = {"ns", "us", "ms", "s"}


def _precision(precision: str) -> WritePrecision:
    if precision not in _PRECISIONS:
        raise TsdbError(f"unknown write precision {precision!r}", retryable=False)
    return cast(WritePrecision, precision)


class InfluxV2:
    """Writes through influxdb-client's synchronous write API."""

    def __init__(self, settings: InfluxSettings) -> None:
        if not (settings.token and settings.org and settings.bucket):
            raise TsdbError("InfluxDB v2 needs token, org and bucket", retryable=False)
        self._org: str = settings.org
        self.raw_keep = settings.raw_keep
        self._bucket: str = settings.bucket
        self._client = InfluxDBClient(
            url=settings.url,
            token=settings.token,
            org=settings.org,
            timeout=int(settings.timeout_s * 1000),
        )
        self._write = self._client.write_api(write_options=SYNCHRONOUS)
        self._http = http_client(
            base_url=settings.url,
            timeout=settings.timeout_s,
            headers={"Authorization": f"Token {settings.token}"},
        )

    def ensure_database(self) -> None:
        found = self._client.buckets_api().find_bucket_by_name(self._bucket)  # type: ignore[no-untyped-call]
        if found is None:
            raise TsdbError(f"bucket {self._bucket!r} does not exist", retryable=False)

    def write(self, body: bytes, *, precision: str = "ms") -> None:
        try:
            self._write.write(
                bucket=self._bucket,
                org=self._org,
                record=body,
                write_precision=_precision(precision),
            )
        except ApiException as err:
            status = int(err.status or 0)
            headers: dict[str, Any] = dict(err.headers or {})
            retry_after = headers.get("Retry-After")
            raise TsdbError(
                f"InfluxDB {status}: {err.body}",
                retryable=status == 429 or status >= 500,
                retry_after=float(retry_after) if retry_after else None,
            ) from err
        except OSError as err:  # urllib3 connection errors derive from OSError
            raise TsdbError(f"InfluxDB unreachable: {err}", retryable=True) from err

    def query(self, influxql: str) -> list[Row]:
        resp = self._http.get("/query", params={"db": self._bucket, "q": influxql, "epoch": "ms"})
        if resp.status_code != 200:
            raise TsdbError(
                f"InfluxDB {resp.status_code}: {resp.text[:500]}", retryable=resp.status_code >= 500
            )
        return flatten(resp.json())

    def ping(self) -> bool:
        return bool(self._client.ping())

    def close(self) -> None:
        self._http.close()
        self._client.close()  # type: ignore[no-untyped-call]
