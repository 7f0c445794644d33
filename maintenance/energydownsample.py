"""Hourly counters for metering at fleet scale (issue 20, point 6; docs/architecture.md,
"Meters and energy accounting").

A continuous query keeps, per meter and hour, the counter's first reading of the hour in the
retention policy `RETENTION` (the first, not the last: InfluxDB stamps a GROUP BY time()
value with the interval's start, so the first reading moves by at most a polling interval
where the last would move by up to an hour) — the counter itself, not an increment, so everything
`maintenance.energy` decides (rollover, reset or replaced meter, a gap's share, a stuck
counter at hour resolution) is still decided in Python over those samples, only 60 times
fewer of them. `statements()` creates the policy and the queries (idempotent: InfluxDB 1.x
accepts a repeated CREATE with the same definition); `backfill()` fills a window the query
never saw (it runs forward only from its creation), with the same SELECT … INTO.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from bldgwatch.core.clock import to_epoch_ms
from bldgwatch.core.site import METER_COUNTERS
from bldgwatch.core.tsdb.v1 import InfluxV1

RETENTION = "counters_1h"
GAP_AFTER = timedelta(hours=2)
"""Hourly samples further apart than this are a gap (one hour's sample missing)."""
KEEP = "1830d"
"""Five years: the longest window of month buckets (`console.routers.energy.MOST_DAYS`)."""


def _ident(name: str) -> str:
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _select_into(database: str, meter_type: str) -> str:
    point = _ident(METER_COUNTERS[meter_type][0])
    target = f"{_ident(database)}.{_ident(RETENTION)}.{_ident(meter_type)}"
    # Every name is a quoted identifier.
    into = f"INTO {target} FROM {_ident(meter_type)}"
    return f"SELECT first({point}) AS {point} {into}"


def statements(database: str) -> list[str]:
    """The retention policy and one continuous query per meter type (the first counter reading
    of each hour, every tag kept)."""
    policy = f"{_ident(RETENTION)} ON {_ident(database)}"
    out = [f"CREATE RETENTION POLICY {policy} DURATION {KEEP} REPLICATION 1"]
    for meter_type in METER_COUNTERS:
        name = _ident(f"{meter_type}_1h")
        out.append(
            f"CREATE CONTINUOUS QUERY {name} ON {_ident(database)} BEGIN "
            f"{_select_into(database, meter_type)} GROUP BY time(1h), * END"
        )
    return out


def ensure(store: InfluxV1, database: str) -> None:
    """Create the policy and the continuous queries (InfluxDB 1.x)."""
    for statement in statements(database):
        store.execute(statement)


def backfill(store: InfluxV1, database: str, start: datetime, end: datetime) -> None:
    """Write the hourly counters of [start, end) as the continuous query would have."""
    window = f"WHERE time >= {to_epoch_ms(start)}ms AND time < {to_epoch_ms(end)}ms"
    for meter_type in METER_COUNTERS:
        store.execute(f"{_select_into(database, meter_type)} {window} GROUP BY time(1h), *")
