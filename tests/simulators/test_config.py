"""SimulatorConfig validation: every bad item is named."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bldgwatch.core.config import load_config, parse_config
from bldgwatch.core.errors import ConfigError
from bldgwatch.simulators.config import SimulatorConfig

SAMPLE = Path(__file__).resolve().parents[2] / "simulators" / "sample.yaml"


def base() -> dict[str, Any]:
    return {
        "site": "demo",
        "devices": [
            {"equipment": "P-01", "kind": "pump", "profile": "pump-generic", "port": 15020},
            {
                "equipment": "E-01",
                "kind": "elevator",
                "profile": "elevator-generic",
                "port": 15020,
                "unit": 2,
            },
        ],
        "sensors": [{"equipment": "TS-01", "kind": "temp_sensor", "topic": "sensors/demo/TS-01"}],
        "faults": [{"equipment": "P-01", "fault": "bearing_overheat", "at_s": 10}],
    }


def test_sample_validates() -> None:
    cfg = load_config(SAMPLE, SimulatorConfig)
    assert {d.kind for d in cfg.devices} == {"pump", "elevator", "shaft_panel", "water_meter"}
    assert cfg.faults[0].fault == "bearing_overheat"


def test_defaults() -> None:
    cfg = parse_config(base(), SimulatorConfig)
    assert (cfg.seed, cfg.speed, cfg.step_s, cfg.ground_truth) == (42, 1.0, 0.2, None)
    assert cfg.devices[0].host == "127.0.0.1" and cfg.devices[0].unit == 1
    assert cfg.sensors[0].interval_s == 2.0 and cfg.faults[0].duration_s is None


def _set(path: str, value: Any) -> dict[str, Any]:
    data = base()
    *parents, leaf = path.split(".")
    node: Any = data
    for part in parents:
        node = node[int(part)] if part.isdigit() else node[part]
    node[int(leaf) if leaf.isdigit() else leaf] = value
    return data


CASES = [
    (_set("devices.0.kind", "pumpp"), "unknown Modbus device kind 'pumpp'"),
    (_set("devices.0.profile", "nope"), "device P-01: unknown profile 'nope'"),
    (_set("devices.0.profile", "elevator-generic"), "profile elevator-generic is for a elevator"),
    (_set("devices.0.params", {"rated_current_a": -1}), "device P-01: bad params"),
    (_set("devices.0.params", {"colour": 1}), "device P-01: bad params: colour"),
    (_set("devices.1.unit", 1), "devices P-01 and E-01 both use 127.0.0.1:15020 unit 1"),
    (_set("devices.1.equipment", "P-01"), "duplicate equipment id 'P-01'"),
    (_set("sensors.0.equipment", "E-01"), "duplicate equipment id 'E-01'"),
    (_set("sensors.0.kind", "pump"), "unknown sensor kind 'pump'"),
    (_set("sensors.0.topic", "sensors/#"), "not a topic one can publish on"),
    (_set("faults.0.fault", "gremlins"), "unknown fault 'gremlins'"),
    (_set("faults.0.equipment", "X-9"), "faults[0] (bearing_overheat on X-9): unknown equipment"),
    (_set("faults.0.equipment", "E-01"), "bearing_overheat does not apply to a elevator"),
    (
        _set("faults.0.params", {"rate_c_per_s": 0}),
        "faults[0] (bearing_overheat on P-01): bad params",
    ),
    (_set("site", "a/b"), "site 'a/b' is not a valid topic level"),
    (_set("speed", 0), "speed"),
    (_set("mqtt", {"port": 0}), "mqtt.port"),
]


@pytest.mark.parametrize(("data", "message"), CASES)
def test_bad_configs_name_the_item(data: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse_config(data, SimulatorConfig)
    assert message in str(err.value)
