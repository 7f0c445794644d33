"""Gateway fleet management (issue 21, point 4) on the demo's Mosquitto and ACL with Modbus
devices from the harness: a pushed config is signed and checked, applied without losing what
is queued, rolled back when its devices do not answer, refused when signed with another key
or replayed; the last good one is kept on disk; the broker lets only the console write a
gateway's config and only that gateway read it; the status carries the gateway's health."""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import socket
import stat
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from bldgwatch.cli import app
from bldgwatch.core import topics
from bldgwatch.core.config import MqttSettings
from bldgwatch.core.errors import ConfigError
from bldgwatch.core.mqtt import MqttClient
from bldgwatch.demo_setup import SENSOR_TOPIC, SITE_SPEC
from bldgwatch.gateway.fleet import (
    ConfigRefusedError,
    cpu_temperature_c,
    merge_local,
    open_envelope,
    read_key,
    sign,
    write_key,
)
from bldgwatch.servers import Server, free_port
from tests.gateway.harness import (
    Collector,
    ModbusUnits,
    in_process_config,
    queue_depth,
    serving,
    write_load_profile,
)
from tests.test_broker_auth import ACCEPTED, NOT_AUTHORIZED, Account
from tests.tls import start_tls_broker
from tests.waiting import wait_for

SITE, GW = "demo", "gw-1"
TOPIC = topics.gateway_config(SITE, GW)


# -- unit: envelope and health probes ---------------------------------------------------------
def test_an_envelope_opens_only_with_its_key_and_for_its_gateway() -> None:
    key, other = b"k" * 32, b"o" * 32
    raw = sign(key, site="s", gateway="g", version=3, config={"devices": []})
    assert open_envelope(raw, key, site="s", gateway="g").version == 3
    with pytest.raises(ConfigRefusedError, match="bad signature"):
        open_envelope(raw, other, site="s", gateway="g")
    with pytest.raises(ConfigRefusedError, match="another gateway"):
        open_envelope(raw, key, site="s", gateway="h")
    with pytest.raises(ConfigRefusedError, match="unsigned"):
        open_envelope(b'{"body": "{}"}', key, site="s", gateway="g")
    tampered = raw.replace(b"3", b"4", 1)
    with pytest.raises(ConfigRefusedError):
        open_envelope(tampered, key, site="s", gateway="g")


def test_a_push_keeps_the_installs_sections_and_profile_folder() -> None:
    local = {"site": "s", "gateway_id": "g", "mqtt": {"password": "p"}, "profiles_dir": "/p"}
    pushed = {"mqtt": {"host": "evil"}, "devices": [], "site": "other"}
    merged = merge_local(pushed, local)
    assert merged["mqtt"] == {"password": "p"} and merged["site"] == "s"
    assert merged["profiles_dir"] == "/p" and merged["devices"] == []
    # a pushed path is never taken (review 21e M3): the console cannot check it
    assert merge_local({"profiles_dir": "/q"}, local)["profiles_dir"] == "/p"


def test_cpu_temperature_is_the_hottest_zone_and_none_without_zones(tmp_path: Path) -> None:
    assert cpu_temperature_c(tmp_path) is None
    for i, milli in enumerate(("48312", "51000", "junk")):
        (tmp_path / f"thermal_zone{i}").mkdir()
        (tmp_path / f"thermal_zone{i}" / "temp").write_text(milli + "\n")
    assert cpu_temperature_c(tmp_path) == 51.0


# -- the broker ---------------------------------------------------------------------------------
def _receives(
    settings: MqttSettings, topic: str, *, retained_from: Account, expected: bool
) -> bool:
    """Whether `settings`' account gets a retained message just put on `topic` (waiting
    long for what should arrive, 2 s after the subscription is acknowledged for what
    should not)."""
    got = threading.Event()
    client = MqttClient(settings, client_id=f"t-{uuid.uuid4().hex[:8]}")
    client.subscribe(topic, lambda _msg: got.set(), qos=1)
    retained_from.client.publish(topic, b'{"probe":1}', qos=1, retain=True).wait_for_publish(10)
    client.start()
    try:
        assert client.wait_subscribed(20)
        return got.wait(20.0 if expected else 2.0)
    finally:
        client.stop()
        retained_from.client.publish(topic, b"", qos=1, retain=True).wait_for_publish(10)


def test_only_the_console_writes_a_config_and_only_its_gateway_reads_it(
    demo_broker: Server,
) -> None:
    assert demo_broker.auth is not None
    names = ("console", "demo/gw-1", "rules", "operator")
    acc = {n: Account(demo_broker, n) for n in names}
    try:
        assert acc["console"].publish(TOPIC) == ACCEPTED
        for name in ("demo/gw-1", "rules", "operator"):
            assert acc[name].publish(TOPIC) == NOT_AUTHORIZED, name
        for topic in ("bw/v1/demo/alarms/config", "bw/v1/demo/workorders/config"):
            assert acc["console"].publish(topic) == NOT_AUTHORIZED, topic
        own = demo_broker.auth.settings(MqttSettings(port=demo_broker.port), "demo/gw-1")
        assert _receives(own, TOPIC, retained_from=acc["console"], expected=True)
        for name in ("operator", "rules", "ingest"):
            settings = demo_broker.auth.settings(MqttSettings(port=demo_broker.port), name)
            assert not _receives(settings, TOPIC, retained_from=acc["console"], expected=False)
    finally:
        for account in acc.values():
            account.client.stop()


# -- a running gateway --------------------------------------------------------------------------
def _device(equipment: str, port: int, unit: int, profile: str) -> dict[str, Any]:
    return {
        "equipment": equipment,
        "building": "B1",
        "profile": profile,
        "host": "127.0.0.1",
        "port": port,
        "unit": unit,
        "poll_interval_s": 0.2,
        "timeout_s": 0.3,
        "retries": 0,
        "reconnect_min_s": 0.1,
        "reconnect_max_s": 0.2,
    }


class Console:
    """The console's side of a push: its broker account and the gateway's key."""

    def __init__(self, broker: Server, key: bytes) -> None:
        self.account = Account(broker, "console")
        self.key = key

    def push(self, version: int, config: dict[str, Any], *, key: bytes | None = None) -> None:
        raw = sign(key or self.key, site=SITE, gateway=GW, version=version, config=config)
        info = self.account.client.publish(TOPIC, raw, qos=1, retain=True)
        info.wait_for_publish(10)

    def close(self) -> None:
        self.account.client.publish(TOPIC, b"", qos=1, retain=True).wait_for_publish(10)
        self.account.client.stop()


@pytest.fixture
def units() -> Iterator[ModbusUnits]:
    served = ModbusUnits(2)
    yield served
    served.close()


def _config_state(collector: Collector) -> dict[str, Any]:
    with collector.lock:
        return dict((collector.status or {}).get("config") or {})


def test_pushed_configs_apply_roll_back_and_refuse(
    tmp_path: Path, demo_broker: Server, units: ModbusUnits
) -> None:
    assert demo_broker.auth is not None
    profile = write_load_profile(tmp_path / "profiles")
    key_file = tmp_path / "fleet.key"
    key = bytes.fromhex(write_key(key_file))
    gw_settings = demo_broker.auth.settings(MqttSettings(port=demo_broker.port), "demo/gw-1")
    watcher = demo_broker.auth.settings(MqttSettings(port=demo_broker.port), "operator")
    fleet = {"key_file": str(key_file), "state_dir": str(tmp_path / "fleet"), "trial_polls": 3}
    first = [_device("L-01", units.port, 1, profile)]
    cfg = in_process_config(
        tmp_path,
        gw_settings,
        GW,
        site=SITE,
        devices=first,
        profiles_dir=str(tmp_path / "profiles"),
        status_interval_s=0.5,
        fleet=fleet,
    )
    pushable = {"profiles_dir": str(tmp_path / "profiles"), "status_interval_s": 0.5}
    good = {**pushable, "devices": [*first, _device("L-02", units.port, 2, profile)]}
    silent = {**pushable, "devices": [_device("L-09", free_port(), 1, profile)]}
    console = Console(demo_broker, key)
    collector = Collector(watcher, SITE, GW)
    try:
        with serving(cfg) as gateway:
            wait_for(lambda: ("L-01", "r00") in collector.values, timeout=20, what="L-01 polled")
            status = collector.status or {}
            assert status["version"] and status["uptime_s"] >= 0
            assert status["disk_free_bytes"] > 0 and "cpu_temp_c" in status
            assert status["config"]["source"] == "file"

            # a good config: the new device is polled, the old one goes on
            console.push(1, good)
            wait_for(
                lambda: (
                    _config_state(collector).get("state") == "applied"
                    and _config_state(collector).get("version") == 1
                ),
                timeout=20,
                what="version 1 applied",
            )
            wait_for(lambda: ("L-02", "r00") in collector.values, timeout=20, what="L-02 polled")
            assert collector.values[("L-02", "r00")] == 200  # unit 2's first register
            assert (tmp_path / "fleet" / "config.json").exists()

            # it validates but none of its devices answers: rolled back to version 1
            console.push(2, silent)
            wait_for(
                lambda: (_config_state(collector).get("rollback") or {}).get("version") == 2,
                timeout=30,
                what="version 2 rolled back",
            )
            state = _config_state(collector)
            assert state["state"] == "rolled_back" and state["version"] == 1
            assert "no device answered within 3 polls" in state["rollback"]["reason"]
            assert state["rollback"]["message"] == {
                "key": "gateway.rollback.no_answer",
                "params": {
                    "polls": 3,
                    "back": {"key": "gateway.config.version", "params": {"version": 1}},
                },
            }
            assert {p.device.equipment for p in gateway.pollers} == {"L-01", "L-02"}

            # signed with another key; then a replay of an older version
            console.push(3, good, key=b"x" * 32)
            wait_for(
                lambda: (
                    "bad signature"
                    in ((_config_state(collector).get("refused") or {}).get("reason") or "")
                ),
                timeout=20,
                what="wrong key refused",
            )
            assert _config_state(collector)["refused"]["message"]["key"] == (
                "gateway.refused.signature"
            )
            console.push(1, good)
            wait_for(
                lambda: (
                    "older than 2"
                    in ((_config_state(collector).get("refused") or {}).get("reason") or "")
                ),
                timeout=20,
                what="replay refused",
            )
            assert _config_state(collector)["version"] == 1

            # it validates but polls nothing (sent around the console's check): rolled back
            console.push(4, {**pushable, "devices": []})
            wait_for(
                lambda: (_config_state(collector).get("rollback") or {}).get("version") == 4,
                timeout=30,
                what="an empty version 4 rolled back",
            )
            assert "no device, meter or sensor" in _config_state(collector)["rollback"]["reason"]
            assert _config_state(collector)["version"] == 1
            polled_before = {p.device.equipment: p.stats.polls for p in gateway.pollers}
            wait_for(
                lambda: all(
                    p.stats.polls > polled_before[p.device.equipment] for p in gateway.pollers
                ),
                timeout=10,
                what="still polling",
            )
        # stopped: everything queued went out, in an unbroken run of batches
        seqs = sorted(collector.by_seq())
        assert seqs == list(range(seqs[0], seqs[-1] + 1))
        assert gateway.queue_errors == 0

        # a restart runs the last good config kept on disk
        with serving(cfg) as again:
            wait_for(
                lambda: (
                    again.config_state.get("version") == 1
                    and {p.device.equipment for p in getattr(again, "pollers", [])}
                    == {"L-01", "L-02"}
                ),
                timeout=20,
                what="last good config at start",
            )
    finally:
        collector.close()
        console.close()


def test_readings_queued_before_a_push_are_all_delivered(
    tmp_path: Path, demo_broker: Server, units: ModbusUnits
) -> None:
    """Readings waiting in the queue while the pollers restart reach the broker: each
    reading polled before, during and after the swap arrives exactly in the store's view."""
    assert demo_broker.auth is not None
    profile = write_load_profile(tmp_path / "profiles")
    key_file = tmp_path / "fleet.key"
    key = bytes.fromhex(write_key(key_file))
    gw_settings = demo_broker.auth.settings(MqttSettings(port=demo_broker.port), "demo/gw-1")
    watcher = demo_broker.auth.settings(MqttSettings(port=demo_broker.port), "operator")
    first = [_device("L-01", units.port, 1, profile)]
    cfg = in_process_config(
        tmp_path,
        gw_settings,
        GW,
        site=SITE,
        devices=first,
        profiles_dir=str(tmp_path / "profiles"),
        fleet={"key_file": str(key_file), "state_dir": str(tmp_path / "fleet")},
    )
    console = Console(demo_broker, key)
    collector = Collector(watcher, SITE, GW)
    try:
        with serving(cfg) as gateway:
            wait_for(lambda: ("L-01", "r00") in collector.values, timeout=20, what="L-01")
            console.push(
                1,
                {
                    "profiles_dir": str(tmp_path / "profiles"),
                    "devices": [*first, _device("L-02", units.port, 2, profile)],
                },
            )
            wait_for(lambda: ("L-02", "r00") in collector.values, timeout=20, what="L-02")
        # stopped (drained): everything queued reached the broker — the queue file is
        # empty, nothing was dropped or failed to queue, and what the publisher sent is
        # what the broker delivered, each reading once in the store's view
        assert queue_depth(tmp_path / "q.sqlite") == 0
        assert gateway.queue_errors == 0
        stats = gateway.publisher.stats
        wait_for(
            lambda: sum(collector.key_counts().values()) >= stats.readings_sent,
            timeout=20,
            what="the last batches at the collector",
        )
        counts = collector.key_counts()
        assert max(counts.values()) == 1
        assert sum(counts.values()) == stats.readings_sent
        l01 = sorted({ts for eq, point, ts in counts if eq == "L-01" and point == "r00"})
        # L-01 was polled across the swap: its readings go on without a long hole
        gaps = [b - a for a, b in itertools.pairwise(l01)]
        assert gaps and max(gaps) < 5000, max(gaps)
    finally:
        collector.close()
        console.close()


def test_gateway_key_provisions_both_copies_once(tmp_path: Path) -> None:
    runner = CliRunner()
    args = ["gateway-key", str(tmp_path / "keys"), "demo", "gw-1"]
    done = runner.invoke(app, [*args, "--copy-to", str(tmp_path / "gw.key")])
    assert done.exit_code == 0, done.output
    console_copy = tmp_path / "keys" / "demo" / "gw-1.key"
    assert console_copy.read_text() == (tmp_path / "gw.key").read_text()
    assert console_copy.stat().st_mode & 0o077 == 0
    assert read_key(tmp_path / "gw.key") == read_key(console_copy)
    again = runner.invoke(app, args)
    assert again.exit_code == 2 and "never overwritten" in again.output
    bad = runner.invoke(app, ["gateway-key", str(tmp_path / "keys"), "demo", "a/b"])
    assert bad.exit_code == 2
    for reserved in ("alarms", "workorders", "deadletter", "config", "_mine"):  # review 21e L1
        bad = runner.invoke(app, ["gateway-key", str(tmp_path / "keys"), "demo", reserved])
        assert bad.exit_code == 2 and "names another topic family" in bad.output, bad.output
        assert not (tmp_path / "keys" / "demo" / f"{reserved}.key").exists()


def test_gateway_key_for_a_gateway_no_register_names_is_refused(tmp_path: Path) -> None:
    """Review 21e L6: a typo'd gateway id got a key no gateway would ever use. With the
    register at hand, a gateway none of its equipment names is refused unless --force."""
    site = tmp_path / "site.yaml"
    site.write_text(yaml.safe_dump(SITE_SPEC))
    runner = CliRunner()
    keys = str(tmp_path / "keys")
    refused = runner.invoke(app, ["gateway-key", keys, "demo", "gw-7", "--site-file", str(site)])
    assert refused.exit_code == 2, refused.output
    assert "names gateway gw-7" in refused.output and "gw-1" in refused.output, refused.output
    assert not (tmp_path / "keys" / "demo" / "gw-7.key").exists()
    forced = [*["gateway-key", keys, "demo", "gw-7", "--site-file", str(site)], "--force"]
    assert runner.invoke(app, forced).exit_code == 0
    named = runner.invoke(app, ["gateway-key", keys, "demo", "gw-1", "--site-file", str(site)])
    assert named.exit_code == 0, named.output
    assert (tmp_path / "keys" / "demo" / "gw-1.key").exists()


def test_a_key_readable_by_others_stops_the_gateway(tmp_path: Path) -> None:
    key = tmp_path / "fleet.key"
    write_key(key)
    key.chmod(0o644)
    with pytest.raises(ConfigError, match="readable by others"):
        read_key(key)


def test_a_gateway_stopped_while_it_tries_a_push_tries_it_again_at_start(
    tmp_path: Path, demo_broker: Server, units: ModbusUnits
) -> None:
    """A power cut mid-push: the version is not 'seen' until it was decided, so the retained
    message is tried again after the restart (it was dropped as 'the retained message again',
    and the page showed the old version applied forever)."""
    assert demo_broker.auth is not None
    profile = write_load_profile(tmp_path / "profiles")
    key_file = tmp_path / "fleet.key"
    key = bytes.fromhex(write_key(key_file))
    gw_settings = demo_broker.auth.settings(MqttSettings(port=demo_broker.port), "demo/gw-1")
    watcher = demo_broker.auth.settings(MqttSettings(port=demo_broker.port), "operator")
    fleet = {"key_file": str(key_file), "state_dir": str(tmp_path / "fleet"), "trial_polls": 40}
    first = [_device("L-01", units.port, 1, profile)]
    cfg = in_process_config(
        tmp_path, gw_settings, GW, site=SITE, devices=first,
        profiles_dir=str(tmp_path / "profiles"), status_interval_s=0.5, fleet=fleet,
    )  # fmt: skip
    silent = {
        "profiles_dir": str(tmp_path / "profiles"),
        "status_interval_s": 0.5,
        "devices": [_device("L-09", free_port(), 1, profile)],
    }
    console = Console(demo_broker, key)
    collector = Collector(watcher, SITE, GW)
    try:
        with serving(cfg):
            wait_for(lambda: ("L-01", "r00") in collector.values, timeout=20, what="L-01 polled")
            console.push(1, silent)
            wait_for(
                lambda: _config_state(collector).get("state") == "trial",
                timeout=20,
                what="version 1 on trial",
            )
        # stopped mid-trial (40 polls of a silent device take ~20 s): not decided, not seen
        assert not (tmp_path / "fleet" / "seen-version").exists()
        with serving(cfg):
            wait_for(  # decided now (which way depends on whether L-01 answered before)
                lambda: (
                    _config_state(collector).get("state") in ("applied", "rolled_back")
                    and (
                        _config_state(collector).get("version") == 1
                        or (_config_state(collector).get("rollback") or {}).get("version") == 1
                    )
                ),
                timeout=60,
                what="version 1 tried again and decided",
            )
        assert (tmp_path / "fleet" / "seen-version").read_text().strip() == "1"
    finally:
        collector.close()
        console.close()


# -- MQTT sensors on trial ----------------------------------------------------------------------
def _sensor(equipment: str, topic: str) -> dict[str, Any]:
    return {
        "equipment": equipment,
        "type": "temp_sensor",
        "building": "B1",
        "topic": topic,
        "points": {"temperature_c": "t"},
    }


class Publisher:
    """A sensor in the building: publishes a reading on `topic` every 0.2 s until closed."""

    def __init__(self, broker: Server, topic: str) -> None:
        self.account = Account(broker, "simulate")
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(topic,), daemon=True)
        self._thread.start()

    def _run(self, topic: str) -> None:
        while not self._stop.wait(0.2):
            self.account.client.publish(topic, b'{"t": 21.5}', qos=1)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(10)
        self.account.client.stop()


def _sensor_gateway(tmp_path: Path, broker: Server, **rest: Any) -> tuple[Any, bytes, MqttSettings]:
    assert broker.auth is not None
    write_load_profile(tmp_path / "profiles")
    key_file = tmp_path / "fleet.key"
    key = bytes.fromhex(write_key(key_file))
    gw_settings = broker.auth.settings(MqttSettings(port=broker.port), "demo/gw-1")
    watcher = broker.auth.settings(MqttSettings(port=broker.port), "operator")
    fleet = {
        "key_file": str(key_file),
        "state_dir": str(tmp_path / "fleet"),
        "trial_polls": 3,
        "trial_timeout_s": 4,
    }
    cfg = in_process_config(
        tmp_path, gw_settings, GW, site=SITE, profiles_dir=str(tmp_path / "profiles"),
        status_interval_s=0.5, fleet=fleet, **rest,
    )  # fmt: skip
    return cfg, key, watcher


def test_a_sensor_only_push_is_kept_only_when_a_sensor_message_arrives(
    tmp_path: Path, demo_broker: Server, units: ModbusUnits
) -> None:
    """Review 21b M7: a config whose only source is an MQTT sensor was 'answered' at once,
    though nothing published on its topic (the building went dark). Now its sensors are
    listened to for trial_timeout_s: silence rolls it back, a message keeps it."""
    profile = write_load_profile(tmp_path / "profiles")
    first = [_device("L-01", units.port, 1, profile)]
    cfg, key, watcher = _sensor_gateway(tmp_path, demo_broker, devices=first)
    pushable = {"profiles_dir": str(tmp_path / "profiles"), "status_interval_s": 0.5}
    nobody = live = SENSOR_TOPIC  # the one sensor topic the gateway's account may read
    console = Console(demo_broker, key)
    collector = Collector(watcher, SITE, GW)
    publisher: Publisher | None = None
    try:
        with serving(cfg) as gateway:
            wait_for(lambda: ("L-01", "r00") in collector.values, timeout=20, what="L-01 polled")
            # nobody publishes on the sensor's topic yet
            console.push(1, {**pushable, "devices": [], "mqtt_sensors": [_sensor("TS-09", nobody)]})
            wait_for(
                lambda: (_config_state(collector).get("rollback") or {}).get("version") == 1,
                timeout=30,
                what="the silent sensor-only version 1 rolled back",
            )
            state = _config_state(collector)
            assert state["state"] == "rolled_back" and state["version"] is None
            assert "no sensor message within 4 s" in state["rollback"]["reason"]
            assert state["rollback"]["message"]["key"] == "gateway.rollback.no_message"
            assert {p.device.equipment for p in gateway.pollers} == {"L-01"}
            assert gateway.cfg.mqtt_sensors == []

            publisher = Publisher(demo_broker, live)
            console.push(2, {**pushable, "devices": [], "mqtt_sensors": [_sensor("TS-01", live)]})
            wait_for(
                lambda: (
                    _config_state(collector).get("state") == "applied"
                    and _config_state(collector).get("version") == 2
                ),
                timeout=30,
                what="the sensor-only version 2 applied",
            )
            wait_for(
                lambda: ("TS-01", "temperature_c") in collector.values,
                timeout=20,
                what="TS-01's reading forwarded",
            )
            assert gateway.pollers == []
    finally:
        if publisher is not None:
            publisher.close()
        collector.close()
        console.close()


def test_a_push_right_after_start_waits_for_the_running_config_to_answer(
    tmp_path: Path, demo_broker: Server
) -> None:
    """A push waiting (retained) when the gateway starts was judged before the running
    configuration could answer: 'previous answered False', so a config that polls nothing
    reachable was kept. Now the running one's sensor is listened to first; it answers, so
    the silent push is rolled back and the sensor is listened to again."""
    live = SENSOR_TOPIC
    cfg, key, watcher = _sensor_gateway(
        tmp_path, demo_broker, mqtt_sensors=[_sensor("TS-01", live)]
    )
    profile = write_load_profile(tmp_path / "profiles")
    silent = {
        "profiles_dir": str(tmp_path / "profiles"),
        "status_interval_s": 0.5,
        "devices": [_device("L-09", free_port(), 1, profile)],
    }
    console = Console(demo_broker, key)
    collector = Collector(watcher, SITE, GW)
    publisher = Publisher(demo_broker, live)
    try:
        console.push(1, silent)  # retained: the gateway gets it as it connects
        with serving(cfg) as gateway:
            wait_for(
                lambda: (_config_state(collector).get("rollback") or {}).get("version") == 1,
                timeout=40,
                what="the silent version 1 rolled back",
            )
            assert _config_state(collector)["version"] is None
            assert gateway.pollers == [] and [s.equipment for s in gateway.cfg.mqtt_sensors] == [
                "TS-01"
            ]
            before = gateway.sensors.answered(["TS-01"])
            wait_for(
                lambda: gateway.sensors.answered(["TS-01"]) > before,
                timeout=20,
                what="TS-01 listened to again",
            )
    finally:
        publisher.close()
        collector.close()
        console.close()


def test_a_push_whose_devices_all_fail_is_rolled_back_though_its_sensor_delivers(
    tmp_path: Path, demo_broker: Server, units: ModbusUnits
) -> None:
    """Review 21c H2: on the demo's shape (devices and a live sensor) a push pointing every
    device at a dead port was 'applied' as soon as the sensor's next message came. Now a
    configuration with devices is judged by its devices; the sensor does not count."""
    live = SENSOR_TOPIC
    profile = write_load_profile(tmp_path / "profiles")
    first = [_device("L-01", units.port, 1, profile)]
    sensors = [_sensor("TS-01", live)]
    cfg, key, watcher = _sensor_gateway(tmp_path, demo_broker, devices=first, mqtt_sensors=sensors)
    dead = {
        "profiles_dir": str(tmp_path / "profiles"),
        "status_interval_s": 0.5,
        "devices": [_device("L-01", free_port(), 1, profile)],
        "mqtt_sensors": sensors,
    }
    console = Console(demo_broker, key)
    collector = Collector(watcher, SITE, GW)
    publisher = Publisher(demo_broker, live)
    try:
        with serving(cfg) as gateway:
            wait_for(lambda: ("L-01", "r00") in collector.values, timeout=20, what="L-01 polled")
            wait_for(
                lambda: ("TS-01", "temperature_c") in collector.values,
                timeout=20,
                what="TS-01's reading forwarded",
            )
            console.push(1, dead)
            wait_for(
                lambda: (
                    _config_state(collector).get("state") == "rolled_back"
                    or (
                        _config_state(collector).get("version") == 1
                        and _config_state(collector).get("state") == "applied"
                    )
                ),
                timeout=30,
                what="version 1 decided",
            )
            state = _config_state(collector)
            assert state["state"] == "rolled_back", state
            assert state["version"] is None and state["rollback"]["version"] == 1
            assert "no device answered within 3 polls" in state["rollback"]["reason"]
            assert [p.device.port for p in gateway.pollers] == [units.port]
    finally:
        publisher.close()
        collector.close()
        console.close()


def test_a_push_the_gateway_cannot_build_is_rolled_back_without_leaving_the_process(
    tmp_path: Path, demo_broker: Server, units: ModbusUnits
) -> None:
    """Review 21d H3: a pushed sensor broker whose CA file is missing on the Pi (or not a
    certificate) made building the configuration raise; the exception left the process,
    which restarted into the retained push and ended wedged (no readings, later pushes never
    taken). Now a configuration that cannot be built is a failed trial: the running one
    comes back, the push is rolled back with the error, and the next push is applied."""
    profile = write_load_profile(tmp_path / "profiles")
    first = [_device("L-01", units.port, 1, profile)]
    cfg, key, watcher = _sensor_gateway(tmp_path, demo_broker, devices=first)
    pushable = {"profiles_dir": str(tmp_path / "profiles"), "status_interval_s": 0.5}
    not_pem = tmp_path / "not-a-cert.crt"
    not_pem.write_text("not a certificate\n", encoding="utf-8")
    console = Console(demo_broker, key)
    collector = Collector(watcher, SITE, GW)
    try:
        with serving(cfg) as gateway:
            wait_for(lambda: ("L-01", "r00") in collector.values, timeout=20, what="L-01 polled")
            for version, ca_file in ((1, tmp_path / "missing.crt"), (2, not_pem)):
                own = {"host": "127.0.0.1", "port": demo_broker.port, "tls": True,
                       "ca_file": str(ca_file)}  # fmt: skip
                sensor = {**_sensor("TS-01", SENSOR_TOPIC), "mqtt": own}
                console.push(version, {**pushable, "devices": first, "mqtt_sensors": [sensor]})
                wait_for(
                    lambda v=version: (  # type: ignore[misc]
                        (_config_state(collector).get("rollback") or {}).get("version") == v
                    ),
                    timeout=30,
                    what=f"version {version} rolled back",
                )
                state = _config_state(collector)
                assert state["state"] == "rolled_back" and state["version"] is None
                assert (
                    "cannot apply it: mqtt_sensors.0.mqtt.ca_file " in state["rollback"]["reason"]
                )
                assert state["rollback"]["message"]["key"] == "gateway.rollback.failed"
                assert gateway.cfg.mqtt_sensors == []
                with collector.lock:
                    collector.values.pop(("L-01", "r00"), None)
                wait_for(
                    lambda: ("L-01", "r00") in collector.values,
                    timeout=20,
                    what="L-01 polled again",
                )
            console.push(3, {**pushable, "devices": first})  # the next push is taken
            wait_for(
                lambda: (
                    _config_state(collector).get("state") == "applied"
                    and _config_state(collector).get("version") == 3
                ),
                timeout=30,
                what="version 3 applied",
            )
    finally:
        collector.close()
        console.close()


def test_a_pushed_sensor_broker_ca_is_written_to_the_state_folder_and_used(
    tmp_path: Path, demo_broker: Server, units: ModbusUnits
) -> None:
    """Review 21d H3 (the console half): a push names no file on the Pi; it carries the
    sensor broker's CA itself (`ca_pem`), which the gateway writes into its fleet state
    folder (0600, named by its hash) and connects with: the sensor's readings arrive."""
    profile = write_load_profile(tmp_path / "profiles")
    first = [_device("L-01", units.port, 1, profile)]
    cfg, key, watcher = _sensor_gateway(tmp_path, demo_broker, devices=first)
    pushable = {"profiles_dir": str(tmp_path / "profiles"), "status_interval_s": 0.5}
    tls_home = tmp_path / "tls"
    tls_home.mkdir()
    console = Console(demo_broker, key)
    collector = Collector(watcher, SITE, GW)
    with start_tls_broker(tls_home) as sensor_broker:
        assert sensor_broker.ca_file is not None
        pem = sensor_broker.ca_file.read_text(encoding="utf-8")
        sensor_client = MqttClient(sensor_broker, client_id="t-tls-sensor")
        sensor_client.start()
        try:
            assert sensor_client.wait_connected(10)
            with serving(cfg) as gateway:
                wait_for(lambda: ("L-01", "r00") in collector.values, timeout=20, what="L-01")
                own = {"host": "127.0.0.1", "port": sensor_broker.port, "tls": True,
                       "ca_pem": pem}  # fmt: skip
                sensor = {**_sensor("TS-01", "building/TS-01"), "mqtt": own}
                console.push(1, {**pushable, "devices": first, "mqtt_sensors": [sensor]})
                wait_for(
                    lambda: (
                        _config_state(collector).get("version") == 1
                        and _config_state(collector).get("state") == "applied"
                    ),
                    timeout=30,
                    what="version 1 applied",
                )
                assert gateway.cfg.mqtt_sensors[0].mqtt is not None

                def delivered() -> bool:
                    sensor_client.publish("building/TS-01", b'{"t": 21.5}', qos=1)
                    return ("TS-01", "temperature_c") in collector.values

                wait_for(delivered, timeout=20, what="TS-01 read over TLS")
                digest = hashlib.sha256(pem.encode("utf-8")).hexdigest()
                written = tmp_path / "fleet" / "ca" / f"{digest}.pem"
                assert written.read_text(encoding="utf-8") == pem
                assert stat.S_IMODE(written.stat().st_mode) == 0o600
                assert stat.S_IMODE(written.parent.stat().st_mode) == 0o700
        finally:
            sensor_client.stop()
            collector.close()
            console.close()


BAD_PROFILE = """\
profile: beyond
equipment_type: load_test
points:
  - {name: r00, table: holding, address: 900, type: uint16}
"""


def test_a_push_that_silences_a_device_that_answered_is_rolled_back(
    tmp_path: Path, demo_broker: Server, units: ModbusUnits
) -> None:
    """Review 21d M1: the trial asked only whether any device answered, so a push breaking
    six of seven devices was kept. Now a device that answered before at the same address
    must answer again; one whose address the push changes (or a new one) need not."""
    profile = write_load_profile(tmp_path / "profiles")
    (tmp_path / "profiles" / "beyond.yaml").write_text(BAD_PROFILE, encoding="utf-8")
    first = [_device("L-01", units.port, 1, profile), _device("L-02", units.port, 2, profile)]
    cfg, key, watcher = _sensor_gateway(tmp_path, demo_broker, devices=first)
    pushable = {"profiles_dir": str(tmp_path / "profiles"), "status_interval_s": 0.5}
    console = Console(demo_broker, key)
    collector = Collector(watcher, SITE, GW)
    try:
        with serving(cfg) as gateway:
            wait_for(
                lambda: ("L-01", "r00") in collector.values and ("L-02", "r00") in collector.values,
                timeout=20,
                what="L-01 and L-02 polled",
            )
            # same address, a register map it does not have: L-02 stops answering
            broken = [first[0], _device("L-02", units.port, 2, "beyond")]
            console.push(1, {**pushable, "devices": broken})
            wait_for(
                lambda: (_config_state(collector).get("rollback") or {}).get("version") == 1,
                timeout=30,
                what="version 1 rolled back",
            )
            state = _config_state(collector)
            assert state["state"] == "rolled_back" and state["version"] is None
            assert "L-02 answered before" in state["rollback"]["reason"]
            assert state["rollback"]["message"]["key"] == "gateway.rollback.devices_silent"
            assert state["rollback"]["message"]["params"]["devices"] == "L-02"
            assert [p.device.profile for p in gateway.pollers] == [profile, profile]

            # L-02 moved to another unit (its address changed): not required to answer
            moved = [first[0], _device("L-02", units.port, 7, profile)]
            console.push(2, {**pushable, "devices": moved})
            wait_for(
                lambda: (
                    _config_state(collector).get("state") == "applied"
                    and _config_state(collector).get("version") == 2
                ),
                timeout=30,
                what="version 2 applied",
            )
    finally:
        collector.close()
        console.close()


class Mute:
    """A Modbus gateway box whose serial side is dead: it accepts TCP connections and never
    answers (review 21e H1's `silent.py`)."""

    def __init__(self) -> None:
        self.server = socket.socket()
        self.server.bind(("127.0.0.1", 0))
        self.server.listen(16)
        self.port = self.server.getsockname()[1]
        self.accepted: list[socket.socket] = []
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        with contextlib.suppress(OSError):
            while True:
                conn, _addr = self.server.accept()
                self.accepted.append(conn)

    def close(self) -> None:
        self.server.close()
        for conn in self.accepted:
            conn.close()


def test_a_push_whose_devices_never_answer_is_rolled_back_within_the_trial_time(
    tmp_path: Path, demo_broker: Server, units: ModbusUnits
) -> None:
    """Review 21e H1: the trial ended only when each device had failed `trial_polls` polls,
    so a day's poll interval (one failed poll, then a day's sleep) or a device that accepts
    and never answers with a long timeout (no poll ever ends) held the push on trial for
    good, polling nothing, with every later push waiting behind it and SIGTERM waiting on
    the hung read. Now the trial has its own time limit, and a poll in progress is cancelled
    within a bound when its pollers are stopped."""
    profile = write_load_profile(tmp_path / "profiles")
    first = [_device("L-01", units.port, 1, profile)]
    cfg, key, watcher = _sensor_gateway(tmp_path, demo_broker, devices=first)
    pushable = {"profiles_dir": str(tmp_path / "profiles"), "status_interval_s": 0.5}
    mute = Mute()
    slow = {**_device("L-01", free_port(), 1, profile), "poll_interval_s": 86400}
    hung = {**_device("L-01", mute.port, 1, profile), "poll_interval_s": 86400,
            "timeout_s": 100000, "retries": 0}  # fmt: skip
    console = Console(demo_broker, key)
    collector = Collector(watcher, SITE, GW)
    stopped_in: float | None = None
    try:
        with serving(cfg) as gateway:
            wait_for(lambda: ("L-01", "r00") in collector.values, timeout=20, what="L-01 polled")
            for version, device in ((1, slow), (2, hung)):
                begun = time.monotonic()
                console.push(version, {**pushable, "devices": [device]})
                wait_for(
                    lambda v=version: (  # type: ignore[misc]
                        (_config_state(collector).get("rollback") or {}).get("version") == v
                    ),
                    timeout=30,
                    what=f"version {version} rolled back",
                )
                took = time.monotonic() - begun
                assert took < 15, (version, took)  # the limit is 4 s; 86400 s before
                state = _config_state(collector)
                assert state["state"] == "rolled_back" and state["version"] is None
                assert "no device answered within 4 s" in state["rollback"]["reason"], state
                assert state["rollback"]["message"]["key"] == "gateway.rollback.timeout"
                assert [p.device.port for p in gateway.pollers] == [units.port]
            assert mute.accepted  # the hung device's connection was made (and never answered)
            # the trial no longer holds the lock: the next push is taken at once
            console.push(3, {**pushable, "devices": first})
            wait_for(
                lambda: (
                    _config_state(collector).get("state") == "applied"
                    and _config_state(collector).get("version") == 3
                ),
                timeout=30,
                what="version 3 applied",
            )
            # stopping while a device hangs in a read: the process stops within its bound
            console.push(4, {**pushable, "devices": [{**hung, "equipment": "L-05"}, *first]})
            wait_for(
                lambda: _config_state(collector).get("version") == 4,
                timeout=30,
                what="version 4 on trial",
            )
            wait_for(lambda: len(mute.accepted) >= 2, timeout=20, what="L-05 in its read")
            stopping = time.monotonic()
        stopped_in = time.monotonic() - stopping
    finally:
        collector.close()
        console.close()
        mute.close()
    assert stopped_in is not None and stopped_in < 15, stopped_in


def test_the_running_file_report_is_the_whole_pushable_config_without_secrets(
    tmp_path: Path,
) -> None:
    """Final review HIGH-1: the report the console's editor starts a first push from held only
    each device's place, unit, profile and interval — an unchanged push dropped the MQTT
    sensors (and the page offered to stop them) and reset every device's overrides. It is now
    the whole config a push may carry, without the sensor broker's password and CA file."""
    from types import SimpleNamespace

    from bldgwatch.core.config import parse_config
    from bldgwatch.gateway.config import GatewayConfig
    from bldgwatch.gateway.fleet import LOCAL_SECTIONS
    from bldgwatch.gateway.service import Gateway

    sensor = {
        **_sensor("TS-01", "b/ts-01"),
        "mqtt": {"host": "10.0.0.9", "username": "ts", "password": "s3cret", "tls": True,
                 "ca_file": str(tmp_path / "ca.pem")},
    }  # fmt: skip
    device = {**_device("P-01", 1502, 3, "pump-generic"), "order": "CDAB"}
    cfg = in_process_config(
        tmp_path, MqttSettings(), GW, site=SITE, devices=[device], mqtt_sensors=[sensor],
        status_interval_s=7,
    )  # fmt: skip
    running = Gateway._running_file(SimpleNamespace(cfg=cfg))  # type: ignore[arg-type]
    assert "s3cret" not in str(running) and "ca_file" not in str(running), running
    assert not set(running) & set(LOCAL_SECTIONS), running
    assert running["devices"][0]["timeout_s"] == 0.3 and running["devices"][0]["order"] == "CDAB"
    assert running["mqtt_sensors"][0]["equipment"] == "TS-01"
    # given the install's sections back (and the secrets, which stay on the box), it is the
    # running config itself
    local = cfg.model_dump(mode="json", include=set(LOCAL_SECTIONS))
    running["mqtt_sensors"][0]["mqtt"].update(password="s3cret", ca_file=str(tmp_path / "ca.pem"))
    assert parse_config({**local, **running}, GatewayConfig) == cfg


def test_a_push_keeps_the_installs_secret_for_a_sensor_broker_it_names() -> None:
    """Final review (second look): the running-file report leaves out a sensor broker's
    password and CA file (a push never carries them), so an unchanged first push connected
    the sensor without them — "Not authorized", the sensor silent, the push kept. The gateway
    now puts its own secrets back where the pushed broker section is the file's own but for
    them, and only there: not for another host or user, TLS off, or a CA the push brings."""
    local = {
        "mqtt_sensors": [
            {"equipment": "TS-01", "mqtt": {"host": "10.0.0.9", "port": 1883, "username": "ts",
                                            "password": "s3cret", "tls": True,
                                            "ca_file": "/etc/bldgwatch/ca.pem"}},
        ]
    }  # fmt: skip
    same = {"equipment": "TS-01", "mqtt": {"host": "10.0.0.9", "username": "ts", "tls": True}}
    other_host = {"equipment": "TS-02", "mqtt": {"host": "203.0.113.5", "username": "ts"}}
    other_user = {"equipment": "TS-03", "mqtt": {"host": "10.0.0.9", "username": "x"}}
    with_pem = {"equipment": "TS-04", "mqtt": {"host": "10.0.0.9", "username": "ts",
                                               "ca_pem": "PEM"}}  # fmt: skip
    plain = {"equipment": "TS-05", "mqtt": {"host": "10.0.0.9", "username": "ts"}}  # TLS off
    bad_port = {"host": "10.0.0.9", "port": "x", "username": "ts"}
    odd = [{"equipment": "TS-06", "mqtt": None}, {"equipment": "TS-07", "mqtt": [1]}, "junk",
           {"equipment": "TS-08", "mqtt": bad_port}]  # fmt: skip
    sensors = [same, other_host, other_user, with_pem, plain, *odd]
    merged = merge_local({"mqtt_sensors": sensors}, local)
    got = [s["mqtt"] if isinstance(s, dict) else s for s in merged["mqtt_sensors"]]
    assert got[0]["password"] == "s3cret" and got[0]["ca_file"] == "/etc/bldgwatch/ca.pem"
    assert "password" not in got[1] and "password" not in got[2]  # never to another broker
    assert "password" not in got[3]  # a CA of the push's own could intercept the TLS
    assert "password" not in got[4]  # nor in clear text where the install uses TLS
    assert got[5:] == [None, [1], "junk", odd[3]["mqtt"]]  # odd shapes left for the model
