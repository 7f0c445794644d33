"""The gateway fleet in the console (issue 21, point 4) on the demo's Mosquitto and ACL with a
running gateway: the console lists it with state, last seen and health; a config that fails
validation is refused at the console naming the field (nothing stored, nothing sent); a good
one is stored with who and why, signed, sent and applied by the gateway, and the console
shows the version it runs; versions are compared; who may read and who may push."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from bldgwatch.console import fleet
from bldgwatch.console.app import create_app
from bldgwatch.console.config import ConsoleConfig
from bldgwatch.console.models import AuditRow, GatewayConfigRow
from bldgwatch.core.clock import ManualClock
from bldgwatch.core.config import InfluxSettings, MqttSettings, parse_config
from bldgwatch.core.db import session_factory
from bldgwatch.core.tsdb import open_store
from bldgwatch.gateway.config import GatewayConfig
from bldgwatch.gateway.fleet import LOCAL_SECTIONS, write_key
from bldgwatch.maintenance.models import EquipmentRow
from bldgwatch.servers import Server, free_port
from tests.console.conftest import auth_headers, seed_users
from tests.console.seed import add, assets
from tests.gateway.harness import ModbusUnits, in_process_config, serving, write_load_profile
from tests.gateway.test_fleet import _device, _sensor  # the same entries as a pushed config
from tests.tls import self_signed
from tests.waiting import wait_for

pytestmark = pytest.mark.services

SITE, GW = "demo", "gw-1"


def register() -> list[EquipmentRow]:
    """The equipment the pushed configs poll, each given to its gateway by the site register
    (a push is checked against it: review 21c M2)."""
    owners = (("L-01", GW), ("L-02", GW), ("L-09", GW), ("L-20", "gw-2"), ("L-90", "gw-9"))
    return [
        EquipmentRow(site=SITE, id=eq, building="B1", type="pump", gateway=gw, rated={}, params={})
        for eq, gw in owners
    ]


@pytest.fixture
def keys(tmp_path: Path) -> Path:
    """The console's keys folder with gw-1's key; the gateway gets a copy."""
    key = write_key(tmp_path / "keys" / SITE / f"{GW}.key")
    write_key(tmp_path / "gw.key", key)
    return tmp_path / "keys"


@pytest.fixture
def client(
    sqlite_db: Engine, demo_broker: Server, closed_influx: InfluxSettings, keys: Path
) -> Iterator[TestClient]:
    assert demo_broker.auth is not None
    add(sqlite_db, *assets(), *register())
    seed_users(sqlite_db)
    store = open_store(closed_influx)
    mqtt = demo_broker.auth.settings(MqttSettings(port=demo_broker.port), "console")
    profiles = keys.parent / "profiles"  # the site profiles the gateways have too
    cfg = ConsoleConfig(dev=True, mqtt=mqtt, gateway_keys_dir=keys, gateway_profiles_dir=profiles)
    app = create_app(cfg, engine=sqlite_db, store=store)
    with TestClient(app) as test_client:
        assert app.state.bridge.wait_connected(10)
        yield test_client
        app.state.bridge.publish_config(f"bw/v1/{SITE}/{GW}/config", b"")  # clear the retained
    store.close()


def _stored(engine: Engine) -> int:
    with Session(engine) as session:
        return int(session.scalar(select(func.count()).select_from(GatewayConfigRow)) or 0)


def test_the_console_validates_stores_signs_and_sends_and_shows_what_runs(
    tmp_path: Path, client: TestClient, sqlite_db: Engine, demo_broker: Server
) -> None:
    assert demo_broker.auth is not None
    admin, engineer = auth_headers(client, "admin"), auth_headers(client, "engineer")
    units = ModbusUnits(2)
    profile = write_load_profile(tmp_path / "profiles")
    first = [_device("L-01", units.port, 1, profile)]
    cfg = in_process_config(
        tmp_path,
        demo_broker.auth.settings(MqttSettings(port=demo_broker.port), "demo/gw-1"),
        GW,
        site=SITE,
        devices=first,
        profiles_dir=str(tmp_path / "profiles"),
        status_interval_s=0.5,
        fleet={"key_file": str(tmp_path / "gw.key"), "state_dir": str(tmp_path / "fleet")},
    )
    url = f"/api/gateways/{SITE}/{GW}"
    try:
        with serving(cfg):

            def listed() -> dict[str, Any] | None:
                got = client.get("/api/gateways", headers=engineer).json()
                return next((g for g in got if g["gateway"] == GW and g["devices_total"]), None)

            row = wait_for(listed, timeout=20, what="gw-1 in the fleet list")
            assert row["state"] == "online" and row["last_seen"] is not None
            assert row["software_version"] and row["uptime_s"] is not None
            assert row["disk_free_bytes"] > 0 and row["queue_depth"] is not None
            assert "cpu_temp_c" in row and row["config"]["source"] == "file"
            # its own file's devices, reported without secrets: the first edit starts there
            # rather than from {"devices": []} (review 21e M6)
            running = client.get(url, headers=engineer).json()["config"]["running"]
            # the whole file as a push carries it: given the install's sections back, it is
            # the running config itself (a devices-only report dropped sensors and overrides)
            local = cfg.model_dump(mode="json", include=set(LOCAL_SECTIONS))
            assert parse_config({**local, **running}, GatewayConfig) == cfg, running
            assert set(running) >= {"devices", "status_interval_s"}, running
            assert "password" not in str(running) and "ca_file" not in str(running), running

            # refused at the console, naming the field: nothing stored, nothing sent
            bad = {"devices": [{"equipment": "X"}]}
            resp = client.post(f"{url}/configs", json={"config": bad, "reason": "r"}, headers=admin)
            assert resp.status_code == 422, resp.text
            assert resp.json()["errors"][0]["name"].startswith("config.devices.0")
            unknown = {"devices": [{**first[0], "profile": "no-such"}]}
            resp = client.post(
                f"{url}/configs", json={"config": unknown, "reason": "r"}, headers=admin
            )
            assert resp.status_code == 422 and "no-such" in resp.json()["detail"], resp.text
            local = {"mqtt": {"host": "evil"}}
            resp = client.post(
                f"{url}/configs", json={"config": local, "reason": "r"}, headers=admin
            )
            assert resp.status_code == 422, resp.text
            assert resp.json()["errors"][0]["name"] == "config.mqtt"
            # a pushed folder is never opened on the console's host (review 21e M3), and a
            # poll interval no device stands is refused (review 21e M1): both named
            for field, config, zh in (
                ("config.profiles_dir", {"profiles_dir": "/etc", "devices": first},
                 "在安装网关时设定"),
                ("config.devices.0.poll_interval_s",
                 {"devices": [{**first[0], "poll_interval_s": 0.0001}]}, "0.1"),
            ):  # fmt: skip
                for lang, expected in (("en", field.removeprefix("config.")), ("zh-CN", zh)):
                    resp = client.post(
                        f"{url}/configs",
                        json={"config": config, "reason": "r"},
                        headers={**admin, "Accept-Language": lang},
                    )
                    assert resp.status_code == 422, resp.text
                    assert resp.json()["errors"][0]["name"] == field, resp.text
                    assert expected in resp.json()["detail"], (lang, resp.text)
            assert _stored(sqlite_db) == 0

            # only admins push
            good = {
                "status_interval_s": 0.5,
                "devices": [*first, _device("L-02", units.port, 2, profile)],
            }
            body = {"config": good, "reason": "L-02 installed", "remove": ["L-09"]}
            assert client.post(f"{url}/configs", json=body, headers=engineer).status_code == 403

            resp = client.post(f"{url}/configs", json=body, headers=admin)
            assert resp.status_code == 201, resp.text
            pushed = resp.json()
            assert (pushed["version"], pushed["author"], pushed["reason"]) == (
                1,
                "admin",
                "L-02 installed",
            )
            assert pushed["sent_at"] is not None and "+- building: B1" in pushed["diff"]

            def applied() -> dict[str, Any] | None:
                got = client.get(url, headers=engineer).json()
                conf = got.get("config") or {}
                ok = conf.get("version") == 1 and conf.get("state") == "applied"
                return got if ok and len(got["devices"]) == 2 else None

            detail = wait_for(applied, timeout=30, what="version 1 running on gw-1")
            assert [v["version"] for v in detail["versions"]] == [1]
            assert detail["latest_version"] == 1
            assert {d["equipment"] for d in detail["devices"]} == {"L-01", "L-02"}

            fewer = {**good, "devices": first}
            resp = client.post(
                f"{url}/configs",
                json={"config": fewer, "reason": "L-02 removed", "remove": ["L-02", "L-09"]},
                headers=admin,
            )
            assert resp.status_code == 201 and resp.json()["version"] == 2
            diff = client.get(f"{url}/configs/2", headers=engineer).json()["diff"]
            assert "--- v1" in diff and "+++ v2" in diff and "-  equipment: L-02" in diff
            with Session(sqlite_db) as session:
                pushes = session.execute(
                    select(AuditRow.actor, AuditRow.target, AuditRow.result)
                    .where(AuditRow.action == "gateway.config_push")
                    .order_by(AuditRow.id)
                ).all()
            assert ("admin", "gateway:demo/gw-1", "ok") in [tuple(p) for p in pushes]
            assert {tuple(p)[2] for p in pushes} >= {"ok", "invalid", "denied"}
            assert client.get(f"{url}/configs/9", headers=engineer).status_code == 404
            assert client.get(url, headers=auth_headers(client, "outsider")).status_code == 404
            assert client.get(url, headers=auth_headers(client, "tech")).status_code == 403
    finally:
        units.close()


def test_after_a_restored_database_pushes_number_above_what_the_gateway_had(
    tmp_path: Path, client: TestClient, sqlite_db: Engine, demo_broker: Server
) -> None:
    """The DR path: the console's database comes back from a backup older than the last
    pushes; the gateway refuses a number it has had (a replay), so the console continues
    numbering above what the gateway reports."""
    assert demo_broker.auth is not None
    admin = auth_headers(client, "admin")
    units = ModbusUnits(1)
    profile = write_load_profile(tmp_path / "profiles")
    first = [_device("L-01", units.port, 1, profile)]
    cfg = in_process_config(
        tmp_path,
        demo_broker.auth.settings(MqttSettings(port=demo_broker.port), "demo/gw-1"),
        GW,
        site=SITE,
        devices=first,
        profiles_dir=str(tmp_path / "profiles"),
        status_interval_s=0.5,
        fleet={"key_file": str(tmp_path / "gw.key"), "state_dir": str(tmp_path / "fleet")},
    )
    url = f"/api/gateways/{SITE}/{GW}"
    good = {"status_interval_s": 0.5, "devices": first}

    def running(version: int) -> bool:
        conf = client.get(url, headers=admin).json().get("config") or {}
        return conf.get("version") == version and conf.get("state") == "applied"

    try:
        with serving(cfg):
            for number in (1, 2):
                resp = client.post(
                    f"{url}/configs",
                    json={"config": good, "reason": "r", "remove": ["L-02", "L-09"]},
                    headers=admin,
                )
                assert resp.status_code == 201 and resp.json()["version"] == number
                wait_for(lambda n=number: running(n), timeout=30, what=f"version {number}")
            with sqlite_db.begin() as conn:  # = the database restored from before the pushes
                conn.execute(GatewayConfigRow.__table__.delete())
            changed = {**good, "status_interval_s": 0.6}
            resp = client.post(
                f"{url}/configs",
                json={"config": changed, "reason": "after DR", "remove": ["L-02", "L-09"]},
                headers=admin,
            )
            assert resp.status_code == 201 and resp.json()["version"] == 3, resp.text
            wait_for(lambda: running(3), timeout=30, what="version 3 applied, not a replay")
            assert not (client.get(url, headers=admin).json()["config"] or {}).get("refused")

            # a rollback's reason in the reader's language (the gateway sends a catalogue key)
            silent = {**good, "devices": [_device("L-09", free_port(), 1, profile)]}
            resp = client.post(
                f"{url}/configs",
                json={"config": silent, "reason": "r", "remove": ["L-01", "L-02"]},
                headers=admin,
            )
            assert resp.status_code == 201 and resp.json()["version"] == 4

            def rollback(lang: str) -> str | None:
                got = client.get(url, headers={**admin, "Accept-Language": lang}).json()
                back = (got.get("config") or {}).get("rollback") or {}
                return back.get("reason") if back.get("version") == 4 else None

            zh = wait_for(lambda: rollback("zh-CN"), timeout=30, what="version 4 rolled back")
            assert zh == "3 次轮询内没有设备应答；已退回第 3 版", zh
            assert rollback("en") == "no device answered within 3 polls; back to version 3"
    finally:
        units.close()


def test_a_config_that_polls_nothing_is_refused(client: TestClient) -> None:
    """`devices: []` validates, but would leave the building unwatched (and be kept)."""
    for lang, said in (("en", "no device, meter or sensor"), ("zh-CN", "没有任何设备")):
        resp = client.post(
            f"/api/gateways/{SITE}/{GW}/configs",
            json={"config": {"devices": []}, "reason": "emptied"},
            headers={**auth_headers(client, "admin"), "Accept-Language": lang},
        )
        assert resp.status_code == 422 and said in resp.json()["detail"], resp.text


def test_a_gateway_without_a_key_cannot_be_pushed_to(client: TestClient) -> None:
    device = _device("L-90", 1502, 1, "pump-generic")
    resp = client.post(
        "/api/gateways/demo/gw-9/configs",
        json={"config": {"devices": [device]}, "reason": "first"},
        headers=auth_headers(client, "admin"),
    )
    assert resp.status_code == 503 and "gw-9" in resp.json()["detail"], resp.text


def test_a_refused_check_is_said_in_the_readers_language(client: TestClient) -> None:
    """First review 21 M7: pydantic's English ("Input should be greater than 0") stood on
    the zh-CN page. The check now goes through the catalogue (validation.<type>)."""
    device = {**_device("L-01", 1502, 1, "pump-generic"), "reconnect_min_s": 0}
    for lang, said in (("zh-CN", "应大于 0"), ("en", "greater than 0")):
        resp = client.post(
            f"/api/gateways/{SITE}/{GW}/configs",
            json={"config": {"devices": [device]}, "reason": "r"},
            headers={**auth_headers(client, "admin"), "Accept-Language": lang},
        )
        assert resp.status_code == 422, resp.text
        body = resp.json()
        assert said in body["detail"] and "devices.0.reconnect_min_s" in body["detail"]
        assert body["errors"][0]["name"] == "config.devices.0.reconnect_min_s"
        if lang == "zh-CN":
            assert "Input should" not in body["detail"], body["detail"]


@pytest.mark.parametrize(
    ("change", "field", "zh", "en"),
    [
        ({"equipment": "L-01"}, "devices.1.equipment", "设备编号 L-01 重复", "used twice"),
        ({"profile": "no-such"}, "devices.1.profile", "没有名为“no-such”的设备模板",
         "no device profile is named “no-such”"),
        ({"port": 1502, "unit": 1}, "devices.1", "已被 L-01 占用", "already used by L-01"),
    ],
)  # fmt: skip
def test_a_check_of_the_whole_config_is_said_in_words_naming_the_device(
    client: TestClient, change: dict[str, Any], field: str, zh: str, en: str
) -> None:
    """Review 21c M1: the gateway model's own checks (duplicate equipment, unknown profile,
    two devices on one address) came as pydantic's "Value error, …" in English under the
    field "config". Now they go through the catalogue, naming the device's field."""
    devices = [_device("L-01", 1502, 1, "pump-generic"), {**_device("L-02", 1503, 2,
               "pump-generic"), **change}]  # fmt: skip
    for lang, said in (("zh-CN", zh), ("en", en)):
        resp = client.post(
            f"/api/gateways/{SITE}/{GW}/configs",
            json={"config": {"devices": devices}, "reason": "r"},
            headers={**auth_headers(client, "admin"), "Accept-Language": lang},
        )
        assert resp.status_code == 422, resp.text
        body = resp.json()
        assert said in body["detail"] and field in body["detail"], body["detail"]
        assert body["errors"][0]["name"] == f"config.{field}"
        assert "Value error" not in body["detail"], body["detail"]


@pytest.mark.parametrize(
    ("equipment", "zh", "en"),
    [
        ("NOT-IN-REGISTER", "站点 demo 的设备台账中没有设备 NOT-IN-REGISTER",
         "equipment NOT-IN-REGISTER is not in the register of site demo"),
        ("L-20", "设备 L-20 由网关 gw-2 上报", "equipment L-20 is reported by gateway gw-2"),
        ("P-01", "设备 P-01 在台账中未指定网关", "equipment P-01 has no gateway in the register"),
    ],
)  # fmt: skip
def test_a_push_naming_equipment_the_register_does_not_give_the_gateway_is_refused(
    client: TestClient, sqlite_db: Engine, equipment: str, zh: str, en: str
) -> None:
    """Review 21c M2: only the gateway's model checked a push, so a typo'd id or another
    gateway's equipment was "applied" and every reading of it dead-lettered by ingest
    (`unknown_equipment`, `not_owner`): the page said all was well while nothing was
    monitored. Now the console makes ingest's check first, naming the device's field."""
    devices = [_device("L-01", 1502, 1, "pump-generic"), _device(equipment, 1503, 2,
               "pump-generic")]  # fmt: skip
    for lang, said in (("zh-CN", zh), ("en", en)):
        resp = client.post(
            f"/api/gateways/{SITE}/{GW}/configs",
            json={"config": {"devices": devices}, "reason": "r"},
            headers={**auth_headers(client, "admin"), "Accept-Language": lang},
        )
        assert resp.status_code == 422, resp.text
        body = resp.json()
        assert said in body["detail"], body["detail"]
        assert body["errors"][0]["name"] == "config.devices.1.equipment"
    assert _stored(sqlite_db) == 0


def test_a_push_leaving_out_the_gateways_registered_equipment_needs_a_remove_list(
    client: TestClient, sqlite_db: Engine
) -> None:
    """Review 21e M6: a push replaces the whole device list, so one added device stopped
    the polling of all the others and the page showed "applied", all green. Now a push that
    leaves out equipment the register gives this gateway is refused naming it, unless the
    push lists it in `remove` (the page asks first)."""
    url = f"/api/gateways/{SITE}/{GW}/configs"
    devices = [_device("L-01", 1502, 1, "pump-generic")]
    for lang, said in (
        ("zh-CN", "漏掉了站点 demo 台账中属于网关 gw-1 的 2 台设备，它们将停止采集：L-02, L-09"),
        ("en", "leaves out 2 device(s) the register of site demo gives gateway gw-1"),
    ):
        resp = client.post(
            url,
            json={"config": {"devices": devices}, "reason": "r", "remove": ["L-02"]},
            headers={**auth_headers(client, "admin"), "Accept-Language": lang},
        )
        assert resp.status_code == 422, resp.text
        assert "L-09" in resp.json()["detail"] and "L-02" not in resp.json()["detail"]
        resp = client.post(
            url,
            json={"config": {"devices": devices}, "reason": "r"},
            headers={**auth_headers(client, "admin"), "Accept-Language": lang},
        )
        assert resp.status_code == 422, resp.text
        body = resp.json()
        assert said in body["detail"], body["detail"]
        assert body["errors"][0]["name"] == "config.devices"
    assert _stored(sqlite_db) == 0
    body = {"config": {"devices": devices}, "reason": "r", "remove": ["L-02", "L-09"]}
    resp = client.post(url, json=body, headers=auth_headers(client, "admin"))
    assert resp.status_code == 201, resp.text
    assert _stored(sqlite_db) == 1


def test_a_push_carrying_a_password_is_refused(client: TestClient, sqlite_db: Engine) -> None:
    """Review 21c L3: docs say a push carries no secret, but a sensor's own broker password
    (`mqtt_sensors[].mqtt.password`) was taken, stored in the console's database and shown
    to every engineer and supervisor with the config. Now it is refused, naming the field."""
    sensor = {**_sensor("L-01", "sensors/demo/L-01"), "mqtt": {"host": "10.0.0.9",
              "username": "ts", "password": "hunter2-hunter2"}}  # fmt: skip
    for lang, said in (("zh-CN", "不能带密码"), ("en", "carries no password")):
        resp = client.post(
            f"/api/gateways/{SITE}/{GW}/configs",
            json={"config": {"mqtt_sensors": [sensor]}, "reason": "r"},
            headers={**auth_headers(client, "admin"), "Accept-Language": lang},
        )
        assert resp.status_code == 422, resp.text
        body = resp.json()
        assert said in body["detail"] and "hunter2" not in resp.text, body["detail"]
        assert body["errors"][0]["name"] == "config.mqtt_sensors.0.mqtt.password"
    assert _stored(sqlite_db) == 0


@pytest.mark.parametrize("topic", ["sensors/other/TS-01", "sensors/TS-01", "sensors/demo/"])
def test_a_sensor_topic_the_gateway_may_not_read_is_refused(
    client: TestClient, sqlite_db: Engine, topic: str
) -> None:
    """Review 21d M2: a sensor on the gateway's own broker moved to a topic outside
    `sensors/{site}/` (the ACL's rule) was applied and went silent, all green on the page.
    Now the push is refused, naming the field, in both languages."""
    sensor = _sensor("L-01", topic)
    for lang, said in (
        ("zh-CN", "只能读取 sensors/demo/"),
        ("en", "only topics under sensors/demo/"),
    ):
        resp = client.post(
            f"/api/gateways/{SITE}/{GW}/configs",
            json={"config": {"mqtt_sensors": [sensor]}, "reason": "r"},
            headers={**auth_headers(client, "admin"), "Accept-Language": lang},
        )
        assert resp.status_code == 422, resp.text
        body = resp.json()
        assert said in body["detail"] and topic in body["detail"], body["detail"]
        assert body["errors"][0]["name"] == "config.mqtt_sensors.0.topic"
    assert _stored(sqlite_db) == 0


CERT_PEM = """\
-----BEGIN CERTIFICATE-----
MIIBfjCCASWgAwIBAgIUHYcbnyNs7LWDx8nEXh3smWIXhw0wCgYIKoZIzj0EAwIw
HzEdMBsGA1UEAwwUYmxkZ3dhdGNoIHRlc3QgYnJva2VyMB4XDTI0MDEwMTAwMDAw
MFoXDTM0MDEwMTAwMDAwMFowHzEdMBsGA1UEAwwUYmxkZ3dhdGNoIHRlc3QgYnJv
a2VyMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE
-----END CERTIFICATE-----
"""


@pytest.mark.parametrize(
    ("own", "field", "said"),
    [
        ({"ca_file": "/etc/ssl/certs/sensor-ca.crt"}, "ca_file", ("请改用 ca_pem",
         "give the CA certificate itself")),
        ({"ca_pem": "not a certificate"}, "ca_pem", ("不是 PEM 格式的证书",
         "is not one or more PEM certificates")),
        ({"ca_pem": CERT_PEM}, "ca_pem", ("不是 PEM 格式的证书",
         "is not one or more PEM certificates")),
        ({"ca_pem": "x" * 70_000}, "ca_pem", ("最多 65,536 个字符", "at most 65,536")),
        # non-ASCII text made the ssl module raise TypeError: a 500 (final review, third look)
        ({"ca_pem": "-----BEGIN CERTIFICATE-----\n证书\n-----END CERTIFICATE-----\n"},
         "ca_pem", ("不是 PEM 格式的证书", "is not one or more PEM certificates")),
    ],
)  # fmt: skip
def test_a_pushed_sensor_broker_ca_must_be_the_certificate_itself(
    client: TestClient,
    sqlite_db: Engine,
    own: dict[str, str],
    field: str,
    said: tuple[str, str],
) -> None:
    """Review 21d H3 (the console half): a pushed sensor broker's `ca_file` names a file on
    the Pi the console cannot see; a wrong one showed only when the gateway applied it. Now
    a push names no file (refused, saying to give the certificate itself) and its `ca_pem`
    must be one or more certificates (a broken one, here truncated, is refused too)."""
    sensor = {**_sensor("L-01", "sensors/demo/L-01"),
              "mqtt": {"host": "10.0.0.9", "port": 8883, "tls": True, **own}}  # fmt: skip
    for lang, words in zip(("zh-CN", "en"), said, strict=True):
        resp = client.post(
            f"/api/gateways/{SITE}/{GW}/configs",
            json={"config": {"mqtt_sensors": [sensor]}, "reason": "r"},
            headers={**auth_headers(client, "admin"), "Accept-Language": lang},
        )
        assert resp.status_code == 422, resp.text
        body = resp.json()
        assert words in body["detail"], body["detail"]
        assert body["errors"][0]["name"] == f"config.mqtt_sensors.0.mqtt.{field}"
        assert "Value error" not in body["detail"], body["detail"]
    assert _stored(sqlite_db) == 0


def test_a_pushed_sensor_broker_ca_pem_that_is_a_certificate_is_taken(
    client: TestClient, sqlite_db: Engine, tmp_path: Path
) -> None:
    cert, _key = self_signed(tmp_path)
    sensor = {**_sensor("L-01", "sensors/demo/L-01"), "mqtt": {"host": "10.0.0.9",
              "port": 8883, "tls": True, "ca_pem": cert.read_text()}}  # fmt: skip
    resp = client.post(
        f"/api/gateways/{SITE}/{GW}/configs",
        json={"config": {"mqtt_sensors": [sensor]}, "reason": "r", "remove": ["L-02", "L-09"]},
        headers=auth_headers(client, "admin"),
    )
    assert resp.status_code == 201, resp.text
    assert _stored(sqlite_db) == 1


def test_a_silent_gateway_is_stale_and_its_undecided_push_not_confirmed(
    client: TestClient,
) -> None:
    """Review 21d L4: a gateway wedged while applying a push kept showing "online", and the
    push it never applied nor rolled back was listed like the others. Now the API says
    `stale` (with when it was last heard from) and that push is `unconfirmed`."""
    life = client.app.state.liveness  # type: ignore[attr-defined]
    clock = ManualClock(datetime(2026, 12, 7, 2, 0, tzinfo=UTC))
    life._clock = clock
    headers = auth_headers(client, "admin")
    for version in (1, 2):
        resp = client.post(
            f"/api/gateways/{SITE}/{GW}/configs",
            json={"config": {"devices": [_device("L-01", 1502, 1, "pump-generic")]},
                  "reason": f"v{version}", "remove": ["L-02", "L-09"]},
            headers=headers,
        )  # fmt: skip
        assert resp.status_code == 201, resp.text
    config = {
        "version": 1,
        "source": "pushed",
        "state": "applied",
        "refused": None,
        "rollback": None,
    }
    doc = {"state": "online", "status_interval_s": 10, "config": config}
    life.saw_status(SITE, GW, "online", {}, doc)
    heard = clock.now()
    wait_for(
        lambda: all(
            v["sent_at"]
            for v in client.get(f"/api/gateways/{SITE}/{GW}", headers=headers).json()["versions"]
        ),
        timeout=10,
        what="both versions sent",
    )
    body = client.get(f"/api/gateways/{SITE}/{GW}", headers=headers).json()
    assert body["state"] == "online"
    assert [v["unconfirmed"] for v in body["versions"]] == [False, False]
    clock.advance(31)
    body = client.get(f"/api/gateways/{SITE}/{GW}", headers=headers).json()
    assert body["state"] == "stale"
    assert datetime.fromisoformat(body["last_seen"]) == heard
    assert [(v["version"], v["unconfirmed"]) for v in body["versions"]] == [(2, True), (1, False)]
    listed = client.get("/api/gateways", headers=headers).json()
    assert [(g["gateway"], g["state"]) for g in listed] == [(GW, "stale")]


def test_pushes_at_the_same_moment_are_stored_with_consecutive_versions(db: Engine) -> None:
    """Review 21e L9: eight pushes to one gateway at once were 6 × 201 and 2 × 503 showing
    SQL (UNIQUE constraint failed); each is stored, numbered one after the other."""
    pushes = 8
    start = threading.Barrier(pushes)
    factory = session_factory(db)
    errors: list[BaseException] = []

    def push(i: int) -> None:
        try:
            with factory() as session:
                session.execute(select(GatewayConfigRow.version).limit(1)).all()  # a read first
                start.wait(10)
                fleet.store(
                    session,
                    site=SITE,
                    gateway=GW,
                    config={"status_interval_s": 10 + i},
                    author="admin",
                    reason=f"push {i}",
                    at=datetime(2026, 1, 1, tzinfo=UTC),
                )
                session.commit()
        except BaseException as err:  # noqa: BLE001 - reported below
            errors.append(err)

    threads = [threading.Thread(target=push, args=(i,)) for i in range(pushes)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors, errors
    with Session(db) as session:
        numbers = sorted(r.version for r in fleet.versions(session, SITE, GW))
    assert numbers == list(range(1, pushes + 1))


@pytest.mark.parametrize(
    "config",
    [
        {"version": 3},  # an older gateway: no source, state, refused or rollback
        {"version": 3, "source": 7, "state": ["x"], "refused": "no", "pending_restart": "m"},
    ],
    ids=["fields-missing", "fields-of-the-wrong-type"],
)
def test_a_status_whose_config_report_is_incomplete_shows_what_it_can(
    client: TestClient, config: dict[str, object]
) -> None:
    """A gateway's status is the least trusted thing the console reads: a config report with
    fields missing or of the wrong type made the gateways page and API fail ("unexpected
    ValidationError"). Now each such field is unknown and the rest is shown."""
    life = client.app.state.liveness  # type: ignore[attr-defined]
    headers = auth_headers(client, "admin")
    doc = {"state": "online", "status_interval_s": 10, "config": config}
    life.saw_status(SITE, GW, "online", {}, doc)
    resp = client.get(f"/api/gateways/{SITE}/{GW}", headers=headers)
    assert resp.status_code == 200, resp.text
    shown = resp.json()["config"]
    assert shown["version"] == 3
    assert (shown["source"], shown["state"], shown["refused"], shown["rollback"]) == (None,) * 4
    assert shown["pending_restart"] == []
    listed = client.get("/api/gateways", headers=headers)
    assert listed.status_code == 200 and listed.json()[0]["config"]["version"] == 3


def test_the_detail_names_every_section_a_push_may_not_carry(client: TestClient) -> None:
    """Review 21f L-b: the push form's help named "site, gateway_id, mqtt, queue and fleet";
    profiles_dir is one too. The page's help now lists the sections the API gives, which are
    the ones the console refuses in a push (one list, LOCAL_SECTIONS)."""
    headers = auth_headers(client, "admin")
    resp = client.post(
        f"/api/gateways/{SITE}/{GW}/configs",
        json={
            "config": {"devices": [_device("L-01", 1502, 1, "pump-generic")]},
            "reason": "r",
            "remove": ["L-02", "L-09"],
        },
        headers=headers,
    )
    assert resp.status_code == 201, resp.text
    sections = client.get(f"/api/gateways/{SITE}/{GW}", headers=headers).json()["install_sections"]
    assert "profiles_dir" in sections and set(sections) == set(LOCAL_SECTIONS)
    for section in sections:
        config = {section: "x", "devices": [_device("L-01", 1502, 1, "pump-generic")]}
        resp = client.post(
            f"/api/gateways/{SITE}/{GW}/configs",
            json={"config": config, "reason": "r", "remove": ["L-02", "L-09"]},
            headers=headers,
        )
        assert resp.status_code == 422 and section in resp.json()["detail"], resp.text
