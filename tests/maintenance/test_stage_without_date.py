"""An asset whose age is unknown or only bounded below (no install or overhaul date) is not
told to plan an overhaul or replacement on the strength of its class's ages alone (issue 17,
point 2; from the review of the scorer): the advice needs evidence about the unit itself —
late life even at the least age its own records allow."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from sqlalchemy.orm import Session, sessionmaker

from bldgwatch.core.config import DatabaseSettings
from bldgwatch.core.db import make_engine, session_factory
from bldgwatch.maintenance.incidents import IncidentPolicy, process_event
from bldgwatch.maintenance.models import BuildingRow, EquipmentRow, SiteRow, WorkOrderRow
from tests.maintenance.conftest import EventFactory

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
YEAR = timedelta(days=365.25)
LAM0, ONSET, DOUBLING = 0.4, 12.0, 2.0  # random rate /yr; wear-out = random at 12 yr, ×2 per 2 yr


@pytest.fixture
def sessions(sqlite_settings: DatabaseSettings) -> Iterator[sessionmaker[Session]]:
    """SQLite only: what is tested is the scorer's rule, not the store (a fleet fit per test)."""
    engine = make_engine(sqlite_settings)
    yield session_factory(engine)
    engine.dispose()


def _wear_out_failures(span: float, rng: np.random.Generator) -> np.ndarray:
    """Failure ages on (0, span] of λ(t) = λ₀ (1 + 2^((t − onset)/doubling)), by thinning."""
    bound = LAM0 * (1 + 2 ** ((span - ONSET) / DOUBLING))
    ages = np.sort(rng.random(rng.poisson(bound * span)) * span)
    keep = rng.random(ages.size) * bound < LAM0 * (1 + 2 ** ((ages - ONSET) / DOUBLING))
    return ages[keep]


def _order(at: datetime, eq: str) -> WorkOrderRow:
    return WorkOrderRow(
        site="demo", equipment=eq, kind="reactive", status="closed", priority=3, title="f",
        created_at=at, updated_at=at, response_due=at, resolution_due=at,
        stage="mid", stage_reason="", stage_detail={},
    )  # fmt: skip


def _old_pumps(s: Session) -> None:
    """30 registered pumps installed 18–26 years ago, genuinely in late life."""
    rng = np.random.default_rng(1)
    s.add(SiteRow(id="demo", name="Demo"))
    s.flush()
    s.add(BuildingRow(site="demo", id="B1", name=""))
    s.flush()
    for k in range(30):
        span = float(rng.uniform(18, 26))
        installed = T0 - span * YEAR
        eq = f"P-{k:03d}"
        s.add(
            EquipmentRow(
                site="demo", id=eq, building="B1", type="pump",
                installed=installed.date(), rated={}, params={},
            )
        )  # fmt: skip
        for t in _wear_out_failures(span, rng):
            s.add(_order(installed + float(t) * YEAR, eq))


def _new_pump(sessions: sessionmaker[Session], failures: list[datetime]) -> None:
    with sessions() as s:
        _old_pumps(s)
        s.add(
            EquipmentRow(
                site="demo", id="P-NEW", building="B1", type="pump",
                installed=None, rated={}, params={},
            )
        )  # fmt: skip
        s.add_all(_order(at, "P-NEW") for at in failures)
        s.commit()


def _scored(
    sessions: sessionmaker[Session], make_event: EventFactory
) -> tuple[str, str, str, float]:
    process_event(sessions, make_event(equipment="P-NEW", at=T0), IncidentPolicy())
    with sessions() as s:
        row = (
            s.query(WorkOrderRow)
            .filter_by(equipment="P-NEW")
            .order_by(WorkOrderRow.id.desc())
            .first()
        )
        assert row is not None
        advice = row.stage_detail["params"]["reason_message"]["params"]["advice"]["key"]
        return row.stage, advice, row.stage_reason, row.stage_detail["p_late"]


def test_a_unit_with_no_install_date_and_no_history_is_not_told_to_plan_replacement(
    sessions: sessionmaker[Session], make_event: EventFactory
) -> None:
    """Before: 'late life: install date unknown for P-NEW: stage from the ages of its class;
    likely about 22 years …; plan overhaul or replacement' at ~98 %."""
    _new_pump(sessions, [])
    _stage, advice, reason, _p = _scored(sessions, make_event)
    assert advice != "advice.late", reason
    assert "install or last overhaul date would settle" in reason, reason


def test_a_unit_known_only_since_yesterday_is_not_told_to_plan_replacement(
    sessions: sessionmaker[Session], make_event: EventFactory
) -> None:
    """Before: 'at least 0.0 years since the first record; likely about 22 years …; plan
    overhaul or replacement' — one failure cannot say that."""
    _new_pump(sessions, [T0 - timedelta(days=1)])
    _stage, advice, reason, _p = _scored(sessions, make_event)
    assert advice != "advice.late", reason


def test_a_unit_on_record_for_twenty_years_may_still_be_told_to_plan_replacement(
    sessions: sessionmaker[Session], make_event: EventFactory
) -> None:
    """The rule is not 'never without a date': records going back 20 years place the unit
    past its class's wear-out onset (~12 years) whatever its exact age."""
    first = T0 - 20 * YEAR
    _new_pump(sessions, [first + k * YEAR for k in (0, 5, 10, 15, 18, 19)])
    stage, advice, reason, p_late = _scored(sessions, make_event)
    assert (stage, advice) == ("late", "advice.late"), reason
    assert p_late >= 0.9
