"""The InfluxDB v1 adapter against a real influxd."""

from __future__ import annotations

import pytest

from bldgwatch.core import lineproto
from bldgwatch.core.config import InfluxSettings
from bldgwatch.core.tsdb import PartialWriteError, TsdbError, open_store
from bldgwatch.servers import free_port

pytestmark = pytest.mark.services


def test_write_then_query_back(influx_settings: InfluxSettings) -> None:
    store = open_store(influx_settings)
    store.ensure_database()
    body = lineproto.join(
        [
            lineproto.line("pump", {"site": "s", "equipment": "P-01"}, {"t": 50.0}, 1_000),
            lineproto.line("pump", {"site": "s", "equipment": "P-01"}, {"t": 51.0}, 2_000),
            lineproto.line("pump", {"site": "s", "equipment": "P-01"}, {"t": 52.0}, 2_000),
        ]
    )
    store.write(body)
    rows = store.query("SELECT t FROM pump WHERE equipment='P-01'")
    # The same point identity twice: the second write wins.
    assert [(r["time"], r["t"]) for r in rows] == [(1_000, 50.0), (2_000, 52.0)]
    assert store.ping()
    store.close()


def test_partial_write_names_the_bad_line(influx_settings: InfluxSettings) -> None:
    store = open_store(influx_settings)
    store.ensure_database()
    store.write(b"m f=1.0 1000")
    with pytest.raises(PartialWriteError) as err:
        store.write(b"m f=2.0 2000\nm f=true 3000")
    # InfluxDB 1.x names no line numbers: the caller must find the bad line itself.
    assert err.value.bad_lines in ([], [1])
    assert "field type conflict" in str(err.value)
    assert err.value.status == 400
    assert [r["f"] for r in store.query("SELECT f FROM m")] == [1.0, 2.0]


def test_unreachable_server_is_retryable() -> None:
    store = open_store(InfluxSettings(url=f"http://127.0.0.1:{free_port()}", timeout_s=1))
    with pytest.raises(TsdbError) as err:
        store.write(b"m f=1.0 1")
    assert err.value.retryable
    assert not store.ping()
