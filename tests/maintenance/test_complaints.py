"""Complaints (投诉): the clocks, the household key, the KPIs by the site's month, the desk's
timeline on the real store, and the config that stops the service naming the field."""

from __future__ import annotations

import re
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, event
from sqlalchemy.orm import Session, sessionmaker

from bldgwatch.core.config import load_config
from bldgwatch.core.db import session_factory
from bldgwatch.core.errors import ConfigError
from bldgwatch.core.runner import EXIT_CONFIG, run_component
from bldgwatch.core.site import BuildingSpec, EquipmentSpec, SiteSpec
from bldgwatch.maintenance.assets import import_site
from bldgwatch.maintenance.complaintkpis import ComplaintFacts, complaint_rates
from bldgwatch.maintenance.complaintmodels import ComplaintRow
from bldgwatch.maintenance.complaintqueries import (
    ComplaintFilter,
    household_history,
    list_complaints,
    timeline,
)
from bldgwatch.maintenance.complaints import (
    ComplaintClosed,
    ComplaintDesk,
    ComplaintNotFound,
    NewComplaint,
    due,
    household_key,
    overdue,
)
from bldgwatch.maintenance.config import ComplaintSettings, MaintenanceConfig
from bldgwatch.maintenance.errors import InvalidRecord, UnknownSite
from bldgwatch.maintenance.kpis import Period
from bldgwatch.maintenance.kpistore import kpis_for
from bldgwatch.maintenance.policy import OwnerPolicy, publish
from bldgwatch.maintenance.report import render_html, report_data
from bldgwatch.maintenance.service import check, run

SHANGHAI = "Asia/Shanghai"
# 2026-03-31 23:30 in Shanghai is 15:30 UTC: still March there, while a UTC month says so too,
# but 2026-04-30 23:30 Shanghai (15:30 UTC) is April in Shanghai.
LAST_EVENING_MARCH = datetime(2026, 3, 31, 15, 30, tzinfo=UTC)
FIRST_HOUR_APRIL = datetime(2026, 3, 31, 16, 30, tzinfo=UTC)  # 2026-04-01 00:30 Shanghai


def _facts(received: datetime, **kw: object) -> ComplaintFacts:
    settings = ComplaintSettings()
    response_due, resolution_due = due(settings, "demo", received)
    return ComplaintFacts(received, response_due, resolution_due, **kw)  # type: ignore[arg-type]


def test_clocks_start_at_receipt_with_defaults_and_site_overrides() -> None:
    settings = ComplaintSettings(sites={"fast": {"response_h": 2}})  # type: ignore[dict-item]
    at = datetime(2026, 3, 1, 10, tzinfo=UTC)
    assert due(settings, "demo", at) == (at + timedelta(hours=24), at + timedelta(days=7))
    assert due(settings, "fast", at) == (at + timedelta(hours=2), at + timedelta(days=7))
    with pytest.raises(ValueError, match="timezone-aware"):
        due(settings, "demo", at.replace(tzinfo=None))


def test_a_resolution_shorter_than_the_response_names_the_site_field() -> None:
    with pytest.raises(ValueError, match=r"sites\.north\.resolution_days"):
        ComplaintSettings(sites={"north": {"resolution_days": 0.5, "response_h": 48}})  # type: ignore[dict-item]


def test_bad_complaint_config_stops_the_service_naming_the_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "m.yaml"
    path.write_text("complaints: {response_h: 0}\n")
    assert run_component(path, MaintenanceConfig, run) == EXIT_CONFIG
    assert "complaints.response_h" in capsys.readouterr().err
    path.write_text("complaints: {sites: {demo: {resolution_days: -1}}}\n")
    assert run_component(path, MaintenanceConfig, run) == EXIT_CONFIG
    assert "complaints.sites.demo.resolution_days" in capsys.readouterr().err


def test_an_unknown_site_under_complaints_stops_the_service_naming_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Review 18c #6: a typo ("dmeo") left the real site on the defaults."""
    site = tmp_path / "site.yaml"
    site.write_text("site: demo\nbuildings: [{id: B1}]\nequipment: []\n")
    db = tmp_path / "never.db"
    path = tmp_path / "m.yaml"
    path.write_text(
        f"site_files: [{site}]\ndatabase: {{url: 'sqlite:///{db}'}}\n"
        "complaints: {sites: {demo: {response_h: 2}, dmeo: {response_h: 2}}}\n"
    )
    assert run_component(path, MaintenanceConfig, run, check=check) == EXIT_CONFIG
    assert "complaints.sites.dmeo" in capsys.readouterr().err
    assert not db.exists()
    cfg = load_config(path, MaintenanceConfig)
    with pytest.raises(ConfigError, match=r"complaints\.sites\.dmeo"):
        check(cfg)
    with pytest.raises(SystemExit) as info:
        run(cfg, threading.Event())
    assert info.value.code == EXIT_CONFIG


def test_the_sample_config_carries_the_default_targets() -> None:
    sample = Path(__file__).resolve().parents[2] / "maintenance" / "sample.yaml"
    cfg = load_config(sample, MaintenanceConfig)
    assert cfg.complaints.clock("demo") == (24.0, 7.0)


def test_household_key_ignores_width_spaces_and_case() -> None:
    assert household_key("3栋", "1单元 502") == household_key(" 3 栋", "1单元５０２")
    assert household_key("B栋", "502") == household_key("b栋", "502")
    assert household_key("3栋", "502") != household_key("3栋", "503")


def test_household_key_is_fixed_length_and_unambiguous() -> None:
    """Review 18c #1, #3: U+FDFA NFKC-expands to 18 characters (a 960-character key
    overflowed the column on PostgreSQL), and "/" joined "3/1"+"502" and "3"+"1/502"."""
    assert household_key("3/1", "502") != household_key("3", "1/502")
    for building, room in [("\ufdfa" * 64, "1"), ("3栋", "1单元 502"), ("", "")]:
        assert re.fullmatch(r"[0-9a-f]{64}", household_key(building, room))


def test_overdue_clocks() -> None:
    class Row:
        response_due = datetime(2026, 3, 2, tzinfo=UTC)
        resolution_due = datetime(2026, 3, 8, tzinfo=UTC)
        responded_at: datetime | None = None
        resolved_at: datetime | None = None

    row = Row()
    assert overdue(row, datetime(2026, 3, 1, tzinfo=UTC)) == []  # type: ignore[arg-type]
    assert overdue(row, datetime(2026, 3, 3, tzinfo=UTC)) == ["response"]  # type: ignore[arg-type]
    assert overdue(row, datetime(2026, 3, 9, tzinfo=UTC)) == ["response", "resolution"]  # type: ignore[arg-type]
    row.responded_at = datetime(2026, 3, 2, 12, tzinfo=UTC)
    assert overdue(row, datetime(2026, 3, 9, tzinfo=UTC)) == ["resolution"]  # type: ignore[arg-type]


def test_a_complaint_of_the_last_evening_counts_in_its_site_month() -> None:
    march, april = Period(2026, 3, SHANGHAI), Period(2026, 4, SHANGHAI)
    facts = [_facts(LAST_EVENING_MARCH), _facts(FIRST_HOUR_APRIL)]
    as_of = datetime(2026, 4, 10, tzinfo=UTC)
    assert complaint_rates(facts, march, as_of).complaints == 1
    assert complaint_rates(facts, april, as_of).complaints == 1
    # In UTC both fall in March: the site's zone decides.
    assert complaint_rates(facts, Period(2026, 3, "UTC"), as_of).complaints == 2


def test_valid_complaints_resolved_rate_and_clocks_by_hand() -> None:
    """Five complaints in March (Shanghai), as of 2026-04-20:
    a: resolved in 2 days, answered in 3 h      → valid, resolved, both on time
    b: partially resolved on day 9, answered late → valid, not 办结, both late
    c: unfounded (无效) on day 1                  → not valid; answered on time
    d: withdrawn after as_of                      → still valid at as_of, open, both late
    e: resolved on day 6, answered at 20 h        → valid, resolved, both on time
    """
    day = timedelta(days=1)
    start = datetime(2026, 3, 5, 2, tzinfo=UTC)
    as_of = datetime(2026, 4, 20, tzinfo=UTC)
    facts = [
        _facts(
            start,
            responded_at=start + 3 * timedelta(hours=1),
            resolved_at=start + 2 * day,
            outcome="resolved",
        ),
        _facts(
            start,
            responded_at=start + 2 * day,
            resolved_at=start + 9 * day,
            outcome="partially_resolved",
        ),
        _facts(start, resolved_at=start + day / 2, outcome="unfounded"),
        _facts(start, resolved_at=as_of + day, outcome="withdrawn"),
        _facts(
            start,
            responded_at=start + 20 * timedelta(hours=1),
            resolved_at=start + 6 * day,
            outcome="resolved",
        ),
    ]
    rates = complaint_rates(facts, Period(2026, 3, SHANGHAI), as_of)
    assert (rates.complaints, rates.valid_complaints) == (5, 4)
    assert rates.complaint_resolution_rate == pytest.approx(2 / 4)
    assert rates.complaint_response_on_time == pytest.approx(3 / 5)  # a, c, e
    assert rates.complaint_resolution_on_time == pytest.approx(2 / 4)  # a, e of a, b, d, e
    # Before anything was due nothing is counted late, and nothing counts as 办结 yet.
    early = complaint_rates(facts, Period(2026, 3, SHANGHAI), start + timedelta(hours=1))
    assert early.complaint_response_on_time is None
    assert early.complaint_resolution_rate == 0.0
    assert complaint_rates([], Period(2026, 3, SHANGHAI), as_of).complaint_resolution_rate is None


SITE = SiteSpec(
    site="demo",
    name="Demo",
    timezone=SHANGHAI,
    buildings=[BuildingSpec(id="B1")],
    equipment=[EquipmentSpec(id="P-01", type="pump", building="B1")],
)


def _new(received: datetime, **kw: object) -> NewComplaint:
    fields: dict[str, object] = {
        "site": "demo",
        "building": "3栋",
        "room": "1单元 502",
        "channel": "phone",
        "category": "repair_delay",
        "description": "厨房漏水三天无人上门",
        "received_at": received,
    }
    fields.update(kw)
    return NewComplaint(**fields)  # type: ignore[arg-type]


@pytest.fixture
def desk(sessions: sessionmaker[Session]) -> ComplaintDesk:
    with sessions() as s:
        import_site(s, SITE, at=datetime(2025, 1, 1, tzinfo=UTC))
        publish(
            s,
            OwnerPolicy(complaints=ComplaintSettings(response_h=12)),
            instance="m",
            at=datetime(2025, 1, 1, tzinfo=UTC),
        )
        s.commit()
    return ComplaintDesk.from_store(sessions)


def test_the_desk_keeps_a_timeline_and_the_kpis_see_it(
    desk: ComplaintDesk, sessions: sessionmaker[Session]
) -> None:
    received = LAST_EVENING_MARCH
    row = desk.log(_new(received), at=received + timedelta(minutes=5), actor="engineer")
    assert row.response_due == received + timedelta(hours=12)  # the stored policy's clock
    desk.assign(row.id, "supervisor", at=received + timedelta(hours=1), actor="engineer")
    desk.respond(row.id, "已致电业主", at=received + timedelta(hours=2), actor="supervisor")
    with pytest.raises(ComplaintClosed):
        desk.respond(row.id, "again", at=received + timedelta(hours=3), actor="supervisor")
    desk.resolve(
        row.id,
        "resolved",
        note="已修复",
        accepted=True,
        at=received + timedelta(days=2),
        actor="supervisor",
    )
    with pytest.raises(ComplaintClosed):
        desk.resolve(
            row.id,
            "withdrawn",
            note="x",
            accepted=None,
            at=received + timedelta(days=3),
            actor="supervisor",
        )
    with sessions() as s:
        events = timeline(s, row.id)
        assert [e.kind for e in events] == ["logged", "assigned", "responded", "resolved"]
        assert events[1].changes == {"handler": [None, "supervisor"]}
        assert events[3].changes["outcome"] == [None, "resolved"]
        assert events[3].actor == "supervisor" and events[3].note == "已修复"
        march = kpis_for(s, "demo", "2026-03", datetime(2026, 4, 5, tzinfo=UTC))
        assert march.complaints == 1 and march.complaint_resolution_rate == 1.0
        assert march.complaint_response_on_time == 1.0
        april = kpis_for(s, "demo", "2026-04", datetime(2026, 4, 5, tzinfo=UTC))
        assert april.complaints == 0 and april.complaint_resolution_rate is None


def test_the_desk_refuses_bad_records_naming_the_field(desk: ComplaintDesk) -> None:
    at = datetime(2026, 3, 2, tzinfo=UTC)
    cases = {
        "channel": {"channel": "pigeon"},
        "category": {"category": "weather"},
        "description": {"description": "  "},
        "phone": {"phone": "call me"},
        "received_at": {"received_at": at + timedelta(days=1)},
        "work_order_id": {"work_order_id": 99},
        "equipment": {"equipment": "NOPE"},
        "building": {"building": "x" * 65},
    }
    for field, change in cases.items():
        with pytest.raises(InvalidRecord) as err:
            desk.log(_new(at, **change), at=at, actor="engineer")
        assert err.value.field == field
    # Review 18c #7, #8, #9, #21: hidden characters, blank text, a phone of dashes, 1970.
    refused = [
        ("room", {"room": "\u200b"}, "must not be blank"),
        ("building", {"building": " \u3000 "}, "must not be blank"),
        ("description", {"description": " \u200b\n"}, "must not be blank"),
        ("room", {"room": "\u202e205"}, "invisible"),
        ("building", {"building": "3\u200b栋"}, "invisible"),
        ("complainant", {"complainant": "王\t女士"}, "invisible"),
        ("description", {"description": "a\x07b\x1b[31m"}, "invisible"),
        ("description", {"description": "a\ufeffb"}, "invisible"),
        ("phone", {"phone": "1----------"}, "not a phone number"),
        ("phone", {"phone": "1234"}, "not a phone number"),
        ("received_at", {"received_at": datetime(1970, 1, 1, tzinfo=UTC)}, "before 2000-01-01"),
    ]
    for field, change, key in refused:
        with pytest.raises(InvalidRecord) as err:
            desk.log(_new(at, **change), at=at, actor="engineer")
        assert (err.value.field, key in str(err.value)) == (field, True), (change, str(err.value))
    with pytest.raises(InvalidRecord) as err:
        desk.respond(1, "\u200b ", at=at, actor="engineer")
    assert err.value.field == "note" and "must not be blank" in str(err.value)
    with pytest.raises(UnknownSite):
        desk.log(_new(at, site="nowhere"), at=at, actor="engineer")
    with pytest.raises(ComplaintNotFound):
        desk.respond(12345, "hi", at=at, actor="engineer")


def test_household_history_and_filters(
    desk: ComplaintDesk, sessions: sessionmaker[Session]
) -> None:
    base = datetime(2026, 3, 2, tzinfo=UTC)
    first = desk.log(_new(base), at=base, actor="engineer")
    later = base + timedelta(days=1)
    second = desk.log(_new(later, room="1单元５０２"), at=later, actor="e")
    desk.log(_new(base, room="2单元 101", category="noise"), at=base, actor="engineer")
    desk.respond(second.id, "ok", at=base + timedelta(days=1, hours=1), actor="e")
    with sessions() as s:
        found = household_history(s, "demo", "3栋", "1单元 502")
        assert [c.id for c in found.complaints] == [second.id, first.id]  # newest first
        assert found.orders == []
        now = base + timedelta(days=3)
        late, n = list_complaints(s, ComplaintFilter(overdue=True), now=now, limit=10, offset=0)
        assert n == 2 and second.id not in {c.id for c in late}
        noise, n = list_complaints(
            s, ComplaintFilter(category="noise"), now=now, limit=10, offset=0
        )
        assert n == 1 and noise[0].room == "2单元 101"
        other, n = list_complaints(s, ComplaintFilter(sites={"north"}), now=now, limit=10, offset=0)
        assert (other, n) == ([], 0)


def test_a_long_expanding_building_and_slashes_keep_households_apart(
    desk: ComplaintDesk, sessions: sessionmaker[Session]
) -> None:
    """Review 18c #1 on SQLite and PostgreSQL: "\ufdfa"*64 is stored (no DataError); #3:
    building "3/1" room "502" is not building "3" room "1/502", nor building "3"."""
    at = datetime(2026, 3, 2, tzinfo=UTC)
    wide = desk.log(_new(at, building="\ufdfa" * 64, room="1"), at=at, actor="engineer")
    slash_building = desk.log(_new(at, building="3/1", room="502"), at=at, actor="engineer")
    slash_room = desk.log(_new(at, building="3", room="1/502"), at=at, actor="engineer")
    with sessions() as s:
        assert [c.id for c in household_history(s, "demo", "\ufdfa" * 64, "1").complaints] == [
            wide.id
        ]
        found = household_history(s, "demo", "3/1", "502").complaints
        assert [c.id for c in found] == [slash_building.id]
        found = household_history(s, "demo", "3", "1/502").complaints
        assert [c.id for c in found] == [slash_room.id]
        three, n = list_complaints(s, ComplaintFilter(building=" ３ "), now=at, limit=10, offset=0)
        assert (n, [c.id for c in three]) == (1, [slash_room.id])


def test_full_width_phone_digits_are_stored_as_ascii(
    desk: ComplaintDesk, sessions: sessionmaker[Session]
) -> None:
    """Review 18c #8: a phone typed with a Chinese IME."""
    at = datetime(2026, 3, 2, tzinfo=UTC)
    row = desk.log(_new(at, phone="１３８１２３４５６７８"), at=at, actor="engineer")
    with sessions() as s:
        stored = s.get(ComplaintRow, row.id)
        assert stored is not None and stored.phone == "13812345678"


def test_a_stale_version_is_refused_and_the_same_handler_changes_nothing(
    desk: ComplaintDesk, sessions: sessionmaker[Session]
) -> None:
    """Review 18c #2, #12, #20: desk A read version 1, desk B assigned meanwhile; A's
    change on version 1 is refused. Assigning the handler it has writes no event. An
    answer without a person (an API token) names no handler."""
    at = datetime(2026, 3, 2, tzinfo=UTC)
    row = desk.log(_new(at), at=at, actor="engineer")
    seen = row.version
    desk.assign(row.id, "supervisor", at=at, actor="b", version=seen)
    with pytest.raises(ComplaintClosed, match="changed meanwhile by someone else"):
        desk.assign(row.id, "engineer", at=at, actor="a", version=seen)
    with pytest.raises(ComplaintClosed, match="changed meanwhile"):
        desk.respond(row.id, "hi", at=at, actor="a", version=seen)
    with pytest.raises(ComplaintClosed, match="changed meanwhile"):
        desk.resolve(row.id, "resolved", note="x", accepted=None, at=at, actor="a", version=seen)
    again = desk.assign(row.id, "supervisor", at=at, actor="b", version=seen + 1)
    assert again.version == seen + 1
    other = desk.log(_new(at), at=at, actor="engineer")
    desk.respond(other.id, "回电", at=at, actor="token:bot", handler=None)
    with sessions() as s:
        assert [e.kind for e in timeline(s, row.id)] == ["logged", "assigned"]
        stored = s.get(ComplaintRow, other.id)
        assert stored is not None and stored.handler is None and stored.responded_at is not None


def test_the_monthly_report_has_a_complaints_section_in_both_languages(
    desk: ComplaintDesk, sessions: sessionmaker[Session]
) -> None:
    received = LAST_EVENING_MARCH
    first = desk.log(_new(received), at=received, actor="engineer")
    desk.log(_new(received, category="noise"), at=received, actor="engineer")
    later = received + timedelta(days=1)
    desk.resolve(first.id, "unfounded", note="not ours", accepted=False, at=later, actor="e")
    with sessions() as s:
        data = report_data(
            s, "demo", Period(2026, 3, SHANGHAI), as_of=datetime(2026, 4, 20, tzinfo=UTC)
        )
    assert data.complaints == {"repair_delay": 1, "noise": 1}
    assert (data.month.complaints, data.month.valid_complaints) == (2, 1)
    assert data.month.complaint_resolution_rate == 0.0
    zh, en = render_html(data, "zh-CN"), render_html(data, "en")
    assert "<h2>投诉</h2>" in zh and "有效投诉办结率" in zh and "本月受理投诉 2 件" in zh
    assert "噪声" in zh and "维修不及时" in zh
    assert "<h2>Complaints</h2>" in en and "Valid complaints resolved" in en
    assert "2 complaints received this month, 1 of them valid" in en and "noise" in en


def test_a_change_made_meanwhile_waits_and_is_refused_not_overwritten(sqlite_db: Engine) -> None:
    """Another desk answers the complaint while this desk has read it to settle it. SQLite
    has no row lock: the desk's locked read takes the database's write lock (core.db), so
    the other desk waits until the settling is written, then finds the complaint settled
    (409) instead of either writing over the other."""
    sessions = session_factory(sqlite_db)
    with sessions() as s:
        import_site(s, SITE, at=datetime(2025, 1, 1, tzinfo=UTC))
        s.commit()
    at = datetime(2026, 3, 2, tzinfo=UTC)
    row = ComplaintDesk(sessions).log(_new(at), at=at, actor="engineer")
    other = ComplaintDesk(session_factory(sqlite_db))
    watched = session_factory(sqlite_db)
    answers: list[str] = []
    threads: list[threading.Thread] = []

    def respond() -> None:
        try:
            other.respond(row.id, "first", at=at + timedelta(hours=1), actor="b")
            answers.append("responded")
        except ComplaintClosed:
            answers.append("409")

    def meanwhile(session: Session, instance: object) -> None:
        if isinstance(instance, ComplaintRow) and not threads:
            threads.append(threading.Thread(target=respond))
            threads[0].start()

    event.listen(watched, "loaded_as_persistent", meanwhile)
    ComplaintDesk(watched).resolve(
        row.id, "withdrawn", note="late", accepted=None, at=at + timedelta(hours=2), actor="a"
    )
    threads[0].join(timeout=30)
    assert answers == ["409"]
    with sessions() as s:
        kinds = [(e.kind, e.actor) for e in timeline(s, row.id)]
        stored = s.get(ComplaintRow, row.id)
        assert stored is not None and stored.outcome == "withdrawn" and stored.version == 2
    assert kinds == [("logged", "engineer"), ("resolved", "a")]
