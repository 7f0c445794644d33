"""Gateway config: the sample validates; bad configs name the device."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from bldgwatch.core.config import load_config, parse_config
from bldgwatch.core.errors import ConfigError
from bldgwatch.gateway.config import GatewayConfig

SAMPLE = Path(__file__).resolve().parents[2] / "gateway" / "sample.yaml"


def device(eq: str, port: int = 15020, **kw: Any) -> dict[str, Any]:
    return {
        "equipment": eq,
        "building": "B1",
        "profile": "pump-generic",
        "host": "127.0.0.1",
        "port": port,
        **kw,
    }


def test_sample_validates() -> None:
    cfg = load_config(SAMPLE, GatewayConfig)
    table = cfg.equipment_table(cfg.load_profiles())
    assert table["P-01"].type == "pump"
    assert table["TS-01"].type == "temp_sensor"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"devices": [device("P-01", profile="nope")]}, "device P-01: unknown profile 'nope'"),
        ({"devices": [device("P-01"), device("P-01", port=1)]}, "equipment P-01: duplicate"),
        (
            {"devices": [device("P-01"), device("P-02")]},
            "device P-02: 127.0.0.1:15020 unit 1 is already used by P-01",
        ),
        (
            {
                "devices": [device("P-01")],
                "mqtt_sensors": [
                    {
                        "equipment": "P-01",
                        "type": "t",
                        "building": "B1",
                        "topic": "x",
                        "points": {"a": "a"},
                    }
                ],
            },
            "equipment P-01: duplicate",
        ),
        ({"gateway_id": "gw/1"}, "gateway_id"),
        ({"devices": [device("P-01", colour="red")]}, "devices.0.colour"),
    ],
)
def test_bad_configs_name_the_problem(data: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_config({"site": "demo", "gateway_id": "gw-1", **data}, GatewayConfig)


def test_same_host_port_other_unit_is_fine() -> None:
    cfg = parse_config(
        {"site": "demo", "gateway_id": "gw-1", "devices": [device("P-01"), device("P-02", unit=2)]},
        GatewayConfig,
    )
    assert len(cfg.devices) == 2


def test_profiles_dir_overrides(tmp_path: Path) -> None:
    (tmp_path / "mine.yaml").write_text(
        "profile: my-meter\nequipment_type: meter\npoints:\n"
        "  - {name: kwh, table: input, address: 0, type: uint32}\n"
    )
    cfg = parse_config(
        {
            "site": "demo",
            "gateway_id": "gw-1",
            "profiles_dir": str(tmp_path),
            "devices": [device("M-01", profile="my-meter")],
        },
        GatewayConfig,
    )
    assert cfg.equipment_table(cfg.load_profiles())["M-01"].type == "meter"


@pytest.mark.parametrize(
    ("points", "message"),
    [
        (
            [{"name": "flow_m3h", "count": 1}],
            r"device P-01: .*point 'flow_m3h': float32 needs 2 registers, got 1",
        ),
        (
            [{"name": "extra", "table": "input", "address": 5, "type": "uint16"}],
            r"device P-01: .*point 'extra' at input 5 overlaps 'flow_m3h'",
        ),
        (
            [{"name": "r", "table": "input", "address": 30, "type": "int64"}, {"name": "r"}],
            r"device P-01: point 'r' is overridden twice",
        ),
        (
            [{"name": "bearing_temp_c", "enabled": True}, {"name": "x", "type": "uint16"}],
            r"device P-01: point 'x' is not in the profile, so it needs table, address",
        ),
        (
            [{"name": "rated_current_a", "address": 0, "table": "input", "type": "uint16"}],
            r"device P-01: .*'rated_current_a' at input 0 overlaps 'motor_current_a'",
        ),
        ([{"name": "ghost", "enabled": False}], r"device P-01: point 'ghost' is not in profile"),
    ],
)
def test_register_map_mistakes_name_device_and_point(
    points: list[dict[str, Any]], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_config(
            {"site": "demo", "gateway_id": "gw-1", "devices": [device("P-01", points=points)]},
            GatewayConfig,
        )


def test_duplicate_equipment_across_tcp_and_rtu() -> None:
    rtu = {
        "equipment": "P-01",
        "building": "B1",
        "profile": "pump-generic",
        "serial_port": "bus1",
        "unit": 3,
    }
    with pytest.raises(ConfigError, match="equipment P-01: duplicate"):
        parse_config(
            {
                "site": "demo",
                "gateway_id": "gw-1",
                "serial_ports": [{"name": "bus1", "device": "/dev/ttyUSB0"}],
                "devices": [device("P-01"), rtu],
            },
            GatewayConfig,
        )
    with pytest.raises(ConfigError, match="device P-01: unknown serial_port 'bus1'"):
        parse_config({"site": "demo", "gateway_id": "gw-1", "devices": [rtu]}, GatewayConfig)
    with pytest.raises(ConfigError, match=r"either host .* or serial_port"):
        parse_config(
            {"site": "demo", "gateway_id": "gw-1", "devices": [{**rtu, "host": "h"}]},
            GatewayConfig,
        )


def test_overrides_change_add_and_drop_points() -> None:
    cfg = parse_config(
        {
            "site": "demo",
            "gateway_id": "gw-1",
            "devices": [
                device(
                    "P-01",
                    order="ABCD",
                    points=[
                        {"name": "flow_m3h", "scale": 0.5, "type": "int32", "order": "DCBA"},
                        {"name": "energy", "table": "input", "address": 20, "type": "float64"},
                        {"name": "big", "table": "input", "address": 24, "type": "int64"},
                        {
                            "name": "serial",
                            "table": "holding",
                            "address": 10,
                            "type": "string",
                            "count": 4,
                        },
                        {"name": "alarm", "table": "coil", "address": 0, "type": "bool"},
                        {"name": "tripped", "enabled": False},
                    ],
                )
            ],
        },
        GatewayConfig,
    )
    profile = cfg.devices[0].effective_profile(cfg.load_profiles())
    assert profile.order.value == "ABCD"
    flow = profile.spec("flow_m3h")
    assert (flow.type.value, flow.scale, flow.order.value if flow.order else None) == (
        "int32",
        0.5,
        "DCBA",
    )
    assert profile.spec("energy").width == 4 and profile.spec("serial").width == 4
    names = {s.name for s in profile.points}
    assert "tripped" not in names and {"alarm", "big"} <= names


def test_the_cli_stops_at_start_naming_device_and_point(tmp_path: Path) -> None:
    bad = {
        "site": "demo",
        "gateway_id": "gw-1",
        "devices": [device("P-02", points=[{"name": "flow_m3h", "count": 1}])],
    }
    config = tmp_path / "gw.yaml"
    config.write_text(yaml.safe_dump(bad))
    done = subprocess.run(
        [str(Path(sys.executable).parent / "bldgwatch"), "gateway", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "device P-02" in done.stderr and "'flow_m3h': float32 needs 2 registers, got 1" in (
        done.stderr
    )


def _check(config: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            str(Path(sys.executable).parent / "bldgwatch"),
            "gateway",
            "--check",
            "--config",
            str(config),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_check_validates_and_exits_without_connecting_queueing_or_polling(tmp_path: Path) -> None:
    """Review 21e M5: `bldgwatch gateway --check` reads the config, its profiles and its
    fleet key and exits (0, or 2 naming what is wrong); it connects to neither the broker nor
    a device and opens no queue (the upgrade step of docs/gateway.md runs it beside the
    running gateway)."""
    listener = socket.create_server(("127.0.0.1", 0))  # the broker and the device: both here
    listener.setblocking(False)
    port = listener.getsockname()[1]
    key = tmp_path / "fleet.key"
    key.write_text("ab" * 32)
    key.chmod(0o600)
    queue = tmp_path / "queue.sqlite"
    good = {
        "site": "demo",
        "gateway_id": "gw-1",
        "mqtt": {"host": "127.0.0.1", "port": port},
        "queue": {"path": str(queue)},
        "fleet": {"key_file": str(key), "state_dir": str(tmp_path / "fleet")},
        "devices": [device("P-01", port=port)],
    }
    config = tmp_path / "gw.yaml"
    config.write_text(yaml.safe_dump(good))
    try:
        done = _check(config)
        assert done.returncode == 0, done.stderr
        assert "config of demo/gw-1: 1 devices" in done.stdout
        assert "runs this file's" in done.stdout
        with pytest.raises(BlockingIOError):  # nobody knocked
            listener.accept()
        assert not queue.exists() and not (tmp_path / "fleet").exists()

        config.write_text(yaml.safe_dump({**good, "devices": [device("P-01", profile="nope")]}))
        done = _check(config)
        assert done.returncode == 2 and "nope" in done.stderr, done.stderr

        key.chmod(0o644)
        config.write_text(yaml.safe_dump(good))
        done = _check(config)
        assert done.returncode == 2 and "readable by others" in done.stderr, done.stderr
        with pytest.raises(BlockingIOError):
            listener.accept()
        assert not queue.exists()
    finally:
        listener.close()
