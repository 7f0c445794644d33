"""One authority rule for money on a work order (review 19g): every cost line a person books
by hand — a part, a spot purchase, a labour line, a contractor's charge — counts at once only
within its booker's authority for the site-local day; beyond it the line awaits approval, and
an approver's limit holds for what all approvals brought into count on the order."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import Engine, update
from sqlalchemy.orm import Session

from bldgwatch.console.models import UserRow
from bldgwatch.core.clock import ManualClock
from bldgwatch.maintenance.models import WorkOrderRow
from bldgwatch.maintenance.stockmodels import StockRow
from tests.console.conftest import PASSWORD_HASH, ClientFactory, auth_headers
from tests.console.seed import T0, add, assets, bought_part, store, work_order
from tests.console.support import assert_problem

pytestmark = pytest.mark.services


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0)  # 16:00 in Shanghai


@pytest.fixture
def client(sqlite_db: Engine, make_client: ClientFactory, clock: ManualClock) -> TestClient:
    add(sqlite_db, *assets(), work_order(0, status="in_progress", assigned_to="tech"))
    add(sqlite_db, work_order(1, status="in_progress", assigned_to="tech"))
    return make_client(sqlite_db, clock=clock, user=None)


def _book(
    client: TestClient, body: dict[str, object], who: dict[str, str], order: int = 1
) -> Response:
    return client.post(f"/api/work-orders/{order}/bookings", json=body, headers=who)


def test_money_in_the_timeline_reads_as_money_in_both_languages(client: TestClient) -> None:
    """Review 19g M6: the timeline printed ¥123,456.78 as "123457" and ¥100,000,000 as
    "1e+08" (`%g`). Now amounts, unit prices and rates read with two decimals and grouping."""
    sup = auth_headers(client, "admin")  # a manager: counted at any amount
    body = {
        "charges": [{"contractor": "某电梯公司", "amount": 123456.78}],
        "labour": [{"technician": "tech", "hours": 2.25, "rate": 87.456, "rate_reason": "加班"}],
    }
    booked = _book(client, body, sup)
    assert booked.status_code == 200, booked.text
    zh = client.get("/api/work-orders/1", headers={**sup, "Accept-Language": "zh-CN"}).json()
    texts = " | ".join(e["text"] for e in zh["events"])
    assert "外委 某电梯公司：123,456.78 元" in texts, texts
    assert "87.46 元/小时" in texts, texts
    en = client.get("/api/work-orders/1", headers={**sup, "Accept-Language": "en"}).json()
    texts = " | ".join(e["text"] for e in en["events"])
    assert "contractor 某电梯公司: 123,456.78" in texts, texts
    assert "at 87.46/h" in texts, texts
    charge = en["record"]["charges"][0]["id"]
    url = f"/api/work-orders/1/charges/{charge}/reverse"
    back = client.post(url, json={"reason": "录错"}, headers=sup).json()
    assert "某电梯公司 123,456.78 — 录错" in back["events"][-1]["text"]


def test_a_contractor_charge_names_a_visible_contractor(client: TestClient) -> None:
    """Review 19g L2: a charge to "\u200b" (an invisible name) was accepted."""
    sup = auth_headers(client, "supervisor")
    hidden = _book(client, {"charges": [{"contractor": "\u200b", "amount": 1}]}, sup)
    assert_problem(hidden, 422, "contractor")
    assert hidden.json()["errors"][0]["name"] == "contractor"
    assert client.get("/api/work-orders/1", headers=sup).json()["cost"] == 0


def test_a_persons_hours_are_at_most_24_a_site_local_day_over_lines_and_orders(
    client: TestClient, clock: ManualClock
) -> None:
    """Review 19g H1: the bound held per line: 50 lines of 24 h in one request, four times
    (4,800 h, ¥1,152,000 at the band's top rate), were counted at once. Now one person's hours
    on a site-local day, over lines, requests and orders, are at most 24 (422 in words); the
    next day starts afresh. A supervisor booking for them is held to the same day."""
    tech, sup = auth_headers(client, "tech"), auth_headers(client, "supervisor")
    zh = {**tech, "Accept-Language": "zh-CN"}
    fifty = _book(client, {"labour": [{"hours": 24}] * 50}, tech)
    assert_problem(fifty, 422, "48 h", "a day has 24 hours")
    assert fifty.json()["errors"][0]["name"] == "hours"
    assert client.get("/api/work-orders/1", headers=tech).json()["cost"] == 0
    # 20 h at 80 is beyond the technician's ¥500 for the day: booked, awaiting approval, and
    # its hours count for the day all the same
    assert _book(client, {"labour": [{"hours": 20}]}, tech).json()["labour"][-1]["hours"] == 20
    other = _book(client, {"labour": [{"hours": 5}]}, zh, order=2)
    assert_problem(other, 422, "工时", "tech 在 2026-03-01 的工时将达 25 小时", "一天只有 24 小时")
    assert other.json()["detail"].startswith("工时："), other.json()["detail"]  # review 19g L1
    for_them = {"labour": [{"technician": "tech", "hours": 4.5}]}
    assert_problem(_book(client, for_them, sup, order=2), 422, "24.5 h")
    assert (
        _book(client, {"labour": [{"hours": 4}]}, tech, order=2).json()["labour"][-1]["hours"] == 4
    )
    clock.advance(timedelta(hours=8))  # 00:00 the next day in Shanghai
    tech = auth_headers(client, "tech")  # signed in again: the token of yesterday expired
    nextday = _book(client, {"labour": [{"hours": 24}]}, tech, order=2)
    assert nextday.status_code == 200, nextday.text
    assert nextday.json()["labour"][-1]["hours"] == 24


def test_labour_is_priced_at_the_sites_rate_and_another_rate_is_a_supervisors_with_a_reason(
    client: TestClient,
) -> None:
    """Review 19g M5: a line booked without a rate cost ¥0 (the site's rate, 80, was only a
    bound), and a technician picked any rate up to 3× with no reason. Now the server prices a
    line without a rate at the site's; a technician's other rate is refused in words; a
    supervisor's other rate needs the reason, which the line keeps."""
    tech, sup = auth_headers(client, "tech"), auth_headers(client, "supervisor")
    zh = {**tech, "Accept-Language": "zh-CN"}
    order = _book(client, {"labour": [{"hours": 3}]}, tech).json()
    assert (order["cost"], order["labour"][0]["rate"]) == (240, 80)
    assert order["record"]["labour_rate"] == 80
    mine = _book(client, {"labour": [{"hours": 1, "rate": 200}]}, zh)
    assert_problem(mine, 422, "项目费率 80.00", "须由主管登记")
    assert mine.json()["errors"][0]["name"] == "rate"
    assert _book(client, {"labour": [{"hours": 1, "rate": 80}]}, tech).json()["cost"] == 320
    logged = client.post("/api/work-orders/1/labour", json={"labour_hours": 1}, headers=tech)
    assert logged.json()["cost"] == 400  # the own-labour route too
    line = {"technician": "tech", "hours": 2, "rate": 120}
    unsaid = _book(client, {"labour": [line]}, sup)
    assert_problem(unsaid, 422, "120.00", "80.00", "say why")
    assert unsaid.json()["errors"][0]["name"] == "rate_reason"
    said = _book(client, {"labour": [{**line, "rate_reason": "夜间加班"}]}, sup).json()
    assert said["cost"] == 400 + 240
    assert "夜间加班" in said["labour"][-1]["note"]


def _user(engine: Engine, name: str, roles: list[str]) -> None:
    """Another user of the demo site (password `PASSWORD_HASH`'s)."""
    with Session(engine) as db, db.begin():
        db.add(
            UserRow(
                name=name,
                password_hash=PASSWORD_HASH,
                roles=roles,
                sites=["demo"],
                display_name=name,
                disabled=False,
                created_at=T0,
            )
        )


def _second_supervisor(engine: Engine) -> None:
    _user(engine, "supervisor2", ["supervisor"])


def _no_stock(engine: Engine) -> None:
    with Session(engine) as db, db.begin():
        db.execute(update(StockRow).values(on_hand=0))


def test_a_technicians_contractor_charges_above_their_authority_wait_for_approval(
    client: TestClient, sqlite_db: Engine
) -> None:
    """Review 19g H3: a technician booked 20 charges of ¥100,000,000 to a made-up contractor,
    counted at once in the cost, history, budget and report. Now a charge is a cost line like
    any: beyond the technician's ¥500 for the day it waits, uncounted, in the pending list; a
    supervisor approves within their limit, a manager above it."""
    tech, sup = auth_headers(client, "tech"), auth_headers(client, "supervisor")
    admin = auth_headers(client, "admin")
    huge = {"charges": [{"contractor": "随便写的公司", "amount": 100_000_000}] * 20}
    order = _book(client, huge, tech).json()
    assert order["cost"] == 0
    assert order["record"]["cost_by_category"]["contractors"] == 0
    assert {c["approval"] for c in order["record"]["charges"]} == {"pending"}
    assert "awaiting approval" in order["events"][-1]["text"]
    small = _book(client, {"charges": [{"contractor": "某电梯公司", "amount": 400}]}, tech).json()
    assert small["cost"] == 400  # within the day's 500
    listed = client.get("/api/spot-purchases/pending", headers=sup).json()
    assert [(x["kind"], x["amount"]) for x in listed] == [("charges", 100_000_000.0)] * 20
    first = order["record"]["charges"][0]["id"]
    url = f"/api/work-orders/1/charges/{first}/approval"
    assert_problem(client.post(url, json={"approve": True}, headers=tech), 403)
    assert_problem(client.post(url, json={"approve": True}, headers=sup), 403, "5,000.00")
    approved = client.post(url, json={"approve": True}, headers=admin).json()
    assert approved["cost"] == 100_000_400
    assert approved["record"]["charges"][0]["decided_by"] == "admin"
    held = client.post("/api/work-orders/1/resolve", json={"summary": "完工"}, headers=tech)
    assert_problem(held, 409, "随便写的公司")  # the others still wait
    last = order["record"]["charges"][-1]["id"]
    url = f"/api/work-orders/1/charges/{last}/approval"
    assert (
        client.post(url, json={"approve": False, "reason": "公司不存在"}, headers=sup).json()[
            "cost"
        ]
        == 100_000_400
    )
    kpis = client.get("/api/work-orders/1", headers=sup).json()["record"]["cost_by_category"]
    assert kpis == {"labour": 0, "parts": 0, "contractors": 100_000_400}


def test_a_supervisors_hand_booking_at_another_price_above_their_limit_waits_for_a_manager(
    client: TestClient, sqlite_db: Engine
) -> None:
    """Review 19g H2: a supervisor booked 100 × DR-ROLLER at ¥10,000,000 by hand "at another
    price" (not marked bought on the spot): ¥1,000,000,000 counted at once. Now a hand booking
    goes through the same authority (a supervisor's approval limit), its price reason still
    required; nobody approves their own line; a manager does."""
    sup, admin = auth_headers(client, "supervisor"), auth_headers(client, "admin")
    _no_stock(sqlite_db)
    line = {"part_no": "6205-2RS", "quantity": 100, "unit_cost": 10_000_000}
    assert_problem(_book(client, {"parts": [line]}, sup), 422, "reason for the price")
    booked = _book(client, {"parts": [{**line, "cost_reason": "厂家报价"}]}, sup).json()
    assert booked["cost"] == 0
    (part,) = booked["parts"]
    assert part["approval"] == "pending"
    url = f"/api/work-orders/1/parts/{part['id']}/approval"
    assert_problem(client.post(url, json={"approve": True}, headers=sup), 403, "your own")
    assert client.post(url, json={"approve": True}, headers=admin).json()["cost"] == 1e9
    # the labour a supervisor books is held to the same limit (review 19g M3)
    labour = {"technician": "tech", "hours": 20, "rate": 1000, "rate_reason": "专家"}
    order = _book(client, {"labour": [labour]}, sup).json()
    assert (order["cost"], order["labour"][-1]["approval"]) == (1e9, "pending")
    assert order["labour_hours"] == 0


def test_the_authority_holds_over_a_persons_orders_and_line_kinds_for_the_site_local_day(
    client: TestClient, sqlite_db: Engine, clock: ManualClock
) -> None:
    """Review 19g M1: a technician opened six orders and booked ¥500 on each (¥3,000), none
    approved. Now what they count without approval on the site's orders on one site-local day,
    all kinds of line, is within ¥500 together; the next day starts afresh."""
    tech = auth_headers(client, "tech")
    spot = {"part_no": "6205-2RS", "quantity": 2, "unit_cost": 50, "bought_on_spot": True}
    mixed = {
        "labour": [{"hours": 3}],  # 240, at the site's rate: not by authority (review 19h H2)
        "parts": [{**spot, "spot_reason": "五金店"}],  # 100
        "charges": [{"contractor": "某电梯公司", "amount": 400}],  # 400: 500 in all
    }
    assert _book(client, mixed, tech).json()["cost"] == 740
    other = _book(client, {"charges": [{"contractor": "某电梯公司", "amount": 1}]}, tech, order=2)
    assert other.json()["cost"] == 0
    assert other.json()["record"]["charges"][0]["approval"] == "pending"
    clock.advance(timedelta(hours=8))  # the next day in Shanghai
    tech = auth_headers(client, "tech")
    again = _book(client, {"charges": [{"contractor": "某电梯公司", "amount": 500}]}, tech, order=2)
    assert again.json()["cost"] == 500


def test_an_approvers_limit_holds_for_what_all_approvals_brought_into_count_on_the_order(
    client: TestClient, sqlite_db: Engine
) -> None:
    """Review 19g M2: two supervisors each approved ¥4,896 of one technician's purchase split
    into lines (¥9,792, the manager never asked). Now the limit holds for what approvals by
    anyone brought into count on the order, with the line."""
    _second_supervisor(sqlite_db)
    tech = auth_headers(client, "tech")
    one, two = auth_headers(client, "supervisor"), auth_headers(client, "supervisor2")
    charges = {"charges": [{"contractor": "某电梯公司", "amount": 2000}] * 4}
    order = _book(client, charges, tech).json()
    ids = [c["id"] for c in order["record"]["charges"]]

    def decide(booking: int, who: dict[str, str]) -> Response:
        url = f"/api/work-orders/1/charges/{booking}/approval"
        return client.post(url, json={"approve": True}, headers=who)

    assert decide(ids[0], one).json()["cost"] == 2000
    assert decide(ids[1], two).json()["cost"] == 4000
    assert_problem(decide(ids[2], one), 403, "6,000.00", "5,000.00")
    assert_problem(decide(ids[2], two), 403, "6,000.00")
    assert decide(ids[2], auth_headers(client, "admin")).json()["cost"] == 6000


def test_purchase_requests_split_under_the_limit_are_approved_as_one(
    client: TestClient, sqlite_db: Engine
) -> None:
    """Review 19g M7: four requests of 13 × 380 (¥4,940 each, ¥19,760) raised by one supervisor
    within a minute were all approved by another under a ¥5,000 limit. Now the limit holds for
    the request with its requester's other open requests for the store of the last 7 days:
    the second is refused naming the sum and the requests, a manager approves it; the page
    lists them beside a pending one."""
    add(sqlite_db, *store(), bought_part())
    _second_supervisor(sqlite_db)
    one, two = auth_headers(client, "supervisor"), auth_headers(client, "supervisor2")
    admin = auth_headers(client, "admin")
    line = {"part_no": "V-BELT-A", "quantity": 13, "unit_cost": 380}
    ids = []
    for _ in range(4):
        raised = client.post("/api/stores/1/purchase-requests", json={"lines": [line]}, headers=one)
        assert raised.status_code == 201, raised.text
        ids.append(raised.json()["id"])

    def decide(request: int, who: dict[str, str]) -> Response:
        url = f"/api/stores/1/purchase-requests/{request}/decision"
        return client.post(url, json={"approve": True}, headers=who)

    assert decide(ids[0], two).json()["status"] == "approved"
    zh = {**two, "Accept-Language": "zh-CN"}
    refused = decide(ids[1], zh)
    assert_problem(refused, 403, "9,880.00", "5,000.00", f"#{ids[0]} 4,940.00", "经理")
    en = decide(ids[1], two)
    assert_problem(en, 403, "9,880.00", "5,000.00", f"#{ids[0]} 4,940.00", "a manager")
    assert decide(ids[1], admin).json()["status"] == "approved"
    # a manager's approval is theirs: the third with the first (sup2's) is still 9,880
    assert_problem(decide(ids[2], two), 403, "9,880.00", f"#{ids[0]} 4,940.00")
    page = client.get("/api/stores/1/purchase-requests?status=pending", headers=two).json()
    beside = {
        x["id"]: [(o["id"], o["amount"], o["status"]) for o in x["alongside"]]
        for x in page["items"]
    }
    assert beside[ids[2]] == [
        (ids[0], 4940.0, "approved"),
        (ids[1], 4940.0, "approved"),
        (ids[3], 4940.0, "pending"),
    ]
    assert beside[1] == []  # the seed's request: nobody else's of its requester


def test_the_split_rule_counts_a_requesters_requests_over_all_the_sites_stores(
    client: TestClient, sqlite_db: Engine
) -> None:
    """Review 19i M2: the 7-day split rule held per store, and a supervisor makes a store in
    one call: four requests of ¥4,940, each in a store made for it a second before, were all
    approved under a ¥5,000 limit. The rule counts one requester's requests over the site's
    stores: the second is refused naming the sum and the other store's request."""
    add(sqlite_db, bought_part())
    _second_supervisor(sqlite_db)
    one, two = auth_headers(client, "supervisor"), auth_headers(client, "supervisor2")
    line = {"part_no": "V-BELT-A", "quantity": 13, "unit_cost": 380}
    made = []
    for n in range(4):
        body = {"site": "demo", "code": f"S{n}", "name": f"分库{n}"}
        new = client.post("/api/stores", json=body, headers=one)
        assert new.status_code == 201, new.text
        url = f"/api/stores/{new.json()['id']}/purchase-requests"
        raised = client.post(url, json={"lines": [line]}, headers=one)
        assert raised.status_code == 201, raised.text
        made.append((new.json()["id"], raised.json()["id"]))

    def decide(at: tuple[int, int], who: dict[str, str]) -> Response:
        url = f"/api/stores/{at[0]}/purchase-requests/{at[1]}/decision"
        return client.post(url, json={"approve": True}, headers=who)

    assert decide(made[0], two).json()["status"] == "approved"
    zh = {**two, "Accept-Language": "zh-CN"}
    refused = decide(made[1], zh)
    assert_problem(refused, 403, "9,880.00", "5,000.00", f"#{made[0][1]} 4,940.00", "本场地")
    en = decide(made[3], two)
    assert_problem(en, 403, "19,760.00", "5,000.00", "this site's stores", "a manager")
    page = client.get(f"/api/stores/{made[2][0]}/purchase-requests", headers=two).json()
    (pending,) = [x for x in page["items"] if x["id"] == made[2][1]]
    assert [o["id"] for o in pending["alongside"]] == [made[0][1], made[1][1], made[3][1]]


def test_a_booking_repeated_under_its_key_books_once(client: TestClient) -> None:
    """Review 19g L7: a phone that retried a timed-out "登记" booked the labour twice. Now the
    same `Idempotency-Key` from the same user on the same order books once (a repeat answers
    the order), another booking under it is 409 naming the key, and two at once book once."""
    tech = auth_headers(client, "tech")
    labour = {"labour": [{"hours": 1.5}]}

    def post(body: dict[str, object], key: str, order: int = 1) -> Response:
        url = f"/api/work-orders/{order}/bookings"
        return client.post(url, json=body, headers={**tech, "Idempotency-Key": key})

    first, again = post(labour, "k-1"), post(labour, "k-1")
    assert first.status_code == again.status_code == 200, again.text
    assert len(again.json()["labour"]) == 1 and again.json()["labour_hours"] == 1.5
    assert_problem(post({"labour": [{"hours": 2}]}, "k-1"), 409, "k-1")
    zh = client.post(
        "/api/work-orders/1/bookings",
        json={"labour": [{"hours": 2}]},
        headers={**tech, "Idempotency-Key": "k-1", "Accept-Language": "zh-CN"},
    )
    assert_problem(zh, 409, "k-1", "另一笔登记")
    assert_problem(post(labour, "bad key"), 422, "Idempotency-Key")
    assert len(post(labour, "k-1", order=2).json()["labour"]) == 1  # another order: its own
    with client, ThreadPoolExecutor(2) as pool:
        pair = list(pool.map(lambda _: post(labour, "k-2"), range(2)))
    assert [a.status_code for a in pair] == [200, 200], [a.text for a in pair]
    order = client.get("/api/work-orders/1", headers=tech).json()
    assert [x["hours"] for x in order["labour"]] == [1.5, 1.5]  # k-1's and k-2's, once each


def test_the_labour_refusals_name_the_field_in_words_and_teach_no_way_round(
    client: TestClient,
) -> None:
    """Review 19g L1: "hours: 30 h on one labour line is more than a technician books" named
    the raw field and told the technician to split the line."""
    tech = auth_headers(client, "tech")
    for lang, field, line in (("zh-CN", "工时：", "一条"), ("en", "hours: ", "one labour line")):
        said = _book(client, {"labour": [{"hours": 25}]}, {**tech, "Accept-Language": lang})
        detail = assert_problem(said, 422, "25", "24")["detail"]
        assert detail.startswith(field) and line not in detail, detail
    zh = {**tech, "Accept-Language": "zh-CN"}
    rate = _book(client, {"labour": [{"hours": 1, "rate": 100}]}, zh)
    assert assert_problem(rate, 422, "费率")["detail"].startswith("费率：")


def test_a_technician_resolves_a_full_days_job_with_his_hours_at_the_sites_rate(
    client: TestClient,
) -> None:
    """Review 19h H2: "完成维修" with 8 h was refused, naming a line "#9 tech1 8 h = 640.00
    awaiting approval" that was rolled back (¥640 is above a technician's ¥500 a day). Labour
    at the site's rate within the person's 24 h is no one's discretionary money: it counts at
    once, on the resolve (both routes) as on a booking, and leaves the day's authority whole."""
    tech = auth_headers(client, "tech")
    body = {"summary": "已更换压力表", "labour": [{"hours": 8}]}
    done = client.post("/api/work-orders/1/resolve", json=body, headers=tech)
    assert done.status_code == 200, done.text
    assert (done.json()["status"], done.json()["cost"]) == ("resolved", 640)
    assert done.json()["labour"][0]["approval"] is None
    # 8 h at the site's rate took nothing of the day's ¥500: a ¥500 charge still counts
    charge = {"charges": [{"contractor": "某泵业公司", "amount": 500}]}
    assert _book(client, charge, tech, order=2).json()["cost"] == 500
    move = {"to": "resolved", "note": "已更换压力表", "labour_hours": 8}
    moved = client.post("/api/work-orders/2/transition", json=move, headers=tech)
    assert moved.status_code == 200, moved.text
    assert (moved.json()["status"], moved.json()["cost"]) == ("resolved", 1140)
    assert (
        client.get("/api/spot-purchases/pending", headers=auth_headers(client, "admin")).json()
        == []
    )


def test_a_resolve_with_a_line_that_would_wait_is_refused_before_anything_is_kept(
    client: TestClient,
) -> None:
    """Review 19h H2: the refusal named a line number that was never kept and called hours a
    "spot purchase". Now what already waits refuses the resolve before the booking, named by
    its kind; a line of the resolve's own booking that would wait refuses it with its kind and
    amount and what to do, no number, and nothing is booked."""
    tech = auth_headers(client, "tech")
    en, zh = {**tech, "Accept-Language": "en"}, {**tech, "Accept-Language": "zh-CN"}
    charge = {"summary": "完工", "charges": [{"contractor": "某泵业公司", "amount": 900}]}
    wait = client.post("/api/work-orders/1/resolve", json=charge, headers=en)
    assert_problem(wait, 409, "contractor charge 某泵业公司 = 900.00", "Book it on the order first")
    assert "#" not in wait.json()["detail"]
    wait = client.post("/api/work-orders/1/resolve", json=charge, headers=zh)
    assert_problem(wait, 409, "外委费用 某泵业公司 = 900.00 元", "超出您今天无需审批可计入的额度")
    order = client.get("/api/work-orders/1", headers=tech).json()
    assert (order["status"], order["record"]["charges"]) == ("in_progress", [])
    booked = _book(client, {"charges": [{"contractor": "某泵业公司", "amount": 900}]}, tech).json()
    line = booked["record"]["charges"][0]["id"]
    body = {"summary": "完工", "labour": [{"hours": 8}]}
    held = client.post("/api/work-orders/1/resolve", json=body, headers=en)
    assert_problem(held, 409, f"#{line} contractor charge 某泵业公司 = 900.00", "lines awaiting")
    assert "spot purchase" not in held.json()["detail"]
    held = client.post("/api/work-orders/1/resolve", json=body, headers=zh)
    assert_problem(held, 409, "有待审批的费用", "外委费用 某泵业公司 = 900.00 元")
    order = client.get("/api/work-orders/1", headers=tech).json()
    assert (order["status"], order["labour"]) == ("in_progress", [])


def test_an_order_with_lines_awaiting_approval_is_not_cancelled_nor_approved_once_cancelled(
    client: TestClient, sqlite_db: Engine
) -> None:
    """Review 19h M1: a technician's ¥2,000 charge awaiting approval stayed pending on the
    order a supervisor cancelled, was then approved and counted on the cancelled order (and
    in the month's cost). Now cancelling refuses (409) naming the lines, like resolving; an
    approval on a cancelled order is refused (409); rejecting it still clears it."""
    tech, sup = auth_headers(client, "tech"), auth_headers(client, "supervisor")
    en = {**sup, "Accept-Language": "en"}
    booked = _book(client, {"charges": [{"contractor": "某泵业公司", "amount": 2000}]}, tech)
    line = booked.json()["record"]["charges"][0]["id"]
    move = {"to": "cancelled", "note": "重复工单"}
    held = client.post("/api/work-orders/1/transition", json=move, headers=en)
    assert_problem(held, 409, f"#{line} contractor charge 某泵业公司 = 2,000.00", "cancelled")
    cancel = client.post("/api/work-orders/1/cancel", json={"reason": "重复工单"}, headers=sup)
    assert_problem(cancel, 409, f"#{line}", "某泵业公司")
    assert client.get("/api/work-orders/1", headers=sup).json()["status"] == "in_progress"
    with Session(sqlite_db) as db, db.begin():  # an order cancelled before this rule held
        db.execute(update(WorkOrderRow).where(WorkOrderRow.id == 1).values(status="cancelled"))
    url = f"/api/work-orders/1/charges/{line}/approval"
    admin = {**auth_headers(client, "admin"), "Accept-Language": "zh-CN"}
    late = client.post(url, json={"approve": True}, headers=admin)
    assert_problem(late, 409, "工单 #1 已是“已取消”", "可驳回")
    assert client.get("/api/work-orders/1", headers=sup).json()["cost"] == 0
    rejected = client.post(url, json={"approve": False, "reason": "重复工单"}, headers=sup)
    assert rejected.status_code == 200, rejected.text
    assert rejected.json()["record"]["charges"][0]["approval"] == "rejected"


def test_nobody_approves_the_hours_that_pay_them(client: TestClient, sqlite_db: Engine) -> None:
    """Review 19h M3: a supervisor who also works as a technician approved his own 20 h at
    ¥200/h (2.5× the site's rate) that another supervisor booked for him. Now an approver who
    is a labour line's technician is refused like its booker ("your own"); another approves."""
    _second_supervisor(sqlite_db)
    _user(sqlite_db, "suptech", ["supervisor", "technician"])
    sup = auth_headers(client, "supervisor")
    spent = _book(client, {"charges": [{"contractor": "某电梯公司", "amount": 5000}]}, sup)
    assert spent.json()["cost"] == 5000  # the day's authority spent
    line = {"technician": "suptech", "hours": 20, "rate": 200, "rate_reason": "夜间加班"}
    order = _book(client, {"labour": [line]}, sup).json()
    (labour,) = order["labour"]
    assert labour["approval"] == "pending"
    url = f"/api/work-orders/1/labour/{labour['id']}/approval"
    own = {**auth_headers(client, "suptech"), "Accept-Language": "en"}
    assert_problem(client.post(url, json={"approve": True}, headers=own), 403, "your own hours")
    zh = {**own, "Accept-Language": "zh-CN"}
    assert_problem(client.post(url, json={"approve": True}, headers=zh), 403, "您本人的工时")
    assert client.get("/api/work-orders/1", headers=sup).json()["cost"] == 5000
    other = client.post(url, json={"approve": True}, headers=auth_headers(client, "supervisor2"))
    assert other.status_code == 200, other.text
    assert other.json()["cost"] == 9000


def test_hours_that_pay_the_booker_wait_for_another_unless_at_the_sites_rate(
    client: TestClient, sqlite_db: Engine
) -> None:
    """Review 19i M4: a supervisor-technician booked his own 20 h at ¥200/h (2.5× the site's
    ¥80) and it counted at once within his own ¥5,000 day; a supervisor who is no technician
    booked himself 4 h at ¥240/h the same way. Labour that pays its booker at other than the
    site's rate now always waits for another's approval (a manager's too); at the site's rate
    it counts at once (19h H2). Labour for someone who holds no technician role is refused
    (422 naming the worker)."""
    _user(sqlite_db, "suptech", ["supervisor", "technician"])
    suptech = auth_headers(client, "suptech")
    line = {"technician": "suptech", "hours": 20, "rate": 200, "rate_reason": "夜间加班"}
    order = _book(client, {"labour": [line]}, suptech).json()
    assert [x["approval"] for x in order["labour"]] == ["pending"]
    assert order["cost"] == 0
    at_rate = _book(client, {"labour": [{"technician": "suptech", "hours": 2}]}, suptech).json()
    assert [x["approval"] for x in at_rate["labour"]] == ["pending", None]
    assert at_rate["cost"] == 160
    sup = {**auth_headers(client, "supervisor"), "Accept-Language": "en"}
    own = {"technician": "supervisor", "hours": 4, "rate": 240, "rate_reason": "节假日加班"}
    assert_problem(_book(client, {"labour": [own]}, sup), 422, "supervisor", "technician")
    zh = {**sup, "Accept-Language": "zh-CN"}
    assert_problem(_book(client, {"labour": [{"hours": 4}]}, zh), 422, "supervisor", "技术员")
    assert client.get("/api/work-orders/1", headers=sup).json()["cost"] == 160


def test_an_approvers_limit_holds_over_orders_for_one_booker_in_a_site_local_day(
    client: TestClient, sqlite_db: Engine, clock: ManualClock
) -> None:
    """Review 19h M2: a supervisor (limit ¥5,000) approved ¥4,900 of one technician's charges
    on each of three orders he opened for himself (¥14,700), the limit held per order. Now what
    one approver approved for one booker in the site-local day, on any order, with the line,
    is within the approver's limit; another approver, or the next day, starts afresh."""
    add(sqlite_db, work_order(2, status="in_progress", assigned_to="tech"))
    _second_supervisor(sqlite_db)
    tech, sup = auth_headers(client, "tech"), auth_headers(client, "supervisor")
    charge = {"charges": [{"contractor": "某电梯公司", "amount": 4900}]}
    ids = []
    for order in (1, 2, 3):
        booked = _book(client, charge, tech, order=order).json()
        assert booked["record"]["charges"][0]["approval"] == "pending"
        ids.append(booked["record"]["charges"][0]["id"])

    def decide(order: int, who: dict[str, str]) -> Response:
        url = f"/api/work-orders/{order}/charges/{ids[order - 1]}/approval"
        return client.post(url, json={"approve": True}, headers=who)

    assert decide(1, sup).json()["cost"] == 4900
    assert_problem(decide(2, sup), 403, "4,900.00", "9,800.00", "5,000.00")
    # review 19i L1: the refusal names the day's sum over orders, not "this order"
    refused = decide(2, {**sup, "Accept-Language": "zh-CN"})
    assert_problem(refused, 403, "您今天已批准 tech 在本项目各工单的费用 4,900.00 元", "9,800.00")
    assert "本工单" not in refused.text
    assert_problem(decide(2, sup), 403, "you approved today for tech's lines on the site's orders")
    assert decide(2, auth_headers(client, "supervisor2")).json()["cost"] == 4900
    clock.advance(timedelta(hours=8))  # the next day in Shanghai
    assert decide(3, auth_headers(client, "supervisor")).json()["cost"] == 4900


def test_a_line_awaiting_approval_is_not_reversed_and_the_refusal_says_why(
    client: TestClient,
) -> None:
    """Review 19h L1: reversing a pending charge said "it is a reversal or reversed already";
    it is neither. Now the refusal names the real reason (awaiting approval: approve or reject
    it) and, once rejected, that it was never counted."""
    tech = auth_headers(client, "tech")
    sup, admin = auth_headers(client, "supervisor"), auth_headers(client, "admin")
    spot = {"part_no": "6205-2RS", "quantity": 20, "unit_cost": 50}
    body = {
        "charges": [{"contractor": "某电梯公司", "amount": 6000}],
        "parts": [{**spot, "bought_on_spot": True, "spot_reason": "五金店"}],
    }
    _book(client, body, tech)
    labour = {"technician": "tech", "hours": 20, "rate": 300, "rate_reason": "夜间抢修"}
    order = _book(client, {"labour": [labour]}, sup).json()  # ¥6,000: above a supervisor's
    lines = {
        "charges": order["record"]["charges"][0],
        "labour": order["labour"][0],
        "parts": order["parts"][0],
    }
    assert {k: x["approval"] for k, x in lines.items()} == dict.fromkeys(lines, "pending")
    why = {"reason": "录错了"}
    words = {"charges": "外委费用", "labour": "工时登记", "parts": "材料登记"}
    for kind, line in lines.items():
        url = f"/api/work-orders/1/{kind}/{line['id']}/reverse"
        zh = client.post(url, json=why, headers={**admin, "Accept-Language": "zh-CN"})
        assert_problem(zh, 409, words[kind], "待审批", "请批准或驳回它")
        assert "冲销记录" not in zh.json()["detail"]
        en = client.post(url, json=why, headers={**admin, "Accept-Language": "en"})
        assert_problem(en, 409, "awaiting approval", "approve or reject it instead")
    charge = lines["charges"]["id"]
    rejected = client.post(
        f"/api/work-orders/1/charges/{charge}/approval",
        json={"approve": False, "reason": "公司不存在"},
        headers=sup,
    )
    assert rejected.status_code == 200, rejected.text
    url = f"/api/work-orders/1/charges/{charge}/reverse"
    again = client.post(url, json=why, headers={**sup, "Accept-Language": "zh-CN"})
    assert_problem(again, 409, "已驳回", "无需冲销")


def test_labour_and_charges_say_why_they_wait_and_a_rejection_says_why(
    client: TestClient,
) -> None:
    """Review 19h L2 + L7: a technician approving a charge read "Approving spot purchases";
    what waits was told for parts only (`parts_awaiting`), not for labour and charges; a
    rejection needed no reason and the booker saw "rejected" and nothing else; the en notes
    dropped the technician and the part's name."""
    tech, sup = auth_headers(client, "tech"), auth_headers(client, "supervisor")
    booked = _book(client, {"charges": [{"contractor": "某电梯公司", "amount": 6000}]}, tech)
    (charge,) = booked.json()["record"]["charges"]
    labour = {"technician": "tech", "hours": 20, "rate": 300, "rate_reason": "夜间抢修"}
    _book(client, {"labour": [labour]}, sup)
    for lang, words in (
        ("zh-CN", "超出登记人当天的费用权限"),
        ("en", "beyond its booker's authority"),
    ):
        seen = client.get("/api/work-orders/1", headers={**tech, "Accept-Language": lang}).json()
        assert words in seen["record"]["charges"][0]["waits_because"]
        assert words in seen["labour"][0]["waits_because"]
        assert seen["record"]["awaiting"] == {"labour": 6000, "parts": 0, "contractors": 6000}
        listed = client.get("/api/spot-purchases/pending", headers={**sup, "Accept-Language": lang})
        assert all(words in x["waits_because"] for x in listed.json()), listed.json()
    url = f"/api/work-orders/1/charges/{charge['id']}/approval"
    by_tech = client.post(url, json={"approve": True}, headers={**tech, "Accept-Language": "en"})
    assert_problem(by_tech, 403, "labour", "contractor charges")
    zh = {**sup, "Accept-Language": "zh-CN"}
    unsaid = client.post(url, json={"approve": False}, headers=zh)
    assert_problem(unsaid, 422, "驳回原因")
    assert unsaid.json()["errors"][0]["name"] == "reason"
    hidden = client.post(url, json={"approve": False, "reason": " \u202e "}, headers=zh)
    assert_problem(hidden, 422, "驳回原因")
    long = client.post(url, json={"approve": False, "reason": "长" * 501}, headers=zh)
    assert_problem(long, 422, "500")
    said = client.post(url, json={"approve": False, "reason": "合同内免费"}, headers=zh)
    assert said.status_code == 200, said.text
    assert said.json()["record"]["charges"][0]["decided_reason"] == "合同内免费"
    assert said.json()["record"]["charges"][0]["waits_because"] is None
    for lang, words in (("zh-CN", "原因：合同内免费"), ("en", "reason: 合同内免费")):
        seen = client.get("/api/work-orders/1", headers={**tech, "Accept-Language": lang}).json()
        assert words in seen["events"][-1]["text"], seen["events"][-1]["text"]
    en = client.get("/api/work-orders/1", headers={**tech, "Accept-Language": "en"}).json()
    texts = " | ".join(e["text"] for e in en["events"])
    assert "20 h of tech at 300.00/h" in texts, texts
    spot = {"part_no": "6205-2RS", "quantity": 2, "unit_cost": 50}
    body = {"parts": [{**spot, "bought_on_spot": True, "spot_reason": "急用"}]}
    (part,) = _book(client, body, tech).json()["parts"]
    assert part["description"] == "deep-groove ball bearing (急用)"


def test_the_order_says_what_is_left_of_the_readers_limit_today(
    client: TestClient, clock: ManualClock
) -> None:
    """Review 19h: the booking form said the limit (¥500), not how much of it was left today
    at the site; now the order gives both, for the site-local day."""
    tech, sup = auth_headers(client, "tech"), auth_headers(client, "supervisor")
    record = client.get("/api/work-orders/1", headers=tech).json()["record"]
    assert (record["limit_today"], record["limit_left"]) == (500, 500)
    _book(client, {"charges": [{"contractor": "某电梯公司", "amount": 400}]}, tech)
    record = client.get("/api/work-orders/1", headers=tech).json()["record"]
    assert record["limit_left"] == 100
    record = client.get("/api/work-orders/1", headers=sup).json()["record"]
    assert (record["limit_today"], record["limit_left"]) == (5000, 5000)
    admin = client.get("/api/work-orders/1", headers=auth_headers(client, "admin")).json()
    assert admin["record"]["limit_left"] is None
    clock.advance(timedelta(hours=8))  # 00:00 in Shanghai: a new day
    tech = auth_headers(client, "tech")  # signed in again
    assert client.get("/api/work-orders/1", headers=tech).json()["record"]["limit_left"] == 500


def test_the_technicians_list_marks_orders_holding_lines_awaiting_approval(
    client: TestClient,
) -> None:
    """Review 19i L2: 我的工单 did not say which orders hold lines awaiting approval; the
    technician learnt it from the refusal after pressing 完成维修. The list now counts them."""
    tech = auth_headers(client, "tech")
    booked = _book(client, {"charges": [{"contractor": "ACME Lifts", "amount": 3000}]}, tech)
    assert booked.json()["record"]["charges"][0]["approval"] == "pending"
    assert _book(client, {"labour": [{"hours": 1}]}, tech).status_code == 200  # counted
    mine = client.get("/api/work-orders?assigned_to=me&open=true", headers=tech).json()
    assert {o["id"]: o["awaiting_approval"] for o in mine["items"]} == {1: 1, 2: 0}
