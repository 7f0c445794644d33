"""Server texts in the reader's language: alarm texts and values, order titles, problem
documents; the language from Accept-Language, then the user's choice, then the site's."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, update
from sqlalchemy.orm import Session

from bldgwatch.maintenance.models import IncidentAlarmRow, SiteRow
from tests.console.conftest import ClientFactory, auth_headers
from tests.console.seed import add, alarm, assets, at, work_order
from tests.console.support import assert_problem

BEARING = {"equipment": "P-01", "value": 92.46, "limit": 85.0, "point": "bearing_temp_c"}
TITLE = {
    "fault_code": "PUMP_BEARING_TEMP",
    "equipment": "P-01",
    "equipment_type": {"key": "equipment_type.pump", "params": {}},
    "message": {"key": "rule.pump.bearing_temp_high", "params": BEARING},
}


@pytest.fixture
def client(sqlite_db: Engine, make_client: ClientFactory) -> TestClient:
    add(sqlite_db, *assets())
    add(
        sqlite_db,
        alarm(
            "a1", 0, value=92.46, message="P-01: bearing temperature 92.5 °C above 85.0 °C",
            message_key="rule.pump.bearing_temp_high", params=BEARING, condition_active=True,
        ),
        alarm("a2", 5, value=1.3472278195074472, message="old text, no key"),
        alarm(
            "a3", 6, equipment="E-01", equipment_type="elevator", value=0.0, priority=1,
            message_key="rule.elevator.safety_circuit_open",
            params={"equipment": "E-01", "value": 0.0, "limit": 0.5, "point": "safety_circuit_ok"},
        ),
        work_order(
            1, title="PUMP_BEARING_TEMP: pump P-01 — …", title_key="workorder.title.alarm",
            title_params=TITLE, assigned_to="tech", status="assigned", source_alarm_id="a1",
        ),
    )  # fmt: skip
    add(sqlite_db, IncidentAlarmRow(event_id="ev1", work_order_id=1, alarm_id="a1", at=at(1)))
    client = make_client(sqlite_db)
    del client.headers["Accept-Language"]  # each test says which language it reads
    return client


def _alarm(client: TestClient, alarm_id: str, language: str | None) -> dict[str, object]:
    headers = {"Accept-Language": language} if language else {}
    items = client.get("/api/alarms", headers=headers).json()["items"]
    return next(a for a in items if a["id"] == alarm_id)


def test_alarm_texts_and_values_follow_the_readers_language(client: TestClient) -> None:
    zh = _alarm(client, "a1", "zh-CN,zh;q=0.9")
    assert zh["text"] == "P-01：轴承温度 92.5 °C，超过 85.0 °C"
    assert (zh["value_text"], zh["point_label"]) == ("92.5 °C", "轴承温度")
    assert zh["message"] == "P-01: bearing temperature 92.5 °C above 85.0 °C"  # kept English
    assert (zh["order_id"], zh["order_status"], zh["technician"]) == (1, "assigned", "tech")
    en = _alarm(client, "a1", "en-GB")
    assert en["text"] == "P-01: bearing temperature 92.5 °C above 85.0 °C"
    assert (en["value_text"], en["point_label"]) == ("92.5 °C", "bearing temperature")


def test_an_alarm_without_a_key_shows_its_english_text_and_a_plain_value(
    client: TestClient,
) -> None:
    old = _alarm(client, "a2", "zh-CN")
    assert (old["text"], old["value_text"], old["point_label"]) == (
        "old text, no key",
        "1.347",
        None,
    )


def test_a_yes_no_point_shows_yes_or_no(client: TestClient) -> None:
    lift = _alarm(client, "a3", "zh-CN")
    assert (lift["text"], lift["value_text"]) == ("E-01：安全回路断路", "否")


def test_the_order_title_and_the_alarms_order_in_the_readers_language(
    client: TestClient,
) -> None:
    orders = client.get("/api/work-orders", headers={"Accept-Language": "zh-CN"}).json()
    assert orders["items"][0]["title_text"] == (
        "PUMP_BEARING_TEMP：水泵 P-01 — P-01：轴承温度 92.5 °C，超过 85.0 °C"
    )
    detail = client.get("/api/alarms/a1", headers={"Accept-Language": "en"}).json()
    assert detail["work_order"] == {
        "id": 1,
        "status": "assigned",
        "assigned_to": "tech",
        "title_text": "PUMP_BEARING_TEMP: pump P-01 — P-01: bearing temperature 92.5 °C above "
        "85.0 °C",
    }


def test_problem_documents_speak_the_readers_language(client: TestClient) -> None:
    zh = client.get("/api/alarms/nope", headers={"Accept-Language": "zh-CN"})
    body = assert_problem(zh, 404, "报警 nope 不存在")
    assert body["title"] == "不存在"
    assert_problem(client.get("/api/alarms/nope", headers={"Accept-Language": "en"}), 404,
                   "alarm nope does not exist")  # fmt: skip
    bad = client.get("/api/alarms?limit=0", headers={"Accept-Language": "zh-CN"})
    assert_problem(bad, 422, "查询 参数“limit”：应大于或等于 1")
    client.post("/api/alarms/a1/acknowledge", json={}, headers={"Accept-Language": "en"})
    again = client.post("/api/alarms/a1/acknowledge", json={}, headers={"Accept-Language": "zh"})
    assert_problem(again, 409, "报警 a1：状态为“报警已确认”时不能确认：已确认过")


def test_without_a_header_the_users_choice_then_the_sites_language(
    client: TestClient, sqlite_db: Engine, make_client: ClientFactory
) -> None:
    engineer = auth_headers(client, "engineer")  # sites: demo
    missing = client.get("/api/alarms/nope", headers=engineer)
    assert_problem(missing, 404, "报警 nope 不存在")  # the site's default: zh-CN
    chosen = client.put("/api/preferences", json={"language": "en"}, headers=engineer)
    assert chosen.status_code == 200, chosen.text
    assert_problem(client.get("/api/alarms/nope", headers=engineer), 404, "alarm nope does not")
    client.put("/api/preferences", json={"language": None}, headers=engineer)
    with Session(sqlite_db) as s, s.begin():
        s.execute(update(SiteRow).values(language="en"))
    fresh = make_client(sqlite_db, user=None)  # a console started after the site file changed
    fresh.headers.pop("Accept-Language")
    assert_problem(fresh.get("/api/alarms/nope", headers=engineer), 404, "alarm nope does not")


def test_preferences_are_kept_per_user_and_checked(client: TestClient) -> None:
    engineer = auth_headers(client, "engineer")
    first = client.get("/api/preferences", headers=engineer).json()
    assert first["language"] is None and first["muted"] is False
    assert first["cue"]["1"] == {"sound": True, "every_s": 5}
    assert first["cue"]["4"]["sound"] is False
    body = {"language": "zh-CN", "muted": True, "cue": {"3": {"sound": False, "every_s": 30}}}
    saved = client.put("/api/preferences", json=body, headers=engineer).json()
    assert saved["cue"]["3"] == {"sound": False, "every_s": 30} and saved["cue"]["1"]["sound"]
    assert client.get("/api/preferences", headers=engineer).json() == saved
    assert client.get("/api/preferences", headers=auth_headers(client, "viewer")).json() == first
    bad = client.put("/api/preferences", json={"language": "fr"}, headers=engineer)
    assert_problem(bad, 422, "language")
    bad = client.put("/api/preferences", json={"cue": {"1": {"sound": True, "every_s": 1}}},
                     headers=engineer)  # fmt: skip
    assert_problem(bad, 422, "every_s")


def test_points_are_labelled_in_both_languages(client: TestClient) -> None:
    points = client.get("/api/points").json()
    assert points["pump"]["bearing_temp_c"] == {
        "label": {"en": "bearing temperature", "zh-CN": "轴承温度"},
        "unit": "°C",
        "precision": 1,
        "boolean": False,
    }
    assert points["temp_sensor"]["temperature_c"]["label"]["zh-CN"] == "温度"
