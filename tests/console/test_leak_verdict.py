"""A leak alarm waits for a person (review of issue 20, F14): the meters' night-flow rule asks
for `maintenance: confirm`, so raising it opens no order; "confirm leak" in the console
(`POST /api/alarms/{id}/leak-verdict`, leak: true) acknowledges it and opens the reactive
repair order through the incident path; "no leak" acknowledges it with the reason, no order."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from bldgwatch.core.clock import ManualClock
from bldgwatch.maintenance.models import EquipmentRow, WorkOrderRow
from bldgwatch.rules.models import AlarmRow, RuleLessonRow
from bldgwatch.rules.schema import load_rules
from bldgwatch.rules.store import AlarmStore
from tests.console.conftest import ClientFactory, auth_headers
from tests.console.seed import T0, add, alarm, assets
from tests.console.support import assert_problem
from tests.console.test_actions import RecordingSink


def leak(alarm_id: str, minute: float, **kw: object) -> object:
    return alarm(
        alarm_id,
        minute,
        equipment=kw.pop("equipment", "WM-01"),
        equipment_type="water_meter",
        rule="meters.night_flow",
        fault_code="WATER_NIGHT_FLOW",
        family="leak",
        incident="leak",
        severity="minor",
        priority=3,
        value=0.44,
        message="WM-01: night minimum flow 0.440 m³/h above its normal nights: a leak?",
        maintenance="confirm",
        condition_active=True,
        **kw,
    )


def waste(alarm_id: str, minute: float) -> object:
    """An off-hours use alarm of WM-01 (no order; "expected use" teaches the meter)."""
    return alarm(
        alarm_id,
        minute,
        equipment="WM-01",
        equipment_type="water_meter",
        rule="meters.water_off_hours",
        fault_code="WATER_OFF_HOURS",
        family="waste",
        severity="warning",
        priority=4,
        value=1.2,
        message="WM-01: water use 1.20 m³/h outside the occupancy schedule",
        maintenance="none",
        condition_active=True,
    )


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0 + timedelta(hours=1))


@pytest.fixture
def sink(db: Engine) -> RecordingSink:
    return RecordingSink(db)


@pytest.fixture
def client(db: Engine, make_client: ClientFactory, clock: ManualClock) -> Iterator[TestClient]:
    add(db, *assets())
    meters = [
        EquipmentRow(site="demo", id=m, building="B1", type="water_meter", rated={}, params={})
        for m in ("WM-01", "WM-02")
    ]
    add(db, *meters)
    add(db, leak("w1", 0), leak("w2", 5, equipment="WM-02"), alarm("a1", 0))
    yield make_client(db, clock=clock, user=None)


def _orders(db: Engine) -> list[WorkOrderRow]:
    with Session(db) as session:
        return list(session.scalars(select(WorkOrderRow)).all())


def test_the_night_flow_rule_waits_for_a_person() -> None:
    [rule] = [r for r in load_rules(["meters"], []) if r.id == "meters.night_flow"]
    assert rule.maintenance == "confirm"


def test_confirm_leak_opens_the_repair_order_and_acknowledges(
    client: TestClient, sink: RecordingSink, db: Engine
) -> None:
    assert _orders(db) == []  # raised, nobody confirmed: no order
    eng = auth_headers(client, "engineer")
    resp = client.post(
        "/api/alarms/w1/leak-verdict",
        json={"leak": True, "comment": "3 楼水箱浮球阀漏"},
        headers={**eng, "Accept-Language": "zh-CN"},
    )
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert (body["alarm"]["state"], body["alarm"]["acked_by"]) == ("active_ack", "engineer")
    [order] = _orders(db)
    assert body["work_order_id"] == order.id
    assert (order.kind, order.equipment, order.incident_key) == (
        "reactive",
        "WM-01",
        "demo/WM-01/leak",
    )
    zh = {**eng, "Accept-Language": "zh-CN"}  # the verdict's word in the reader's language
    history = client.get("/api/alarms/w1/history", headers=zh).json()["items"]
    assert history[-1]["text"] == "确认漏水，已开维修工单: 3 楼水箱浮球阀漏"
    sent = [(t.split("/")[3], e.get("transition") or e.get("change")) for t, e in sink.sent]
    assert ("alarms", "acknowledge") in sent and ("workorders", "created") in sent


def test_no_leak_needs_a_reason_and_opens_no_order(client: TestClient, db: Engine) -> None:
    eng = auth_headers(client, "engineer")
    assert_problem(
        client.post("/api/alarms/w2/leak-verdict", json={"leak": False}, headers=eng),
        400,
        "comment",
    )
    resp = client.post(
        "/api/alarms/w2/leak-verdict",
        json={"leak": False, "comment": "roof tank filled overnight"},
        headers={**eng, "Accept-Language": "en"},
    )
    assert resp.status_code == 200, resp.text
    assert (resp.json()["alarm"]["state"], resp.json()["work_order_id"]) == ("active_ack", None)
    assert _orders(db) == []
    history = client.get("/api/alarms/w2/history", headers=eng).json()["items"]
    assert history[-1]["text"] == "no leak: roof tank filled overnight"
    # What the verdict teaches (review of issue 20, N12): a lesson for the meter's night-flow
    # rule, taken once by the rules service; it carries the level judged, the alarm's value
    # (fourth review of issue 20, H3).
    store = AlarmStore(db)
    assert store.take_lessons(["demo"], T0) == [
        (("demo", "WM-02", "meters.night_flow"), False, 0.44)
    ]
    assert store.take_lessons(["demo"], T0) == []


def test_only_an_alarm_that_waits_takes_a_verdict(client: TestClient) -> None:
    eng = auth_headers(client, "engineer")
    assert_problem(
        client.post("/api/alarms/a1/leak-verdict", json={"leak": True}, headers=eng), 409, "a1"
    )
    assert_problem(
        client.post(
            "/api/alarms/w1/leak-verdict", json={"leak": True}, headers=auth_headers(client, "tech")
        ),
        403,
    )
    assert_problem(
        client.post("/api/alarms/nope/leak-verdict", json={"leak": True}, headers=eng), 404
    )


def test_the_opposite_verdict_is_refused_naming_the_first(client: TestClient, db: Engine) -> None:
    """Second review of issue 20, N3: "not a leak" after "confirm leak" was accepted and left
    the repair order open (and the other way round): both verdicts were kept. The opposite
    verdict on the same raising is a 409 naming who gave the first and when; the same verdict
    again still joins the one order."""
    eng = auth_headers(client, "engineer")
    first = client.post("/api/alarms/w1/leak-verdict", json={"leak": True}, headers=eng)
    assert first.status_code == 200, first.text
    again = client.post("/api/alarms/w1/leak-verdict", json={"leak": True}, headers=eng)
    assert again.json()["work_order_id"] == first.json()["work_order_id"]
    refused = client.post(
        "/api/alarms/w1/leak-verdict",
        json={"leak": False, "comment": "其实是保洁用水"},
        headers={**eng, "Accept-Language": "zh-CN"},
    )
    assert_problem(refused, 409, "确认漏水")
    assert "engineer" in refused.json()["detail"] and "Asia/Shanghai" in refused.json()["detail"]
    [order] = _orders(db)
    assert order.status == "open"  # the confirmed leak's order stands, with nothing contrary
    history = client.get("/api/alarms/w1/history", headers=eng).json()["items"]
    assert "其实是保洁用水" not in [h["text"] for h in history]
    # And "not a leak" first: a later "leak" is refused, no order is opened.
    ok = client.post(
        "/api/alarms/w2/leak-verdict", json={"leak": False, "comment": "tank filled"}, headers=eng
    )
    assert ok.status_code == 200, ok.text
    assert_problem(
        client.post("/api/alarms/w2/leak-verdict", json={"leak": True}, headers=eng), 409, "w2"
    )
    assert len(_orders(db)) == 1


REVERSE_LEAK = {"leak": True, "reverse": True}
"""A knowing reversal of "not a leak" (the alarm page's "Correct the verdict")."""


def test_a_reversal_must_be_meant(client: TestClient, db: Engine) -> None:
    """Fourth review of issue 20, L4: a supervisor's "confirm leak" given a moment after an
    engineer's "not a leak" silently withdrew it. The opposite of a standing verdict now
    needs `reverse: true`, else 409 naming the verdict, who gave it and when (zh-CN, en),
    with nothing done: no order, no lesson withdrawn, the verdict standing."""
    eng, sup = auth_headers(client, "engineer"), auth_headers(client, "supervisor")
    given = client.post(
        "/api/alarms/w2/leak-verdict", json={"leak": False, "comment": "tank"}, headers=eng
    )
    assert given.status_code == 200, given.text
    zh = client.post(
        "/api/alarms/w2/leak-verdict",
        json={"leak": True},
        headers={**sup, "Accept-Language": "zh-CN"},
    )
    assert_problem(zh, 409, "已有判定“不是漏水”（engineer，")
    assert "Asia/Shanghai" in zh.json()["detail"] and "更正判定" in zh.json()["detail"]
    en = client.post(
        "/api/alarms/w2/leak-verdict", json={"leak": True}, headers={**sup, "Accept-Language": "en"}
    )
    assert_problem(en, 409, 'already has the verdict "no leak" (engineer, ')
    assert '"Correct the verdict"' in en.json()["detail"]
    assert _orders(db) == []
    key = ("demo", "WM-02", "meters.night_flow")
    assert AlarmStore(db).take_lessons(["demo"], T0) == [(key, False, 0.44)]  # not withdrawn
    assert client.get("/api/alarms/w2", headers=sup).json()["verdict"]["leak"] is False
    meant = client.post("/api/alarms/w2/leak-verdict", json=REVERSE_LEAK, headers=sup)
    assert meant.status_code == 200, meant.text
    assert meant.json()["work_order_id"] is not None
    assert AlarmStore(db).take_lessons(["demo"], T0) == [(key, True, None)]
    # The same verdict again needs no reversal: it joins the one order.
    again = client.post("/api/alarms/w2/leak-verdict", json={"leak": True}, headers=sup)
    assert again.json()["work_order_id"] == meant.json()["work_order_id"]


def _race(clients: list[TestClient], alarm_id: str) -> dict[bool, int]:
    """ "Confirm leak" and "not a leak" posted at the same moment by two engineers."""
    codes: dict[bool, int] = {}
    start = threading.Barrier(2)

    def give(client: TestClient, leak: bool) -> None:
        start.wait()
        body = {"leak": leak} if leak else {"leak": False, "comment": "cleaning"}
        codes[leak] = client.post(f"/api/alarms/{alarm_id}/leak-verdict", json=body).status_code

    threads = [threading.Thread(target=give, args=(c, c is clients[0])) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return codes


def test_opposite_verdicts_at_once_only_the_winner_acts(
    db: Engine, make_client: ClientFactory, clock: ManualClock
) -> None:
    """Third review of issue 20, H4: the contrary-verdict check read the audit log (written
    when a request ends) and the order or the lesson was committed before the acknowledgement
    failed, so of two opposite verdicts given at once the refused one still left its repair
    order or its "not a leak" lesson. Now one wins; the other is a 409 with nothing done: an
    alarm has an order or a lesson, never both. A race: run on eight alarms."""
    add(db, *assets())
    meters = [
        EquipmentRow(
            site="demo", id=f"WR-{i}", building="B1", type="water_meter", rated={}, params={}
        )
        for i in range(8)
    ]
    add(db, *meters, *(leak(f"rc-{i}", i, equipment=f"WR-{i}") for i in range(8)))
    clients = [
        make_client(db, clock=clock, user="engineer", raise_server_exceptions=False)
        for _ in range(2)
    ]
    for i in range(8):
        codes = _race(clients, f"rc-{i}")
        assert sorted(codes.values()) == [200, 409], (i, codes)
    with Session(db) as session:
        orders = {o.equipment for o in session.scalars(select(WorkOrderRow))}
        lessons = {r.equipment for r in session.scalars(select(RuleLessonRow))}
    assert orders.isdisjoint(lessons), (orders, lessons)
    assert orders | lessons == {f"WR-{i}" for i in range(8)}


def test_a_verdict_is_corrected_in_either_direction(client: TestClient, db: Engine) -> None:
    """Third review of issue 20, M1: the 409 told a "leak" after "not a leak" to cancel an
    order that did not exist, and cancelling a confirmed leak's order changed nothing. Now a
    supervisor may reverse "not a leak" (its lesson is withdrawn: the meter alarms on that
    level again), and a confirmed leak is revisable once its order is cancelled; each 409
    says which of these would make the reversal possible."""
    eng, sup = auth_headers(client, "engineer"), auth_headers(client, "supervisor")
    en = {"Accept-Language": "en"}
    dismissed = client.post(
        "/api/alarms/w2/leak-verdict", json={"leak": False, "comment": "tank"}, headers=eng
    )
    assert dismissed.status_code == 200, dismissed.text
    refused = client.post("/api/alarms/w2/leak-verdict", json={"leak": True}, headers={**eng, **en})
    assert_problem(refused, 409, "only a supervisor may reverse it")
    reversed_ = client.post("/api/alarms/w2/leak-verdict", json=REVERSE_LEAK, headers=sup)
    assert reversed_.status_code == 200, reversed_.text
    assert reversed_.json()["work_order_id"] is not None
    key = ("demo", "WM-02", "meters.night_flow")
    assert AlarmStore(db).take_lessons(["demo"], T0) == [(key, False, 0.44), (key, True, None)]

    confirmed = client.post("/api/alarms/w1/leak-verdict", json={"leak": True}, headers=eng)
    order_id = confirmed.json()["work_order_id"]
    body = {"leak": False, "comment": "24-hour shop"}
    refused = client.post("/api/alarms/w1/leak-verdict", json=body, headers={**eng, **en})
    assert_problem(refused, 409, "cancel that order first")
    assert f"#{order_id}" in refused.json()["detail"]
    cancel = client.post(
        f"/api/work-orders/{order_id}/transition",
        json={"to": "cancelled", "note": "no leak after all"},
        headers=sup,
    )
    assert cancel.status_code == 200, cancel.text
    revised = client.post(
        "/api/alarms/w1/leak-verdict", json={**body, "reverse": True}, headers=eng
    )
    assert revised.status_code == 200, revised.text
    assert revised.json()["work_order_id"] is None
    assert AlarmStore(db).take_lessons(["demo"], T0) == [
        (("demo", "WM-01", "meters.night_flow"), False, 0.44)
    ]


@pytest.mark.parametrize("leak", ["false", 0, "no", "off", 1, "true"])
def test_the_verdict_is_a_json_boolean(client: TestClient, db: Engine, leak: object) -> None:
    """Third review of issue 20, L8: "false", 0, "no" were taken as "not a leak" (a lesson
    for the meter); only a JSON boolean is a verdict."""
    resp = client.post(
        "/api/alarms/w2/leak-verdict",
        json={"leak": leak, "comment": "tank"},
        headers=auth_headers(client, "engineer"),
    )
    assert_problem(resp, 422, "leak")
    assert AlarmStore(db).take_lessons(["demo"], T0) == []
    assert _orders(db) == []


def test_expected_use_on_an_off_hours_alarm_teaches_the_meter(
    client: TestClient, db: Engine
) -> None:
    """Third review of issue 20, M2: an off-hours (waste) alarm took no verdict (409), so a
    lasting rise (a 24-hour tenant) was a standing alarm. "Expected use" with its reason now
    acknowledges it and writes a lesson for its rule, with no order; a supervisor may reverse
    it (the lesson is withdrawn), and neither direction opens an order (the rule opens none)."""
    add(db, waste("o1", 0))
    eng, sup = auth_headers(client, "engineer"), auth_headers(client, "supervisor")
    resp = client.post(
        "/api/alarms/o1/leak-verdict",
        json={"leak": False, "comment": "24 小时营业的租户"},
        headers={**eng, "Accept-Language": "zh-CN"},
    )
    assert resp.status_code == 200, resp.text
    assert (resp.json()["alarm"]["state"], resp.json()["work_order_id"]) == ("active_ack", None)
    zh = {**eng, "Accept-Language": "zh-CN"}  # the verdict's word in the reader's language
    history = client.get("/api/alarms/o1/history", headers=zh).json()["items"]
    assert history[-1]["text"] == "预期用量（新的正常水平）: 24 小时营业的租户"
    key = ("demo", "WM-01", "meters.water_off_hours")
    assert AlarmStore(db).take_lessons(["demo"], T0) == [(key, False, 1.2)]
    refused = client.post(
        "/api/alarms/o1/leak-verdict",
        json={"leak": True},
        headers={**eng, "Accept-Language": "zh-CN"},
    )
    assert_problem(refused, 409, "o1")
    # Review 20e L2: the standing verdict is named as given, "expected use", not "not a leak".
    assert "“预期用量”" in refused.json()["detail"] and "不是漏水" not in refused.json()["detail"]
    reversed_ = client.post("/api/alarms/o1/leak-verdict", json=REVERSE_LEAK, headers=sup)
    assert reversed_.status_code == 200, reversed_.text
    assert reversed_.json()["work_order_id"] is None
    assert AlarmStore(db).take_lessons(["demo"], T0) == [(key, True, None)]
    assert _orders(db) == []


def _close(db: Engine, alarm_id: str) -> None:
    """What the rules service does when a lesson clears an acknowledged alarm: normal."""
    with Session(db) as session, session.begin():
        row = session.get(AlarmRow, alarm_id)
        assert row is not None
        row.state, row.is_open, row.condition_active = "normal", False, False
        row.cleared_at = T0 + timedelta(minutes=30)


def test_a_not_a_leak_is_reversed_after_the_alarm_closed(client: TestClient, db: Engine) -> None:
    """Fourth review of issue 20, H1/M1: "not a leak" clears the alarm at the rules service's
    next sweep, and a closed alarm took no verdict (409), so the supervisor's reversal never
    happened. The correction of the standing verdict is now taken on a closed alarm; the
    alarm's detail shows the verdict, who gave it and whether the caller may correct it."""
    eng, sup = auth_headers(client, "engineer"), auth_headers(client, "supervisor")
    given = client.post(
        "/api/alarms/w2/leak-verdict", json={"leak": False, "comment": "tank"}, headers=eng
    )
    assert given.status_code == 200, given.text
    _close(db, "w2")
    verdict = client.get("/api/alarms/w2", headers=sup).json()["verdict"]
    assert (verdict["leak"], verdict["actor"], verdict["correctable"]) == (
        False,
        "engineer",
        True,
    )
    assert client.get("/api/alarms/w2", headers=eng).json()["verdict"]["correctable"] is False
    # The same verdict again on the closed alarm is no correction: refused.
    again = client.post(
        "/api/alarms/w2/leak-verdict", json={"leak": False, "comment": "x"}, headers=sup
    )
    assert_problem(again, 409, "w2")
    reversed_ = client.post("/api/alarms/w2/leak-verdict", json=REVERSE_LEAK, headers=sup)
    assert reversed_.status_code == 200, reversed_.text
    order_id = reversed_.json()["work_order_id"]
    assert order_id is not None  # "it was a leak after all" opens the repair order
    key = ("demo", "WM-02", "meters.night_flow")
    assert AlarmStore(db).take_lessons(["demo"], T0) == [(key, False, 0.44), (key, True, None)]
    verdict = client.get("/api/alarms/w2", headers=sup).json()["verdict"]
    assert (verdict["leak"], verdict["actor"], verdict["work_order_id"]) == (
        True,
        "supervisor",
        order_id,
    )
    assert verdict["order_status"] is not None
    assert verdict["correctable"] is False  # a leak with an order standing: cancel it first
    # An alarm that never had a verdict still takes none once closed.
    _close(db, "w1")
    assert_problem(
        client.post("/api/alarms/w1/leak-verdict", json={"leak": True}, headers=sup), 409, "w1"
    )


def test_standing_verdicts_are_listed_for_review_not_a_leak_first(
    client: TestClient, db: Engine, clock: ManualClock
) -> None:
    """Fifth review of issue 20, H1: a closed leak alarm's page (where "correct the verdict"
    lives) was linked from nowhere. `/api/alarms/verdicts` lists the standing verdicts of the
    last 30 days, open or closed, "not a leak" first; a withdrawn one and an old one are not
    listed; the alarms list's state filter asks for closed alarms when it names them."""
    eng, sup = auth_headers(client, "engineer"), auth_headers(client, "supervisor")
    leak_given = client.post("/api/alarms/w1/leak-verdict", json={"leak": True}, headers=eng)
    assert leak_given.status_code == 200, leak_given.text
    clock.advance(timedelta(minutes=5))
    none_given = client.post(
        "/api/alarms/w2/leak-verdict", json={"leak": False, "comment": "tank"}, headers=eng
    )
    assert none_given.status_code == 200, none_given.text
    _close(db, "w2")
    got = client.get("/api/alarms/verdicts", headers={**sup, "Accept-Language": "zh-CN"})
    assert got.status_code == 200, got.text
    rows = [
        (r["id"], r["state"], r["verdict"]["leak"], r["verdict"]["correctable"]) for r in got.json()
    ]
    assert rows == [("w2", "normal", False, True), ("w1", "active_ack", True, False)]
    assert got.json()[1]["order_id"] == leak_given.json()["work_order_id"]
    # The closed one is in the alarms list when the state filter names "normal".
    closed = client.get("/api/alarms", params={"state": "normal"}, headers=sup).json()["items"]
    assert [a["id"] for a in closed] == ["w2"]
    # A verdict reversed (withdrawn) is not listed; the new one stands in its place.
    assert (
        client.post("/api/alarms/w2/leak-verdict", json=REVERSE_LEAK, headers=sup).status_code
        == 200
    )
    rows2 = [
        (r["id"], r["verdict"]["leak"], r["verdict"]["actor"])
        for r in client.get("/api/alarms/verdicts", headers=sup).json()
    ]
    assert rows2 == [("w2", True, "supervisor"), ("w1", True, "engineer")]
    # Older than the window asked: not listed; a bad window is a 422 naming it.
    clock.advance(timedelta(days=31))
    sup = auth_headers(client, "supervisor")  # a new sign-in: the old token has expired
    assert client.get("/api/alarms/verdicts", headers=sup).json() == []
    assert len(client.get("/api/alarms/verdicts", params={"days": 60}, headers=sup).json()) == 2
    assert_problem(client.get("/api/alarms/verdicts", params={"days": 0}, headers=sup), 422, "days")
