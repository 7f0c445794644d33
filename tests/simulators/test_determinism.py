"""Same seed and same step times give the same values; another seed does not."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from bldgwatch.core.config import parse_config
from bldgwatch.core.models import Value
from bldgwatch.simulators.config import SimulatorConfig
from bldgwatch.simulators.simulation import Simulation
from tests.simulators.helpers import T0


def config(seed: int) -> SimulatorConfig:
    data: dict[str, Any] = {
        "seed": seed,
        "devices": [
            {"equipment": "P-01", "kind": "pump", "profile": "pump-generic", "port": 15020},
            {"equipment": "E-01", "kind": "elevator", "profile": "elevator-generic", "port": 15021},
            {
                "equipment": "SP-01",
                "kind": "shaft_panel",
                "profile": "shaft-panel-generic",
                "port": 15022,
            },
        ],
        "sensors": [{"equipment": "TS-01", "kind": "temp_sensor", "topic": "s/TS-01"}],
        "faults": [{"equipment": "P-01", "fault": "bearing_overheat", "at_s": 30}],
    }
    return parse_config(data, SimulatorConfig)


def trace(seed: int) -> list[dict[str, dict[str, Value]]]:
    sim = Simulation.from_config(config(seed), start=T0)
    out = []
    for i in range(1, 601):
        sim.step(T0 + timedelta(seconds=i * 0.2))
        out.append({name: eq.values() for name, eq in sim.equipment.items()})
    return out


def test_same_seed_same_values() -> None:
    assert trace(7) == trace(7)


def test_other_seed_other_values() -> None:
    a, b = trace(7)[-1], trace(8)[-1]
    assert a["P-01"] != b["P-01"] and a["TS-01"] != b["TS-01"]


def test_equipment_noise_does_not_depend_on_the_other_equipment() -> None:
    cfg = config(7)
    alone = parse_config(
        {"seed": 7, "sensors": [s.model_dump() for s in cfg.sensors]}, SimulatorConfig
    )
    sim_all, sim_one = (
        Simulation.from_config(cfg, start=T0),
        Simulation.from_config(alone, start=T0),
    )
    for i in range(1, 200):
        sim_all.step(T0 + timedelta(seconds=i))
        sim_one.step(T0 + timedelta(seconds=i))
    assert sim_all.equipment["TS-01"].values() == sim_one.equipment["TS-01"].values()
