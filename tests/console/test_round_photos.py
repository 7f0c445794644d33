"""The photo item of an inspection round: the phone uploads the photo under its own id
(twice: stored once), the photo entry names it; who may not do the run is refused, another
site's run is 404, a photo too large is 413, what is not a photo 422, another run's photo
refused; the photo is served without its EXIF to whoever may see the run."""

from __future__ import annotations

import io
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from bldgwatch.console.config import ConsoleConfig
from bldgwatch.core.clock import ManualClock
from bldgwatch.maintenance.config import AttachmentSettings
from bldgwatch.maintenance.requestmodels import RequestPointRow
from bldgwatch.maintenance.roundmodels import RoundPhotoRow, RoundRunRow
from tests.console.conftest import ClientFactory, auth_headers
from tests.console.seed import T0, add, assets
from tests.console.support import assert_problem

NOW = datetime(2026, 3, 2, 0, 10, tzinfo=UTC)  # 08:10 at the site (Asia/Shanghai)
CODE = "p01-label-code"
MAX_BYTES = 20_000
TEMPLATE: dict[str, Any] = {
    "site": "demo",
    "name": "泵房巡检",
    "equipment_type": "pump",
    "items": [
        {"key": "door", "kind": "check", "label": "门已锁"},
        {"key": "pic", "kind": "photo", "label": "泵房照片"},
    ],
}


def jpeg_with_exif() -> bytes:
    """A small real JPEG carrying EXIF (a phone's GPS position would be there)."""
    image = Image.new("RGB", (16, 12), (200, 40, 40))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif.tobytes())
    return out.getvalue()


@pytest.fixture
def client(sqlite_db: Engine, make_client: ClientFactory, tmp_path: Path) -> TestClient:
    add(sqlite_db, *assets())
    point = RequestPointRow(
        site="demo",
        code=CODE,
        kind="equipment",
        label="P-01",
        equipment="P-01",
        created_at=T0,
        created_by="seed",
    )
    add(sqlite_db, point)
    folder = tmp_path / "photos"
    cfg = ConsoleConfig(
        dev=True, attachments=AttachmentSettings(folder=folder, max_bytes=MAX_BYTES)
    )
    clock = ManualClock(NOW)
    return make_client(sqlite_db, None, clock, user="supervisor", cfg=cfg)


def _start_run(client: TestClient) -> int:
    template = client.post("/api/checklist-templates", json=TEMPLATE)
    assert template.status_code == 201, template.text
    body = {
        "site": "demo",
        "name": "泵房早班",
        "times": ["08:00"],
        "stops": [{"equipment": "P-01", "template_id": template.json()["id"]}],
    }
    rnd = client.post("/api/rounds", json=body)
    assert rnd.status_code == 201, rnd.text
    run = client.post(f"/api/rounds/{rnd.json()['id']}/runs", headers=auth_headers(client, "tech"))
    assert run.status_code == 200, run.text
    return int(run.json()["id"])


def _entry(item: str, value: Any) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "stop": 0,
        "item": item,
        "value": value,
        "code": CODE,
        "recorded_at": (NOW - timedelta(minutes=1)).isoformat(),
    }


def _put(client: TestClient, run: int, photo: str, data: bytes, who: str) -> Any:
    files = {"file": ("IMG_0001.jpg", data, "image/jpeg")}
    url = f"/api/round-runs/{run}/photos/{photo}"
    return client.put(url, files=files, headers=auth_headers(client, who))


def test_a_photo_is_stored_once_and_named_by_its_entry(
    client: TestClient, sqlite_db: Engine, tmp_path: Path
) -> None:
    run = _start_run(client)
    photo, sent = str(uuid.uuid4()), jpeg_with_exif()
    first = _put(client, run, photo, sent, "tech")
    assert first.status_code == 200, first.text
    again = _put(client, run, photo, sent, "tech")  # the phone's retry after a lost answer
    assert again.json() == first.json()
    assert (first.json()["id"], first.json()["run_id"], first.json()["by"]) == (photo, run, "tech")
    with Session(sqlite_db) as s:
        assert s.scalar(select(func.count()).select_from(RoundPhotoRow)) == 1
    assert len(list((tmp_path / "photos").iterdir())) == 1
    shown = client.get(
        f"/api/round-runs/{run}/photos/{photo}", headers=auth_headers(client, "viewer")
    )
    assert shown.status_code == 200
    assert shown.headers["content-type"] == "image/jpeg"
    assert b"PhoneMaker" not in shown.content and b"Exif" not in shown.content
    assert Image.open(io.BytesIO(shown.content)).size == (16, 12)
    url = f"/api/round-runs/{run}/entries"
    queue = [_entry("pic", photo), _entry("door", True)]
    results = client.post(url, json={"entries": queue}, headers=auth_headers(client, "tech"))
    assert [r["status"] for r in results.json()["results"]] == ["stored", "stored"]
    item = client.get(f"/api/round-runs/{run}").json()["stops"][0]["items"][1]
    assert item["entry"]["value"] == photo
    assert client.get(f"/api/round-runs/{run}").json()["done_at"] is not None


def test_photos_refused(client: TestClient, sqlite_db: Engine) -> None:
    run = _start_run(client)
    photo, data = str(uuid.uuid4()), jpeg_with_exif()
    assert_problem(_put(client, run, photo, data, "viewer"), 403)
    assert_problem(_put(client, run, photo, data, "outsider"), 404, "does not exist")
    too_large = _put(client, run, photo, data + b"\0" * MAX_BYTES, "tech")
    assert assert_problem(too_large, 413)["errors"][0]["name"] == "file"
    not_photo = _put(client, run, photo, b"%PDF-1.4 not a photo" * 4, "tech")
    assert assert_problem(not_photo, 422)["errors"][0]["name"] == "file"
    with Session(sqlite_db) as s:  # another run of the round (yesterday's), with its photo
        other = RoundRunRow(
            round_id=1,
            site="demo",
            due_at=NOW - timedelta(days=1),
            started_at=NOW - timedelta(days=1),
            started_by="tech",
        )
        s.add(other)
        s.commit()
        other_id = other.id
    assert _put(client, other_id, photo, data, "tech").status_code == 200
    assert_problem(_put(client, run, photo, data, "tech"), 409, "another run")
    refused = client.post(
        f"/api/round-runs/{run}/entries",
        json={"entries": [_entry("pic", photo), _entry("pic", "no such photo")]},
        headers=auth_headers(client, "tech"),
    ).json()["results"]
    assert [r["status"] for r in refused] == ["refused", "refused"]
    assert {r["problem"]["status"] for r in refused} == {422}
    assert refused[0]["problem"]["errors"][0]["name"] == "value"
    assert "before its entry" in refused[0]["problem"]["detail"]
    missing = client.get(f"/api/round-runs/{run}/photos/{photo}")  # it is the other run's
    assert_problem(missing, 404)
    outsider = auth_headers(client, "outsider")
    assert_problem(client.get(f"/api/round-runs/{other_id}/photos/{photo}", headers=outsider), 404)
    assert client.get(f"/api/round-runs/{other_id}/photos/{photo}").status_code == 200
    with Session(sqlite_db) as s:
        assert s.scalar(select(func.count()).select_from(RoundPhotoRow)) == 1
