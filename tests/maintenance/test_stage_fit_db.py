"""Work orders carry the fitted stage once a class has enough history in the store."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
from sqlalchemy.orm import Session, sessionmaker

from bldgwatch.maintenance.bathtub import BathtubFit, BathtubParams
from bldgwatch.maintenance.config import StageConfig
from bldgwatch.maintenance.incidents import IncidentPolicy, process_event
from bldgwatch.maintenance.models import BuildingRow, EquipmentRow, SiteRow, WorkOrderRow
from bldgwatch.maintenance.scoring import DAYS_PER_YEAR, FIT_MODEL_NAME, MLE_MODEL_NAME, MODEL_NAME
from bldgwatch.maintenance.stage import FitCache, class_segments
from tests.maintenance.conftest import EventFactory
from tests.maintenance.lifedraw import sample_failures

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
PUMP = BathtubParams(beta1=0.4, eta1=1.75, lam0=0.6, beta3=3.0, eta3=9.0)


def _seed_fleet(sessions: sessionmaker[Session], units: int) -> int:
    rng = np.random.default_rng(3)
    failures = 0
    with sessions() as s:
        s.add(SiteRow(id="demo", name="Demo"))
        s.flush()
        s.add(BuildingRow(site="demo", id="B1", name=""))
        s.flush()
        for n in range(units):
            age = rng.uniform(0.2, 25)
            installed = T0 - timedelta(days=age * DAYS_PER_YEAR)
            eq = f"P-{n + 10:03d}"
            s.add(
                EquipmentRow(
                    site="demo",
                    id=eq,
                    building="B1",
                    type="pump",
                    installed=installed.date(),
                    rated={},
                    params={},
                )
            )
            for t in sample_failures(PUMP, 0.0, age, rng):
                at = installed + timedelta(days=t * DAYS_PER_YEAR)
                failures += 1
                s.add(
                    WorkOrderRow(
                        site="demo",
                        equipment=eq,
                        kind="reactive",
                        status="closed",
                        priority=3,
                        title="f",
                        created_at=at,
                        updated_at=at,
                        response_due=at,
                        resolution_due=at,
                        stage="mid",
                        stage_reason="",
                        stage_detail={},
                    )
                )
        s.add(
            EquipmentRow(
                site="demo",
                id="P-01",
                building="B1",
                type="pump",
                installed=(T0 - timedelta(days=20 * 365)).date(),
                rated={},
                params={},
            )
        )
        s.commit()
    return failures


def test_orders_carry_the_fitted_stage_and_the_fit_is_cached(
    sessions: sessionmaker[Session], make_event: EventFactory
) -> None:
    failures = _seed_fleet(sessions, units=40)
    with sessions() as s:
        segments = class_segments(s, "pump", T0)
    assert len(segments) == 41 and sum(len(x.failures) for x in segments) == failures
    cache = FitCache()
    policy = IncidentPolicy(fits=cache)
    process_event(sessions, make_event(), policy)
    with sessions() as s:
        order = s.query(WorkOrderRow).filter_by(equipment="P-01").one()
        assert order.stage_detail["params"]["model"] == FIT_MODEL_NAME
        assert order.stage == "late"  # 20 years, wear-out dominates the pump bathtub
        assert "wear-out" in order.stage_reason
        first = cache.get(s, "pump", T0, StageConfig())
        assert first is not None and first.failures == failures
        later = cache.get(s, "pump", T0 + timedelta(hours=1), StageConfig())
        assert later is first  # fresh enough: not refitted


def test_a_class_with_little_history_falls_back_to_age_bands(
    sessions: sessionmaker[Session], make_event: EventFactory
) -> None:
    _seed_fleet(sessions, units=2)
    process_event(sessions, make_event(), IncidentPolicy())
    with sessions() as s:
        order = s.query(WorkOrderRow).filter_by(equipment="P-01").one()
        assert order.stage_detail["params"]["model"] == MODEL_NAME


def test_registered_units_without_an_install_date_still_join_the_fit(
    sessions: sessionmaker[Session], make_event: EventFactory
) -> None:
    failures = _seed_fleet(sessions, units=40)
    with sessions() as s:
        overhauled = T0 - timedelta(days=3 * 365)
        for eq, renewed in (("P-90", overhauled.date()), ("P-91", None)):
            s.add(
                EquipmentRow(
                    site="demo", id=eq, building="B1", type="pump",
                    installed=None, last_overhaul=renewed, rated={}, params={},
                )
            )  # fmt: skip
        for eq, days in (("P-90", 1500), ("P-90", 100), ("P-91", 4000), ("P-91", 30)):
            at = T0 - timedelta(days=days)
            s.add(
                WorkOrderRow(
                    site="demo", equipment=eq, kind="reactive", status="closed", priority=3,
                    title="f", created_at=at, updated_at=at, response_due=at, resolution_due=at,
                    stage="mid", stage_reason="", stage_detail={},
                )
            )  # fmt: skip
        s.commit()
        segments = class_segments(s, "pump", T0)
        fit = FitCache().get(s, "pump", T0, StageConfig())
    # P-90's span since its overhaul is a segment of its own (the failure before it is not)
    assert len(segments) == 42 and sum(len(x.failures) for x in segments) == failures + 1
    assert fit is not None and fit.imputed == 1  # P-91, known only since its first record
    process_event(sessions, make_event(equipment="P-91"), IncidentPolicy())
    with sessions() as s:
        order = (
            s.query(WorkOrderRow)
            .filter_by(equipment="P-91", kind="reactive")
            .order_by(WorkOrderRow.id.desc())
            .first()
        )
        assert order is not None
        assert order.stage_detail["params"]["age_basis"] == "first_record"
        assert "at least 10.9 years since the first record" in order.stage_reason
        assert "reason_text" in order.stage_detail["params"]


def test_the_plain_mle_model_can_be_configured(
    sessions: sessionmaker[Session], make_event: EventFactory
) -> None:
    failures = _seed_fleet(sessions, units=40)
    cfg = StageConfig(model="mle")
    process_event(sessions, make_event(), IncidentPolicy(stage=cfg))
    with sessions() as s:
        fit = FitCache().get(s, "pump", T0, cfg)
        assert isinstance(fit, BathtubFit) and fit.failures == failures
        assert FitCache().get(s, "pump", T0, StageConfig(model="bands")) is None
        order = s.query(WorkOrderRow).filter_by(equipment="P-01").one()
        assert order.stage_detail["params"]["model"] == MLE_MODEL_NAME
        assert order.stage == "late"


def test_a_class_on_several_sites_is_fitted_per_site_too(
    sessions: sessionmaker[Session], make_event: EventFactory
) -> None:
    _seed_fleet(sessions, units=40)
    rng = np.random.default_rng(9)
    with sessions() as s:
        s.add(SiteRow(id="harbour", name="Harbour"))
        s.flush()
        s.add(BuildingRow(site="harbour", id="H1", name=""))
        s.flush()
        for n in range(8):
            age = rng.uniform(1, 20)
            installed = T0 - timedelta(days=age * DAYS_PER_YEAR)
            s.add(
                EquipmentRow(
                    site="harbour", id=f"P-{n:02d}", building="H1", type="pump",
                    installed=installed.date(), rated={}, params={},
                )
            )  # fmt: skip
        s.commit()
        fit = FitCache().get(s, "pump", T0, StageConfig())
    assert fit is not None and sorted(fit.sites) == ["demo", "harbour"]  # type: ignore[union-attr]
    assert fit.units == 49  # the class over both sites
    process_event(sessions, make_event(), IncidentPolicy())
    with sessions() as s:
        order = s.query(WorkOrderRow).filter_by(equipment="P-01").one()
        assert order.stage_detail["params"]["fit_site"] == "demo"
