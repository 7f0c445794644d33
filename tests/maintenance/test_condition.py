"""Condition indicators: the pump vibration trend, pure and from InfluxDB into the stage."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.orm import Session, sessionmaker

from bldgwatch.core.config import InfluxSettings
from bldgwatch.core.tsdb import open_store
from bldgwatch.maintenance.assets import import_site
from bldgwatch.maintenance.condition import influx_condition, vibration_indicator
from bldgwatch.maintenance.incidents import IncidentPolicy, process_event
from bldgwatch.maintenance.models import WorkOrderRow
from tests.maintenance.conftest import T0, EventFactory, demo_site

DAY0 = datetime(2026, 2, 1, tzinfo=UTC)


def _days(values: list[float]) -> list[tuple[datetime, float]]:
    return [(DAY0 + timedelta(days=i), v) for i, v in enumerate(values)]


@pytest.mark.parametrize(
    ("values", "machine_class", "expected"),
    [
        ([1.0] * 20, "I", 0.0),  # steady in zone B
        ([3.15] * 20, "I", pytest.approx(0.5)),  # halfway between B/C 1.8 and C/D 4.5
        ([6.0] * 20, "I", 1.0),
        ([3.15] * 20, "II", pytest.approx(0.0813, abs=1e-3)),  # (3.15-2.8)/(7.1-2.8)
        ([1.0 + 0.01 * i for i in range(20)], "I", pytest.approx((2.09 - 1.8) / 2.7, abs=1e-3)),
        ([1.0] * 3, "I", None),  # too few days
    ],
)
def test_vibration_indicator(values: list[float], machine_class: str, expected: object) -> None:
    assert vibration_indicator(_days(values), machine_class) == expected


@pytest.mark.services
def test_rising_vibration_pushes_a_new_order_towards_late_life(
    influx_settings: InfluxSettings, sessions: sessionmaker[Session], make_event: EventFactory
) -> None:
    store = open_store(influx_settings)
    store.ensure_database()
    lines = []
    for day in range(25):  # 1.5 mm/s rising 0.1 a day: class I, heading into zone D
        ts = int((T0 - timedelta(days=25 - day)).timestamp() * 1000)
        lines.append(
            f"pump,site=demo,building=B1,equipment=P-01 vibration_mm_s={1.5 + 0.1 * day} {ts}"
        )
    store.write("\n".join(lines).encode())
    with sessions() as s:
        import_site(s, demo_site())
        s.commit()
    reader = influx_condition(store)
    assert reader("demo", "P-01", "pump", "I", T0) == {"vibration_trend": 1.0}
    assert reader("demo", "E-01", "elevator", None, T0) == {}
    process_event(sessions, make_event(), IncidentPolicy(condition=reader))
    with sessions() as s:
        order = s.query(WorkOrderRow).one()
    assert order.stage == "late"  # 5.75 years old: mid life by age alone
    assert "vibration_trend at 100% of its limit" in order.stage_reason
    assert order.stage_detail["params"]["condition"] == {"vibration_trend": 1.0}
    store.close()
