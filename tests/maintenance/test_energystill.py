"""Fifth review of issue 20, M2, against a real InfluxDB 1.x: a counter that has not moved in
all the look-back (`STUCK_LOOKBACK`) is read from its last rise — one query over the hourly
counters finds it — and judged by its hours before it; one that never moved in what is kept
is "still" (stuck or out of use?) unless its own power reading tells: above 0 is a jam, 0 is
idle. Before, all of them were idle: 0 used, no flag, a 100 % saving."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bldgwatch.core.clock import to_epoch_ms
from bldgwatch.core.config import InfluxSettings
from bldgwatch.core.lineproto import join, line
from bldgwatch.core.tsdb.v1 import InfluxV1
from bldgwatch.maintenance import energydownsample
from bldgwatch.maintenance.energy import Meter, account, buckets
from bldgwatch.maintenance.energystore import last_rises, read_history, read_power, read_samples

pytestmark = pytest.mark.services

ZONE = ZoneInfo("Asia/Shanghai")
FIRST = datetime(2026, 9, 1, tzinfo=ZONE).astimezone(UTC)
DAY = date(2026, 12, 1)  # the window asked: 1 December
WINDOW = datetime(2026, 12, 1, tzinfo=ZONE).astimezone(UTC)
STEP = timedelta(minutes=15)


def _readings(jams: dict[str, datetime]) -> list[str]:
    """Each meter 4 kWh an hour from 1 September until its jam, then still to 2 December;
    EM-P and EM-Z never move and read 40 kW and 0 kW on 1 December."""
    out = []
    at = FIRST
    while at < WINDOW + timedelta(days=1, hours=1):
        for meter, jam in jams.items():
            tags = {"site": "s1", "building": "B1", "equipment": meter, "gateway": "g"}
            value = 1000.0 + 4.0 * (min(at, jam) - FIRST) / timedelta(hours=1)
            fields: dict[str, float] = {"energy_kwh": value}
            if meter in ("EM-P", "EM-Z") and at >= WINDOW:
                fields["power_kw"] = 40.0 if meter == "EM-P" else 0.0
            out.append(line("electricity_meter", tags, fields, to_epoch_ms(at)))
        at += STEP
    return out


@pytest.mark.parametrize("raw_retention", ["30d", "INF"])
def test_a_counter_still_past_the_look_back_is_judged_from_its_last_rise(
    influx_settings: InfluxSettings, raw_retention: str
) -> None:
    """EM-61 and EM-75 jammed 61 and 75 days before 1 December (past the 60-day look-back),
    EM-10 10 days before; EM-I, EM-P, EM-Z never moved. With raw readings that expire, the
    last rise is found in the hourly counters; kept for ever, in the raw readings."""
    settings = influx_settings.model_copy(update={"raw_retention": raw_retention})
    store = InfluxV1(settings)
    store.ensure_database()
    energydownsample.ensure(store, settings.database)
    jams = {
        "EM-10": WINDOW - timedelta(days=10),
        "EM-61": WINDOW - timedelta(days=61),
        "EM-75": WINDOW - timedelta(days=75),
        "EM-I": FIRST,
        "EM-P": FIRST,
        "EM-Z": FIRST,
    }
    rows = _readings(jams)
    for k in range(0, len(rows), 20_000):
        store.write(join(rows[k : k + 20_000]), precision="ms")
    energydownsample.backfill(store, settings.database, FIRST, WINDOW + timedelta(days=2))

    still = {"EM-61": 1000.0 + 4.0 * 24 * 30, "EM-I": 1000.0}  # 1 Oct: 30 days after 1 Sep
    rises = last_rises(store, site="s1", kind="electricity", current=still, before=WINDOW)
    assert set(rises) == {"EM-61"}  # EM-I never rose: not in the answer
    assert jams["EM-61"] - timedelta(hours=1) <= rises["EM-61"] < jams["EM-61"]

    meters = [Meter(m, "electricity_meter", "B1", "mains", None, 1e6) for m in jams]
    edges = buckets(DAY, DAY + timedelta(days=1), "day", ZONE)
    now = WINDOW + timedelta(days=1, hours=2)
    kw = {"site": "s1", "kind": "electricity"}
    samples = read_samples(store, **kw, start=edges[0].start, end=edges[-1].end, now=now)
    history = read_history(store, **kw, start=edges[0].start, now=now, ids=list(jams))
    power = read_power(store, **kw, start=edges[0].start, end=edges[-1].end)
    acc = account(meters, samples, edges, unit="kWh", history=history, power=power)
    kinds = {m: sorted(f.kind for f in acc.flags if f.meter == m) for m in jams}
    assert kinds == {
        "EM-10": ["stuck"],
        "EM-61": ["stuck"],  # was [] (idle: 0 used, a 100 % saving)
        "EM-75": ["stuck"],  # was []
        "EM-I": ["still"],  # no rise in all that is kept, no power reading: stuck or unused?
        "EM-P": ["stuck"],  # 40 kW with a still counter: a jam
        "EM-Z": [],  # 0 kW: idle
    }
    for m in ("EM-10", "EM-61", "EM-75", "EM-I", "EM-P"):
        assert acc.meters[m].stuck == [True], m  # left out of the savings
        assert acc.meters[m].values == [0.0], m
    assert acc.meters["EM-Z"].stuck == [False]
    [em_i] = [f for f in acc.flags if f.meter == "EM-I"]
    assert em_i.amount == 92  # 1 September, its first reading, to the one after the window
    [em75] = [f for f in acc.flags if f.meter == "EM-75"]
    assert em75.start <= jams["EM-75"] + timedelta(hours=1)  # judged from where it froze
    store.close()
