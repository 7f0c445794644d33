"""Gateway config: the sample validates; bad configs name the device."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from core.config import load_config, parse_config
from core.errors import ConfigError
from gateway.config import GatewayConfig

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
