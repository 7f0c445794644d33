"""KPIs of one site and month, against figures computed by hand."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from bldgwatch.maintenance.assets import import_site
from bldgwatch.maintenance.budgets import set_budget
from bldgwatch.maintenance.config import RosterSettings, StageConfig, Technician
from bldgwatch.maintenance.followup import FollowUp, Outcome
from bldgwatch.maintenance.incidents import process_event
from bldgwatch.maintenance.kpis import OrderFacts, Period, site_kpis
from bldgwatch.maintenance.kpistore import failure_pareto, kpis_for, stage_mix
from bldgwatch.maintenance.models import WorkOrderStatus as S
from bldgwatch.maintenance.printing import render_pdf
from bldgwatch.maintenance.report import render_html, report_data
from bldgwatch.maintenance.worklog import add_labour, add_part
from tests.maintenance.conftest import EventFactory, demo_site
from tests.maintenance.desks import seeded_desk
from tests.tools import require_binary

APRIL = Period(2026, 4)


def at(day: int, hour: float = 0, month: int = 4) -> datetime:
    return datetime(2026, month, day, tzinfo=UTC) + timedelta(hours=hour)


def order(oid: int, equipment: str, kind: str, priority: int, **kw: object) -> OrderFacts:
    base: dict[str, object] = {"status": "resolved", "family": None}
    base.update(kw)
    return OrderFacts(id=oid, equipment=equipment, kind=kind, priority=priority, **base)  # type: ignore[arg-type]


ORDERS = [
    order(
        1,
        "E-01",
        "reactive",
        2,
        family="door",
        created_at=at(2),
        response_due=at(2, 2),
        resolution_due=at(3),
        responded_at=at(2, 1),
        resolved_at=at(2, 10),
        verified=True,
        followed_up=at(3),  # verified by its 回访
    ),
    order(
        2,
        "E-01",
        "reactive",
        1,
        family="door",
        created_at=at(5),
        response_due=at(5, 0.5),
        resolution_due=at(5, 4),
        responded_at=at(5, 1),
        resolved_at=at(5, 4),
        downtime_h=3.0,
    ),
    order(
        3,
        "P-01",
        "reactive",
        3,
        family="bearing",
        created_at=at(10),
        response_due=at(10, 8),
        resolution_due=at(13),
        responded_at=at(10, 2),
        resolved_at=at(14),
        verified=True,
        followed_up=at(15),
    ),
    order(
        4,
        "P-01",
        "request",
        4,
        created_at=at(20),
        response_due=at(21),
        resolution_due=at(27),
        resolved_at=at(21),
    ),
    order(
        5,
        "E-01",
        "preventive",
        4,
        created_at=at(1),
        response_due=at(2),
        resolution_due=at(8),
        resolved_at=at(7),
    ),
    order(
        6,
        "P-01",
        "preventive",
        4,
        status="open",
        created_at=at(18),
        response_due=at(19),
        resolution_due=at(25),
    ),
    order(
        7,
        "P-01",
        "reactive",
        2,
        status="open",
        family="seal",
        created_at=at(29),
        response_due=at(29, 2),
        resolution_due=at(30),
    ),
    order(
        8,
        "P-01",
        "reactive",
        2,
        status="cancelled",
        created_at=at(3),
        response_due=at(3, 2),
        resolution_due=at(4),
        closed_at=at(15),
    ),
    order(
        9,
        "E-01",
        "reactive",
        3,
        family="power",
        created_at=at(30, 0, month=3),
        response_due=at(30, 8, month=3),
        resolution_due=at(2, 0),
        resolved_at=at(1, 12),
    ),
]
COSTS = [(at(2), 100.0), (at(14), 250.5), (at(30, 0, month=3), 40.0)]


def test_site_kpis_match_hand_computed_figures() -> None:
    k = site_kpis("demo", APRIL, ORDERS, units=2, costs=COSTS, budget=1000.0, as_of=at(5, 0, 5))
    # downtime 10 + 3 + 96 + 48 (open to month end) + 12 (from March) = 169 h of 2 × 720 h
    assert k.downtime_h == pytest.approx(169)
    assert k.availability == pytest.approx(1 - 169 / 1440)
    assert k.failures == 4 and k.mtbf_h == pytest.approx((1440 - 169) / 4)
    assert k.mttr_h == pytest.approx((10 + 4 + 96 + 60) / 4)
    assert k.emergency_timeliness == pytest.approx(1 / 3)  # #1 on time; #2 and #7 late
    assert k.minor_timeliness == pytest.approx(2 / 3)  # #4 and #9 on time, #3 late
    assert k.first_time_fix == pytest.approx(3 / 4)  # #1 came back as #2 within 7 days
    assert k.follow_up_rate == pytest.approx(2 / 5)
    assert k.pm_compliance == pytest.approx(1 / 2)
    assert k.backlog == 2  # #6 and #7; #8 was cancelled in April
    assert k.cost == pytest.approx(350.5) and k.cost_vs_budget == pytest.approx(0.3505)
    assert k.as_dict()["availability"] == round(1 - 169 / 1440, 4)


def test_mid_month_and_empty_months() -> None:
    k = site_kpis("demo", APRIL, ORDERS, units=2, costs=[], budget=None, as_of=at(3))
    assert k.emergency_timeliness == 1.0  # only #1 was due by Apr 3
    assert k.backlog == 1  # on Apr 3 only #5 was open
    empty = site_kpis(
        "demo", Period(2026, 6), [], units=2, costs=[], budget=None, as_of=at(1, 0, 7)
    )
    assert (empty.availability, empty.mtbf_h, empty.pm_compliance) == (1.0, None, None)


def test_kpis_from_the_store(sessions: sessionmaker[Session], make_event: EventFactory) -> None:
    with sessions() as s:
        import_site(s, demo_site())
        set_budget(
            s,
            site="demo",
            period="2026-03",
            category="parts",
            amount=500.0,
            actor="boss",
            at=make_event().at,
        )
        s.commit()
    outcome = process_event(sessions, make_event())  # P2 pump bearing, 2026-03-02 08:00
    oid = outcome.work_order_id
    assert oid is not None
    t0 = make_event().at
    li = Technician(id="li", sites=["demo"], skills=["mechanical"])
    desk = seeded_desk(sessions, RosterSettings(technicians=[li]))
    desk.assign(oid, at=t0 + timedelta(minutes=30), actor="d", technician="li")
    desk.move(oid, S.IN_PROGRESS, at=t0 + timedelta(hours=1), actor="li")
    with sessions() as s:
        add_labour(s, oid, technician="li", hours=2, rate=50, at=t0 + timedelta(hours=2))
        add_part(
            s, oid, part_no="seal", quantity=1, unit_cost=30, at=t0 + timedelta(hours=2), actor="li"
        )
        s.commit()
    desk.move(oid, S.RESOLVED, at=t0 + timedelta(hours=3), actor="li", note="seal replaced")
    satisfied = FollowUp(Outcome.SATISFIED, 5)
    desk.follow_up(oid, satisfied, at=t0 + timedelta(days=1), actor="desk")
    with sessions() as s:
        k = kpis_for(s, "demo", Period(2026, 3), as_of=datetime(2026, 4, 2, tzinfo=UTC))
        pareto = failure_pareto(s, "demo", Period(2026, 3))
        mix = stage_mix(s, "demo", datetime(2026, 4, 1, tzinfo=UTC), StageConfig())
    assert (k.units, k.failures, k.mttr_h, k.downtime_h) == (4, 1, 3.0, 3.0)
    assert k.availability == pytest.approx(1 - 3 / (4 * 31 * 24))
    assert (k.emergency_timeliness, k.follow_up_rate, k.first_time_fix) == (1.0, 1.0, 1.0)
    assert (k.cost, k.budget, k.cost_vs_budget) == (130.0, 500.0, 0.26)
    assert pareto.by_equipment == [("P-01", 1)] and pareto.by_cause == [("PUMP_BEARING_TEMP", 1)]
    assert sum(mix.values()) == 4


def test_monthly_report_html_and_pdf(
    sessions: sessionmaker[Session], make_event: EventFactory, tmp_path: Path
) -> None:
    with sessions() as s:
        import_site(s, demo_site())
        s.commit()
    process_event(sessions, make_event())
    process_event(
        sessions,
        make_event(
            equipment="E-01",
            equipment_type="elevator",
            family="door",
            fault_code="ELEV_DOOR_OPEN_FAIL",
        ),
    )
    with sessions() as s:
        data = report_data(s, "demo", Period(2026, 3), as_of=datetime(2026, 4, 1, tzinfo=UTC))
    page = render_html(data)
    assert [t.month for t in data.trend] == [
        "2025-10",
        "2025-11",
        "2025-12",
        "2026-01",
        "2026-02",
        "2026-03",
    ]
    assert data.month.failures == 2 and data.month.backlog == 2
    assert "设备完好率" in page and "PUMP_BEARING_TEMP" in page and page.count("<svg") == 4
    assert 'class="miss"' in page  # emergency repairs were not on time
    require_binary("chromium")
    pdf = render_pdf(page, tmp_path / "report.pdf")
    assert pdf.read_bytes().startswith(b"%PDF")


def test_a_cancelled_pm_order_still_counts_as_due_and_not_done() -> None:
    """Review 19c-r M11: cancelling an overdue PM order lifted both PM figures."""
    pm = order(
        20,
        "SP-01",
        "preventive",
        4,
        status="open",
        created_at=at(1),
        response_due=at(2),
        resolution_due=at(6),
        checks_due=4,
        checks_done=1,
    )
    done = order(
        21,
        "E-01",
        "preventive",
        4,
        created_at=at(1),
        response_due=at(2),
        resolution_due=at(8),
        resolved_at=at(7),
        checks_due=5,
        checks_done=5,
    )
    as_of = at(20)
    before = site_kpis("demo", APRIL, [pm, done], units=2, costs=[], budget=None, as_of=as_of)
    cancelled = replace(pm, status="cancelled", closed_at=at(10))
    after = site_kpis("demo", APRIL, [cancelled, done], units=2, costs=[], budget=None, as_of=as_of)
    assert before.pm_compliance == after.pm_compliance == pytest.approx(1 / 2)
    assert (after.pm_items_due, after.pm_items_done) == (9, 6)
    assert after.pm_item_compliance == before.pm_item_compliance == pytest.approx(6 / 9)
