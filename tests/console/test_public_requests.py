"""Repair requests (报修) from anyone, without an account: the QR page's API from the request
to the rating, the desk's moderation, and the abuse protection (proof of work, honeypot,
limits per address and per code, sizes), on the real databases."""

from __future__ import annotations

import hashlib
import io
import itertools
import unicodedata
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pypdf
import pytest
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from bldgwatch.console.config import ConsoleConfig, ServiceDeskSettings
from bldgwatch.console.models import AuditRow
from bldgwatch.console.proofofwork import leading_zero_bits, solves
from bldgwatch.console.routers import request_desk
from bldgwatch.core.clock import ManualClock
from bldgwatch.maintenance import publicrequests as pr
from bldgwatch.maintenance.config import AttachmentSettings
from bldgwatch.maintenance.desk import WorkDesk
from bldgwatch.maintenance.models import WorkOrderRow
from bldgwatch.maintenance.recordmodels import FollowUpRow
from tests.console.conftest import ClientFactory, auth_headers
from tests.console.seed import add, assets
from tests.console.support import assert_problem
from tests.maintenance.test_qrsheet import expected, modules

NOW = datetime(2026, 3, 20, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai


def picture(fmt: str = "PNG", size: tuple[int, int] = (4, 3), **options: Any) -> bytes:
    """A small real picture, as a phone would send it."""
    out = io.BytesIO()
    image = Image.new("RGB", size, (200, 40, 40))
    image.putpixel((0, 0), (10, 200, 10))
    image.save(out, fmt, **options)
    return out.getvalue()


def bomb(size: tuple[int, int]) -> bytes:
    """A valid PNG of that many pixels, small on the wire (one bit each, all the same)."""
    out = io.BytesIO()
    Image.new("1", size, 1).save(out, "PNG")
    return out.getvalue()


def pixels(data: bytes) -> bytes:
    with Image.open(io.BytesIO(data)) as image:
        return image.convert("RGB").tobytes()


PNG = picture()


def solve(challenge: str, difficulty: int) -> str:
    """What the page computes with WebCrypto: the first counter that solves the challenge."""
    for n in itertools.count():
        digest = hashlib.sha256(f"{challenge}:{n}".encode()).digest()
        if leading_zero_bits(digest) >= difficulty:
            return str(n)
    raise AssertionError("unreachable")


WRONG = object()
"""A solution that does not solve the form's challenge (checked, not assumed)."""


class Desk:
    """The anonymous public, the demo site's supervisor and technician, on one clock."""

    def __init__(self, make_client: ClientFactory, engine: Engine, folder: Path, **limits: Any):
        self.engine = engine
        self.clock = ManualClock(NOW)
        add(engine, *assets())
        settings = ServiceDeskSettings(pow_difficulty=8, **limits)
        cfg = ConsoleConfig(
            dev=True, attachments=AttachmentSettings(folder=folder), service_desk=settings
        )
        self.public = make_client(engine, clock=self.clock, user=None, cfg=cfg)
        self.sup = make_client(engine, clock=self.clock, user="supervisor", cfg=cfg)
        self.tech = make_client(engine, clock=self.clock, user="tech", cfg=cfg)

    def advance(self, minutes: float) -> None:
        """Move the clock; the signed-in people log in again (access tokens last 15 min)."""
        self.clock.advance(timedelta(minutes=minutes))
        self.sup.headers.update(auth_headers(self.sup, "supervisor"))
        self.tech.headers.update(auth_headers(self.tech, "tech"))

    def point(self, equipment: str | None = "P-01", label: str = "1号楼 水泵房") -> str:
        body = {"site": "demo", "kind": "equipment", "label": label, "equipment": equipment}
        return str(ok(self.sup.post("/api/service-desk/points", json=body))["code"])

    def form(self, code: str, **fields: Any) -> dict[str, Any]:
        page = ok(self.public.get(f"/api/public/points/{code}"))
        found = page["challenge"]
        form = {
            "category": "water",
            "location": page["location"],
            "description": "地下室漏水 water on the floor",
            "phone": "+86 138 0013 8000",
            "challenge": found["challenge"],
            "solution": solve(found["challenge"], found["difficulty"]),
        }
        if fields.get("solution") is WRONG:  # a fixed string solves 1 challenge in 2**difficulty
            tries = map(str, itertools.count())
            fields["solution"] = next(
                t for t in tries if not solves(found["challenge"], t, found["difficulty"])
            )
        form.update(fields)
        return {k: v for k, v in form.items() if v is not None}

    def send(self, code: str, files: Any = None, **fields: Any) -> Any:
        form = self.form(code, **fields)
        return self.public.post(f"/api/public/points/{code}/requests", data=form, files=files)

    def queue(self) -> list[dict[str, Any]]:
        """The first page of the desk's queue."""
        items: list[dict[str, Any]] = ok(self.sup.get("/api/service-desk/requests"))["items"]
        return items

    def status(self, token: str) -> dict[str, Any]:
        return ok(self.public.get(f"/api/public/requests/{token}"))


def ok(resp: Any) -> dict[str, Any]:
    assert resp.status_code in (200, 201), resp.text
    body: dict[str, Any] = resp.json()
    return body


@pytest.fixture
def desk(make_client: ClientFactory, sqlite_db: Engine, tmp_path: Path) -> Desk:
    return Desk(make_client, sqlite_db, tmp_path / "files")


def test_request_from_the_qr_page_to_the_rating(
    make_client: ClientFactory, db: Engine, tmp_path: Path
) -> None:
    d = Desk(make_client, db, tmp_path / "files")
    code = d.point()
    page = ok(d.public.get(f"/api/public/points/{code}"))
    assert (page["site_name"], page["location"]) == ("Demo Plaza", "1号楼 水泵房")
    assert page["timezone"] == "Asia/Shanghai" and "elevator" in page["categories"]
    sent = d.send(code, files={"photo": ("leak.png", PNG, "image/png")})
    assert sent.status_code == 201, sent.text
    taken = sent.json()
    assert taken["number"] == "R-000001"
    token = taken["status_token"]
    assert taken["status_path"] == f"/s/{token}" and len(token) >= 32
    assert token not in taken["number"]
    status = d.status(token)
    assert status["state"] == "received" and status["can_rate"] is False
    assert status["steps"][0]["at_local"] == "2026-03-20 10:00 GMT+08:00"

    d.advance(25)
    queue = d.queue()
    assert [(q["number"], q["age_min"], q["has_photo"]) for q in queue] == [("R-000001", 25, True)]
    photo = d.sup.get(f"/api/service-desk/requests/{queue[0]['id']}/photo")
    assert pixels(photo.content) == pixels(PNG) and photo.headers["content-type"] == "image/png"
    rate = d.public.post(f"/api/public/requests/{token}/rating", json={"rating": 5})
    assert_problem(rate, 409, "cannot be rated")

    decided = ok(
        d.sup.post(
            f"/api/service-desk/requests/{queue[0]['id']}/accept", json={"urgency": "emergency"}
        )
    )
    oid = decided["work_order_id"]
    assert decided["status"] == "accepted" and oid is not None
    with Session(db) as session:
        order = session.get(WorkOrderRow, oid)
        assert order is not None
        assert (order.kind, order.priority, order.equipment) == ("request", 1, "P-01")
        assert "地下室漏水" in order.description and "+86 138 0013 8000" in order.description
    assert d.queue() == []
    assert d.status(token)["state"] == "accepted"
    files = ok(d.tech.get(f"/api/work-orders/{oid}"))["record"]["attachments"]
    assert [(f["filename"], f["content_type"]) for f in files] == [("R-000001.png", "image/png")]
    got = d.tech.get(f"/api/work-orders/{oid}/attachments/{files[0]['id']}")
    assert got.content == photo.content  # the technician sees the requester's photo
    early = d.public.post(f"/api/public/requests/{token}/rating", json={"rating": 4})
    assert_problem(early, 409, "cannot be rated")  # not done: the claimed rating is given back

    ok(d.sup.post(f"/api/work-orders/{oid}/assign", json={"technician": "tech"}))
    ok(d.tech.post(f"/api/work-orders/{oid}/transition", json={"to": "in_progress"}))
    assert d.status(token)["state"] == "in_progress"
    d.advance(60)
    ok(d.tech.post(f"/api/work-orders/{oid}/resolve", json={"summary": "valve replaced"}))
    status = d.status(token)
    assert status["state"] == "done" and status["can_rate"] is True
    assert status["steps"][-1]["at_local"] == "2026-03-20 11:25 GMT+08:00"

    rated = ok(
        d.public.post(f"/api/public/requests/{token}/rating", json={"rating": 5, "comment": "快"})
    )
    assert (rated["rating"], rated["can_rate"]) == (5, False)
    with Session(db) as session:
        follow = session.scalars(select(FollowUpRow).where(FollowUpRow.work_order_id == oid)).one()
        assert (follow.outcome, follow.satisfaction, follow.note) == ("satisfied", 5, "快")
        assert session.get(WorkOrderRow, oid).status == "verified"  # type: ignore[union-attr]
    figures = ok(d.sup.get("/api/kpis/maintenance", params={"site": "demo", "month": "2026-03"}))
    assert (figures["figures"]["follow_up_rate"], figures["figures"]["satisfaction_score"]) == (
        1.0,
        5.0,
    )  # the existing 回访 KPIs count the requester's rating
    again = d.public.post(f"/api/public/requests/{token}/rating", json={"rating": 1})
    assert_problem(again, 409, "cannot be rated")
    with Session(db) as session:
        assert len(session.scalars(select(FollowUpRow)).all()) == 1


def test_a_low_rating_sends_the_repair_back_to_work(desk: Desk) -> None:
    code = desk.point()
    token = ok(desk.send(code))["status_token"]
    rid = desk.queue()[0]["id"]
    url = f"/api/service-desk/requests/{rid}/accept"
    oid = ok(desk.sup.post(url, json={"urgency": "minor"}))["work_order_id"]
    ok(desk.sup.post(f"/api/work-orders/{oid}/assign", json={"technician": "tech"}))
    ok(desk.tech.post(f"/api/work-orders/{oid}/transition", json={"to": "in_progress"}))
    ok(desk.tech.post(f"/api/work-orders/{oid}/resolve", json={"summary": "done"}))
    ok(desk.public.post(f"/api/public/requests/{token}/rating", json={"rating": 2}))
    order = ok(desk.sup.get(f"/api/work-orders/{oid}"))
    assert (order["status"], order["priority"]) == ("assigned", 3)
    assert desk.status(token)["state"] == "in_progress"


def test_decline_and_spam_show_on_the_status_page(desk: Desk) -> None:
    code = desk.point()
    first = ok(desk.send(code))["status_token"]
    second = ok(desk.send(code))["status_token"]
    queue = desk.queue()
    assert [q["number"] for q in queue] == ["R-000001", "R-000002"]  # oldest first
    url = f"/api/service-desk/requests/{queue[0]['id']}"
    assert_problem(desk.sup.post(f"{url}/decline", json={"reason": " "}), 422)
    ok(desk.sup.post(f"{url}/decline", json={"reason": "属于业主自家管道，请联系物业前台"}))
    status = desk.status(first)
    assert status["state"] == "declined" and status["reason"] == "属于业主自家管道，请联系物业前台"
    assert_problem(desk.sup.post(f"{url}/accept", json={"urgency": "minor"}), 409, "decided")
    ok(desk.sup.post(f"/api/service-desk/requests/{queue[1]['id']}/spam"))
    assert desk.status(second)["state"] == "declined"
    with Session(desk.engine) as session:
        assert session.scalars(select(WorkOrderRow)).all() == []  # nothing dispatched


def test_accept_without_equipment_needs_one_named(desk: Desk) -> None:
    code = desk.point(equipment=None, label="2号楼 3层走廊")
    ok(desk.send(code))
    rid = desk.queue()[0]["id"]
    url = f"/api/service-desk/requests/{rid}/accept"
    assert_problem(desk.sup.post(url, json={"urgency": "minor"}), 422, "choose the equipment")
    wrong = desk.sup.post(url, json={"urgency": "minor", "equipment": "NOPE"})
    assert_problem(wrong, 422, "NOPE")
    taken = ok(desk.sup.post(url, json={"urgency": "minor", "equipment": "SP-01"}))
    assert taken["status"] == "accepted"


def test_a_retired_point_refuses(desk: Desk) -> None:
    code = desk.point()
    form = desk.form(code)
    point_id = ok(desk.sup.get("/api/service-desk/points"))[0]["id"]
    retired = ok(desk.sup.post(f"/api/service-desk/points/{point_id}/retire"))
    assert retired["retired_at"] is not None
    assert_problem(desk.public.get(f"/api/public/points/{code}"), 410, "no longer in use")
    sent = desk.public.post(f"/api/public/points/{code}/requests", data=form)
    assert_problem(sent, 410, "no longer in use")
    zh = desk.public.get(f"/api/public/points/{code}", headers={"Accept-Language": "zh-CN"})
    assert_problem(zh, 410, "此二维码已停止使用")
    assert_problem(desk.public.get("/api/public/points/unknown-code"), 404, "not known")


def test_desk_routes_by_role_and_site(desk: Desk, make_client: ClientFactory) -> None:
    code = desk.point()
    ok(desk.send(code))
    rid = desk.queue()[0]["id"]
    pid = ok(desk.sup.get("/api/service-desk/points"))[0]["id"]
    for path in ("/api/service-desk/requests", "/api/service-desk/points"):
        assert_problem(desk.public.get(path), 401)
        assert_problem(desk.tech.get(path), 403, "needs one of the roles")
    outsider = make_client(desk.engine, clock=desk.clock, user="outsider")
    assert ok(outsider.get("/api/service-desk/requests"))["items"] == []
    assert ok(outsider.get("/api/service-desk/points")) == []
    accept = outsider.post(f"/api/service-desk/requests/{rid}/accept", json={"urgency": "minor"})
    assert_problem(accept, 404)
    assert_problem(outsider.post(f"/api/service-desk/points/{pid}/retire"), 404)
    body = {"site": "demo", "kind": "floor", "label": "x"}
    assert_problem(outsider.post("/api/service-desk/points", json=body), 404)
    assert_problem(outsider.get(f"/api/service-desk/requests/{rid}/photo"), 404)
    assert desk.queue()[0]["id"] == rid  # still waiting


def test_the_public_routes_ignore_and_need_no_session(desk: Desk) -> None:
    code = desk.point()
    sent = desk.sup.post(f"/api/public/points/{code}/requests", data=desk.form(code))
    token = ok(sent)["status_token"]
    status = desk.public.get(f"/api/public/requests/{token}", headers={"Authorization": "Bearer x"})
    assert status.status_code == 200  # a bad token is not even read
    assert_problem(desk.public.get("/api/public/requests/" + "A" * 32), 404, "status link")


@pytest.mark.parametrize(
    ("fields", "status", "needle"),
    [
        ({"description": "x" * 2001}, 422, "at most 2,000"),
        ({"description": "   "}, 422, "describe the problem"),
        ({"location": "x" * 201}, 422, "at most 200"),
        ({"phone": "call me maybe"}, 422, "phone number is not valid"),
        ({"category": "plumbing"}, 422, "category"),
        ({"challenge": None, "solution": None}, 400, "proof of work is missing"),
        ({"solution": WRONG}, 400, "does not solve"),
        ({"website": "http://spam.example"}, 400, "'website' must stay empty"),
    ],
)
def test_bad_input_is_refused_naming_it(
    desk: Desk, fields: dict[str, Any], status: int, needle: str
) -> None:
    code = desk.point()
    assert_problem(desk.send(code, **fields), status, needle)
    assert desk.queue() == []


def test_photos_are_limited_by_size_and_sniffed_type(
    make_client: ClientFactory, sqlite_db: Engine, tmp_path: Path
) -> None:
    d = Desk(make_client, sqlite_db, tmp_path / "files", max_photo_bytes=1000)
    code = d.point()
    big = d.send(code, files={"photo": ("a.png", PNG + b"\0" * 1000, "image/png")})
    assert_problem(big, 413, "larger than 1,000 bytes")
    pdf = d.send(code, files={"photo": ("a.png", b"%PDF-1.4 not a photo" * 4, "image/png")})
    assert_problem(pdf, 422, "the photo must be a picture")
    huge = d.send(code, files={"photo": ("a.png", PNG + b"\0" * 200_000, "image/png")})
    assert huge.status_code == 413  # over the body limit before any route runs
    assert not list((tmp_path / "files").glob("*"))  # nothing kept
    assert d.queue() == []


def test_proof_of_work_reused_expired_or_forged(desk: Desk) -> None:
    code = desk.point()
    url = f"/api/public/points/{code}/requests"
    form = desk.form(code)
    ok(desk.public.post(url, data=form))
    assert_problem(desk.public.post(url, data=form), 400, "already used")
    stale = desk.form(code)
    desk.clock.advance(timedelta(seconds=601))
    assert_problem(desk.public.post(url, data=stale), 400, "expired")
    forged = desk.form(code)
    parts = forged["challenge"].split(".")
    parts[2] = "0"  # difficulty 0: any answer would do, if the MAC did not bind it
    forged["challenge"] = ".".join(parts)
    assert_problem(desk.public.post(url, data=forged), 400, "not issued by this server")
    fresh = desk.form(code)
    ok(desk.public.post(url, data=fresh))
    zh = desk.public.post(url, data=fresh, headers={"Accept-Language": "zh-CN"})
    assert_problem(zh, 400, "此工作量证明已使用过")


def test_limit_per_address_with_retry_after(
    make_client: ClientFactory, sqlite_db: Engine, tmp_path: Path
) -> None:
    d = Desk(make_client, sqlite_db, tmp_path / "files", address_requests=2, window_s=600)
    code = d.point()
    ok(d.send(code))
    d.clock.advance(60)
    ok(d.send(code))
    refused = d.send(code)
    assert_problem(refused, 429, "too many requests from your network")
    assert refused.headers["retry-after"] == "540"
    d.clock.advance(541)
    ok(d.send(code))


def test_limit_per_code_counts_only_requests_with_the_work_done(
    make_client: ClientFactory, sqlite_db: Engine, tmp_path: Path
) -> None:
    d = Desk(
        make_client,
        sqlite_db,
        tmp_path / "files",
        code_requests=2,
        address_requests=99,
        window_s=600,
    )
    code, other = d.point(), d.point(label="2号楼大堂")
    for _ in range(3):  # no proof of work: refused, and not counted against the code
        assert_problem(d.send(code, solution=WRONG), 400)
    ok(d.send(code))
    ok(d.send(code))
    refused = d.send(code)
    assert_problem(refused, 429, "too many requests from this QR code")
    assert int(refused.headers["retry-after"]) == 600
    ok(d.send(other))  # another code is not blocked
    d.clock.advance(601)
    ok(d.send(code))


def test_rating_is_checked(desk: Desk) -> None:
    code = desk.point()
    token = ok(desk.send(code))["status_token"]
    bad = desk.public.post(f"/api/public/requests/{token}/rating", json={"rating": 9})
    assert_problem(bad, 422, "rating")
    assert_problem(
        desk.public.post("/api/public/requests/nope/rating", json={"rating": 3}), 404, "status link"
    )


def test_the_qr_sheet_holds_the_points_in_use(desk: Desk) -> None:
    desk.point(label="1号楼 水泵房")
    desk.point(label="2号楼 大堂")
    gone = ok(desk.sup.get("/api/service-desk/points"))[0]["id"]
    ok(desk.sup.post(f"/api/service-desk/points/{gone}/retire"))
    pdf = desk.sup.get("/api/service-desk/points/sheet", params={"site": "demo", "lang": "zh-CN"})
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    reader = pypdf.PdfReader(io.BytesIO(pdf.content))
    text = unicodedata.normalize("NFKC", reader.pages[0].extract_text())
    assert "报修二维码 · Demo Plaza" in text
    assert "2号楼 大堂" in text and "1号楼 水泵房" not in text  # retired: not printed
    assert len(reader.pages[0].images) == 1
    assert_problem(desk.tech.get("/api/service-desk/points/sheet?site=demo"), 403)
    assert_problem(desk.sup.get("/api/service-desk/points/sheet?site=north"), 404)


def test_a_large_site_prints_its_sheet_in_parts_in_floor_order(
    desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Thousands of points would pass the print timeout: the sheet comes in parts of
    SHEET_POINTS (2 here), labels in the order of their numbers (review 18a L5)."""
    monkeypatch.setattr(request_desk, "SHEET_POINTS", 2)
    for label in ("10层 电梯厅", "2层 电梯厅", "1层 大堂", "B1 库房", "3层 电梯厅"):
        desk.point(label=label)
    url = "/api/service-desk/points/sheet?site=demo&lang=zh-CN"
    texts = []
    for part in (1, 2, 3):
        pdf = desk.sup.get(f"{url}&part={part}")
        assert pdf.headers["x-sheet-parts"] == "3"
        named = f'filename="request-points-demo-{part}-of-3.pdf"'
        assert named in pdf.headers["content-disposition"]
        page = pypdf.PdfReader(io.BytesIO(pdf.content)).pages[0]
        texts.append(unicodedata.normalize("NFKC", page.extract_text()))
    assert "1层 大堂" in texts[0] and "2层 电梯厅" in texts[0]
    assert "3层 电梯厅" in texts[1] and "10层 电梯厅" in texts[1]
    assert "B1 库房" in texts[2] and "10层" not in texts[2]
    assert_problem(desk.sup.get(f"{url}&part=4"), 404, "no part 4")
    assert_problem(desk.sup.get(f"{url}&part=0"), 422, "part")


def test_the_sheet_points_at_the_configured_public_url(
    make_client: ClientFactory, sqlite_db: Engine, tmp_path: Path
) -> None:
    """The desk works on an office address; owners' phones reach the console at the public
    one (`service_desk.public_url`): the printed codes carry that, not the desk's."""
    desk = Desk(make_client, sqlite_db, tmp_path, public_url="https://repair.example.com/")
    code = desk.point(label="1号楼 水泵房")
    pdf = desk.sup.get("/api/service-desk/points/sheet", params={"site": "demo", "lang": "en"})
    image = pypdf.PdfReader(io.BytesIO(pdf.content)).pages[0].images[0].image
    assert modules(image) == expected(f"https://repair.example.com/r/{code}")
    with pytest.raises(ValueError, match="public_url must be an http"):
        ServiceDeskSettings(public_url="repair.example.com")


def from_address(desk: Desk, host: str) -> TestClient:
    """An anonymous client at `host` (the address the console sees)."""
    return TestClient(desk.public.app, client=(host, 50000), headers={"Accept-Language": "en"})


def solved(client: TestClient, code: str, **fields: Any) -> dict[str, Any]:
    """A form as `client` fills it, with the challenge handed to it for `code`."""
    found = ok(client.get(f"/api/public/points/{code}"))["challenge"]
    form = {"category": "water", "description": "漏水", "challenge": found["challenge"]}
    form["solution"] = solve(found["challenge"], found["difficulty"])
    return {**form, **fields}


def named(resp: Any, status: int, field: str, *needles: str) -> dict[str, Any]:
    """A problem of `status` naming `field`."""
    body = assert_problem(resp, status, *needles)
    assert [e["name"] for e in body["errors"]] == [field], body
    return body


def test_refused_requests_do_not_fill_the_codes_limit(
    make_client: ClientFactory, sqlite_db: Engine, tmp_path: Path
) -> None:
    """30 requests that did the work but were refused (a bad phone, a photo that is not one)
    leave the code's 30 an hour for the real ones (review 18a H1)."""
    d = Desk(make_client, sqlite_db, tmp_path / "files", address_requests=100)
    code = d.point()
    for _ in range(30):
        named(d.send(code, phone="x"), 422, "phone")
    ok(d.send(code))  # the 31st try, the first stored
    bad = {"photo": ("a.jpg", b"\xff\xd8\xff\xe0<html><script>", "image/jpeg")}
    for _ in range(30):
        named(d.send(code, files=bad), 422, "photo")
    ok(d.send(code))
    assert ok(d.sup.get("/api/service-desk/requests"))["total"] == 2


def test_a_challenge_works_only_for_its_code_and_network(desk: Desk) -> None:
    """A challenge is bound to the point and the client's address group (review 18a H2)."""
    code, other = desk.point(), desk.point(label="2号楼大堂")
    home = from_address(desk, "2001:db8:1:2::10")
    form = solved(home, code)
    refused = from_address(desk, "2001:db8:7:7::10").post(
        f"/api/public/points/{code}/requests", data=form
    )
    named(refused, 400, "challenge", "not issued by this server")
    named(home.post(f"/api/public/points/{other}/requests", data=form), 400, "challenge")
    neighbour = from_address(desk, "2001:db8:1:2::99")  # the same /64: the same subscriber
    ok(neighbour.post(f"/api/public/points/{code}/requests", data=form))


def test_ipv6_clients_share_the_limit_of_their_64(
    make_client: ClientFactory, sqlite_db: Engine, tmp_path: Path
) -> None:
    d = Desk(make_client, sqlite_db, tmp_path / "files", address_requests=2)
    code = d.point()
    url = f"/api/public/points/{code}/requests"
    for host in ("2001:db8:1:2::1", "2001:db8:1:2:abcd::2"):
        client = from_address(d, host)
        ok(client.post(url, data=solved(client, code)))
    third = from_address(d, "2001:db8:1:2::3")
    assert_problem(third.post(url, data=solved(third, code)), 429, "your network")
    elsewhere = from_address(d, "2001:db8:1:3::1")  # another /64
    ok(elsewhere.post(url, data=solved(elsewhere, code)))


def test_any_challenge_or_solution_is_a_problem_naming_it(
    make_client: ClientFactory, sqlite_db: Engine, tmp_path: Path
) -> None:
    """Never a 500: a malformed challenge or solution (non-ASCII, wrong shape, too long) is
    a 4xx problem naming the field (review 18a H3)."""
    d = Desk(make_client, sqlite_db, tmp_path / "files", address_requests=10000)
    code = d.point()
    client = TestClient(d.public.app, raise_server_exceptions=False)
    real = d.form(code)["challenge"]

    # NUL: the whole body is refused (400); surrogates cannot be sent as UTF-8 at all
    text = st.characters(exclude_characters="\x00", exclude_categories=["Cs"])
    bad = {"max_examples": 150, "deadline": None}

    @settings(**bad)
    @given(st.text(text, min_size=1, max_size=250), st.text(text, min_size=1, max_size=50))
    def refused(challenge: str, solution: str) -> None:
        for sent in (challenge, real[:-3] + challenge):
            form = {"category": "water", "description": "x", "challenge": sent}
            resp = client.post(
                f"/api/public/points/{code}/requests", data={**form, "solution": solution}
            )
            body = assert_problem(resp, resp.status_code)
            assert resp.status_code in (400, 422), body
            assert body["errors"], body
            assert {e["name"] for e in body["errors"]} <= {"challenge", "solution"}, body

    refused()


def accepted(desk: Desk, code: str, **fields: Any) -> tuple[str, int]:
    """A request sent and accepted: its status token and work order."""
    token = ok(desk.send(code, **fields))["status_token"]
    rid = ok(desk.sup.get("/api/service-desk/requests"))["items"][0]["id"]
    url = f"/api/service-desk/requests/{rid}/accept"
    return token, ok(desk.sup.post(url, json={"urgency": "minor"}))["work_order_id"]


def test_a_cancelled_order_shows_no_internal_note(desk: Desk) -> None:
    """The order's cancellation note is the staff's own: the requester reads a fixed text
    (review 18a M1)."""
    token, oid = accepted(desk, desk.point())
    note = "INTERNAL: 技术员张三 13900001111 说业主乱报"
    ok(desk.sup.post(f"/api/work-orders/{oid}/cancel", json={"reason": note}))
    status = desk.public.get(f"/api/public/requests/{token}")
    assert "13900001111" not in status.text and "INTERNAL" not in status.text
    assert (status.json()["state"], status.json()["reason"]) == (
        "cancelled",
        "cancelled by the service desk",
    )
    zh = desk.public.get(f"/api/public/requests/{token}", headers={"Accept-Language": "zh-CN"})
    assert zh.json()["reason"] == "已被客服中心取消"


def gps_jpeg() -> bytes:
    """A phone's photo: EXIF with a GPS position and an orientation, then HTML after its end."""
    exif = Image.Exif()
    exif[0x0112] = 6  # rotated: the pixels are turned upright, the tag is dropped
    exif[0x8825] = {1: "N", 2: (31.0, 14.0, 5.0), 3: "E", 4: (121.0, 28.0, 9.0)}
    return picture("JPEG", (8, 4), exif=exif.tobytes()) + b"<html><script>alert(1)</script>"


def test_photos_are_reencoded_without_metadata(desk: Desk) -> None:
    """Only the pixels are kept: no EXIF/GPS, nothing after the image; served as what it is,
    never sniffed nor cached (review 18a M2)."""
    sent = gps_jpeg()
    with Image.open(io.BytesIO(sent)) as original:
        assert original.getexif().get_ifd(0x8825)  # the test photo does carry a position
    code = desk.point()
    ok(desk.send(code, files={"photo": ("IMG_0001.HEIC", sent, "image/jpeg")}))
    rid = ok(desk.sup.get("/api/service-desk/requests"))["items"][0]["id"]
    photo = desk.sup.get(f"/api/service-desk/requests/{rid}/photo")
    assert photo.status_code == 200
    assert photo.headers["content-type"] == "image/jpeg"
    assert photo.headers["x-content-type-options"] == "nosniff"
    assert photo.headers["cache-control"] == "private, no-store"
    assert 'filename="R-000001.jpg"' in photo.headers["content-disposition"]
    assert b"Exif" not in photo.content and b"<script>" not in photo.content
    with Image.open(io.BytesIO(photo.content)) as kept:
        assert kept.size == (4, 8)  # turned upright by the orientation it had
        assert not kept.getexif()


@pytest.mark.parametrize(
    ("data", "status", "needle"),
    [
        (b"\xff\xd8\xff\xe0" + b"<html><script>alert(1)</script></html>", 422, "a picture"),
        (b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 64, 422, "as JPEG"),
        ((8000, 7000), 413, "more than 50,000,000 pixels"),
        ((20000, 10000), 413, "more than 50,000,000 pixels"),  # Pillow's own
    ],
    ids=["polyglot", "heic", "bomb", "bomb-200mp"],
)
def test_what_is_not_a_photo_is_refused(
    desk: Desk, tmp_path: Path, data: bytes | tuple[int, int], status: int, needle: str
) -> None:
    if isinstance(data, tuple):  # a bomb: drawn here, not at collection in every worker
        data = bomb(data)
    sent = desk.send(desk.point(), files={"photo": ("p.jpg", data, "image/jpeg")})
    named(sent, status, "photo", needle)
    assert not list((tmp_path / "files").glob("*"))  # nothing kept


@pytest.mark.parametrize(
    ("fields", "field", "needle"),
    [
        ({"description": "\u200b\u200b \u2060"}, "description", "describe the problem"),
        ({"location": "\u200b\u200b"}, "location", "must not be blank"),
        ({"location": "3层\u202e103室"}, "location", "U+202E"),
        ({"location": "3层\u200b103室"}, "location", "U+200B"),
    ],
)
def test_invisible_text_is_refused(
    desk: Desk, fields: dict[str, str], field: str, needle: str
) -> None:
    """Nothing but invisible characters is blank; bidi and zero-width characters are refused
    in the one-line location (review 18a L3)."""
    named(desk.send(desk.point(), **fields), 422, field, needle)


def test_a_failed_follow_up_gives_the_rating_back(
    desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No rating without its 回访, whatever made the follow-up fail (review 18a L7)."""
    token, oid = accepted(desk, desk.point())
    ok(desk.sup.post(f"/api/work-orders/{oid}/assign", json={"technician": "tech"}))
    ok(desk.tech.post(f"/api/work-orders/{oid}/transition", json={"to": "in_progress"}))
    ok(desk.tech.post(f"/api/work-orders/{oid}/resolve", json={"summary": "done"}))

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise OSError("database went away")

    monkeypatch.setattr(WorkDesk, "follow_up", broken)
    with pytest.raises(OSError, match="went away"):
        desk.public.post(f"/api/public/requests/{token}/rating", json={"rating": 5})
    status = desk.status(token)
    assert (status["rating"], status["can_rate"]) == (None, True)
    monkeypatch.undo()
    assert (
        ok(desk.public.post(f"/api/public/requests/{token}/rating", json={"rating": 4}))["rating"]
        == 4
    )


def _flood(desk: Desk, code: str, count: int) -> None:
    """`count` waiting requests from `code`, a second apart (stored as the route stores them:
    the flood itself is the abuse tests' business)."""
    with Session(desk.engine) as session:
        point = pr.point_by_code(session, code)
        assert point is not None
        for i in range(count):
            sent = pr.Submission("other", "", f"flood {i}", "zh-CN")
            pr.submit(session, point, sent, at=NOW - timedelta(hours=1) + timedelta(seconds=i))
        session.commit()


def test_the_queue_pages_oldest_first_and_counts_the_waiting(desk: Desk) -> None:
    code = desk.point()
    _flood(desk, code, 600)
    genuine = ok(desk.send(code))  # the newest, after the flood
    first = ok(desk.sup.get("/api/service-desk/requests", params={"limit": 100}))
    assert (first["total"], first["limit"], first["offset"], len(first["items"])) == (
        601,
        100,
        0,
        100,
    )
    assert first["items"][0]["description"] == "flood 0"  # oldest first
    last = ok(desk.sup.get("/api/service-desk/requests", params={"limit": 100, "offset": 600}))
    assert [q["number"] for q in last["items"]] == [genuine["number"]]  # the newest is reachable
    assert last["total"] == 601
    too_many = desk.sup.get("/api/service-desk/requests", params={"limit": 501})
    assert_problem(too_many, 422, "limit")


def test_many_are_marked_as_spam_at_once(desk: Desk, make_client: ClientFactory) -> None:
    code = desk.point()
    _flood(desk, code, 3)
    token = ok(desk.send(code))["status_token"]
    waiting = desk.queue()
    ids = [q["id"] for q in waiting]
    ok(desk.sup.post(f"/api/service-desk/requests/{ids[0]}/accept", json={"urgency": "minor"}))
    outsider = make_client(desk.engine, clock=desk.clock, user="outsider")
    url = "/api/service-desk/requests/spam"
    assert_problem(outsider.post(url, json={"ids": ids[1:]}), 404, str(ids[1]))
    assert_problem(desk.tech.post(url, json={"ids": ids[1:]}), 403, "needs one of the roles")
    assert_problem(desk.sup.post(url, json={"ids": []}), 422, "ids")
    assert_problem(desk.sup.post(url, json={"ids": [ids[1], 999]}), 404, "999")
    assert [q["id"] for q in desk.queue()] == ids[1:]  # a refused call marks nothing
    done = ok(desk.sup.post(url, json={"ids": ids}))
    assert done["marked"] == 3
    assert (
        [(r["id"], r["status"]) for r in done["requests"]]
        == [
            (ids[0], "accepted"),  # decided before: left as it was
            *((i, "spam") for i in ids[1:]),
        ]
    )
    assert desk.queue() == []
    assert desk.status(token)["state"] == "declined"
    with Session(desk.engine) as session:
        rows = session.scalars(
            select(AuditRow).where(AuditRow.action == "public_request.decision")
        ).all()
        spam = [(r.target, r.actor, r.site, r.detail) for r in rows if r.result == "ok"][1:]
        refused = [(r.target, r.status) for r in rows if r.result != "ok"]
    assert spam == [
        (f"public_request:{i}", "supervisor", "demo", {"decision": "spam", "bulk": True})
        for i in ids[1:]
    ]
    assert ("public_request:several", 404) in refused and ("public_request:several", 403) in refused


def test_the_photo_of_a_declined_or_spam_request_is_removed(
    make_client: ClientFactory, sqlite_db: Engine, tmp_path: Path
) -> None:
    """A request never dispatched keeps no photo: not in its row, not in the folder (review
    18a M5); an accepted one keeps it for the order."""
    folder = tmp_path / "files"
    d = Desk(make_client, sqlite_db, folder)
    code = d.point()
    for _ in range(3):
        ok(d.send(code, files={"photo": ("leak.png", PNG, "image/png")}))
    queue = ok(d.sup.get("/api/service-desk/requests"))["items"]
    ids = sorted(q["id"] for q in queue)

    def files() -> int:
        return sum(1 for f in folder.rglob("*") if f.is_file())

    assert files() == 3
    ok(d.sup.post(f"/api/service-desk/requests/{ids[0]}/decline", json={"reason": "非本小区"}))
    ok(d.sup.post(f"/api/service-desk/requests/{ids[1]}/spam"))
    ok(d.sup.post(f"/api/service-desk/requests/{ids[2]}/accept", json={"urgency": "minor"}))
    assert files() == 1
    for gone in ids[:2]:
        assert_problem(d.sup.get(f"/api/service-desk/requests/{gone}/photo"), 404)
    assert d.sup.get(f"/api/service-desk/requests/{ids[2]}/photo").status_code == 200


def test_the_desk_page_cuts_the_sheet_in_the_servers_parts() -> None:
    """The page offers a button per part; it counts parts as the server cuts them."""
    page = Path(__file__).parents[2] / "console/web/src/views/ServiceDeskView.vue"
    assert f"const SHEET_POINTS = {request_desk.SHEET_POINTS};" in page.read_text("utf-8")
