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
from bldgwatch.maintenance.pumpeff import drift_indicator
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


@pytest.mark.parametrize(
    ("drift", "expected"),
    [(None, None), (-0.1, 0.0), (0.05, 0.25), (0.1, 0.5), (0.2, 1.0), (0.9, 1.0)],
)
def test_drift_indicator(drift: float | None, expected: float | None) -> None:
    assert drift_indicator(drift) == expected


@pytest.mark.services
def test_a_pump_drifting_in_specific_energy_gets_an_energy_indicator(
    influx_settings: InfluxSettings,
) -> None:
    store = open_store(influx_settings)
    store.ensure_database()
    lines = []
    for hour in range(40 * 24):  # 40 days; the impeller is worn over the last 10
        at = T0 - timedelta(hours=40 * 24 - hour)
        flow = 27.0 if hour >= 30 * 24 else 30.0
        for minute in (0, 20, 40):
            ts = int((at + timedelta(minutes=minute)).timestamp() * 1000)
            fields = f"motor_current_a=20.0,flow_m3h={flow},outlet_pressure_bar=4.0"
            lines.append(f"pump,site=demo,building=B1,equipment=P-01 {fields} {ts}")
    store.write("\n".join(lines).encode())
    reader = influx_condition(store)
    found = reader("demo", "P-01", "pump", "I", T0)
    # 30/27 - 1 = 11.1 % over the first days: a little over the 10 % limit, 1 at twice it.
    assert found["energy_drift"] == pytest.approx((30 / 27 - 1) / 0.2, abs=1e-3)
    assert "energy_drift" not in reader("demo", "P-02", "pump", "I", T0)  # no data
    store.close()
