"""What the desk gives a caller and takes from one (review 18d M5, L7): the status link on
the address the caller's phone reaches, and a description as long as the QR page takes."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from bldgwatch.console.config import ConsoleConfig, ServiceDeskSettings
from bldgwatch.maintenance.config import AttachmentSettings
from tests.console.conftest import ClientFactory
from tests.console.support import assert_problem
from tests.console.test_desk_queue import PHONE_CALL
from tests.console.test_public_requests import Desk, ok


def supervisor(
    make_client: ClientFactory, desk: Desk, folder: Path, **settings: object
) -> TestClient:
    """The supervisor on a console configured with other service-desk settings."""
    cfg = ConsoleConfig(
        dev=True,
        attachments=AttachmentSettings(folder=folder),
        service_desk=ServiceDeskSettings(pow_difficulty=8, **settings),  # type: ignore[arg-type]
    )
    return make_client(desk.engine, clock=desk.clock, user="supervisor", cfg=cfg)


def test_the_callers_link_is_on_the_public_address_when_configured(
    make_client: ClientFactory, sqlite_db: Engine, tmp_path: Path
) -> None:
    desk = Desk(make_client, sqlite_db, tmp_path / "f", public_url="https://repair.example.com")
    taken = ok(desk.sup.post("/api/service-desk/requests", json=PHONE_CALL))
    assert taken["status_url"] == f"https://repair.example.com/s/{taken['status_token']}"
    plain = supervisor(make_client, desk, tmp_path / "g")
    own = ok(plain.post("/api/service-desk/requests", json=PHONE_CALL))
    assert own["status_url"] == f"http://testserver/s/{own['status_token']}"


def test_the_desks_description_limit_is_the_service_desks_setting(
    make_client: ClientFactory, sqlite_db: Engine, tmp_path: Path
) -> None:
    desk = Desk(make_client, sqlite_db, tmp_path / "f", max_description_chars=3000)
    limits = ok(desk.sup.get("/api/service-desk/limits"))
    assert limits == {
        "max_description_chars": 3000,
        "max_location_chars": 200,
        "max_caller_chars": 100,
    }
    ok(desk.sup.post("/api/service-desk/requests", json={**PHONE_CALL, "description": "漏" * 3000}))
    too_long = {**PHONE_CALL, "description": "漏" * 3001}
    body = assert_problem(desk.sup.post("/api/service-desk/requests", json=too_long), 422)
    assert body["errors"][0]["name"] == "description", body
    small = supervisor(make_client, desk, tmp_path / "g", max_description_chars=50)
    resp = small.post("/api/service-desk/requests", json={**PHONE_CALL, "description": "x" * 51})
    assert_problem(resp, 422, "51")
    assert_problem(desk.tech.get("/api/service-desk/limits"), 403)
