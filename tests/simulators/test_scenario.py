"""Scenarios: shipped files, expansion, determinism, offline history and ground truth, CLI."""

from __future__ import annotations

import csv
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest

from bldgwatch.core.config import parse_config
from bldgwatch.core.errors import ConfigError
from bldgwatch.simulators.life import Stage
from bldgwatch.simulators.offline import HISTORY_HEADER, run_offline
from bldgwatch.simulators.scenario import Scenario, expand, lives, load_scenario, site_configs

SCENARIOS = Path(__file__).resolve().parents[2] / "simulators" / "scenarios"
START = datetime(2026, 11, 27, tzinfo=UTC)
BLDGWATCH = Path(sys.executable).with_name("bldgwatch")


def scenario(name: str) -> Scenario:
    return load_scenario(SCENARIOS / f"{name}.yaml")


def small(**changes: Any) -> Scenario:
    data: dict[str, Any] = {
        "scenario": "t",
        "seed": 3,
        "classes": {
            "lift": {
                "kind": "elevator",
                "profile": "elevator-generic",
                "prefix": "E",
                "failure_faults": ["power_loss", "door_lock_open"],
                "life": {"random_per_year": 5.0},
            },
            "pump": {"kind": "pump", "profile": "pump-generic", "prefix": "P"},
            "room": {"kind": "temp_sensor", "prefix": "T"},
        },
        "sites": [
            {
                "site": "a",
                "buildings": [
                    {"id": "A1", "counts": {"lift": 2, "pump": 1, "room": 1}},
                    {"id": "A2", "equipment": [{"id": "X-1", "asset_class": "pump"}]},
                ],
            },
            {"site": "b", "generate": {"count": 3, "counts": {"pump": 2}}},
        ],
        **changes,
    }
    return parse_config(data, Scenario)


def test_shipped_scenarios_have_the_promised_sizes() -> None:
    demo, portfolio, lifecycle = scenario("demo"), scenario("portfolio"), scenario("lifecycle")
    assert len({a.building for a in expand(demo)}) == 1
    assert demo.random_faults is not None and demo.random_faults.every_s <= 300
    assets = expand(portfolio)
    assert len({a.building for a in assets}) >= 50 and len(assets) >= 1000
    assert lifecycle.mode == "offline" and 300 <= len(expand(lifecycle)) <= 600


def test_expansion_ids_ports_and_units() -> None:
    assets = expand(small(base_port=20000))
    ids = [a.equipment for a in assets]
    assert ids == ["A1-E01", "A1-E02", "A1-P01", "A1-T01", "X-1"] + [
        f"B{b:02d}-P{p:02d}" for b in (1, 2, 3) for p in (1, 2)
    ]
    by_id = {a.equipment: a for a in assets}
    assert (by_id["A1-E01"].port, by_id["A1-E01"].unit) == (20000, 1)
    assert (by_id["A1-P01"].port, by_id["A1-P01"].unit) == (20000, 3)
    assert (by_id["X-1"].port, by_id["X-1"].unit) == (20001, 1)
    assert (by_id["B03-P02"].port, by_id["B03-P02"].unit) == (20004, 2)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"faults": [{"equipment": "NOPE", "fault": "silent"}]}, "unknown equipment"),
        ({"sites": [{"site": "a", "buildings": [{"id": "Z", "counts": {"x": 1}}]}]}, "class"),
        (
            {"sites": [{"site": "a", "generate": {"count": 1, "counts": {"pump": 248}}}]},
            "more than 247",
        ),
    ],
)
def test_bad_scenarios_name_the_problem(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        small(**changes)


def test_same_seed_same_fleet_lives_and_faults() -> None:
    def snapshot(seed: int) -> tuple[object, ...]:
        scn = small(
            seed=seed, random_faults={"every_s": 60, "duration_s": 30, "faults": ["silent"]}
        )
        life = lives(scn, START)
        configs = site_configs(scn, START, life, None)
        events = [(k, [(e.event, e.at) for e in v.events]) for k, v in life.items()]
        return events, [c.model_dump() for c in configs]

    assert snapshot(5) == snapshot(5)
    assert snapshot(5) != snapshot(6)


def test_site_configs_serve_each_site_with_its_own_faults() -> None:
    scn = small(life_days=60)
    life = lives(scn, datetime(2027, 1, 1, tzinfo=UTC))
    a, b = site_configs(scn, START, life, None)
    assert (a.site, b.site) == ("a", "b")
    assert [d.equipment for d in a.devices] == ["A1-E01", "A1-E02", "A1-P01", "X-1"]
    assert [s.topic for s in a.sensors] == ["sensors/a/A1-T01"]
    life_faults = [f for f in a.faults if f.equipment.startswith("A1-E")]
    assert life_faults  # 5 random failures a year over 60 days on two lifts
    assert {f.fault for f in life_faults} <= {"power_loss", "door_lock_open"}
    assert all(f.duration_s == 8 * 3600 for f in life_faults)
    assert not b.faults


def test_offline_run_writes_history_and_truth(tmp_path: Path) -> None:
    scn = small(history_until=START)
    history, truth = tmp_path / "h.csv", tmp_path / "t.jsonl"
    summary = run_offline(scn, now=START, ground_truth=truth, history=history)
    with history.open() as f:
        rows = list(csv.reader(f))
    assert tuple(rows[0]) == HISTORY_HEADER and len(rows) - 1 == summary.events
    assert {r[2] for r in rows[1:]} <= {"installed", "failure", "overhaul", "replaced"}
    assert sum(r[2] == "installed" for r in rows[1:]) == summary.equipment == 11
    assert all(r[3].endswith("Z") and r[3] <= "2026-11-27" for r in rows[1:])
    assert [r[3] for r in rows[1:]] == sorted(r[3] for r in rows[1:])
    lines = [orjson.loads(line) for line in truth.read_bytes().splitlines()]
    assert len(lines) == summary.failures == sum(r[2] == "failure" for r in rows[1:])
    life = lives(scn, START)
    for line in lines:
        at = datetime.fromisoformat(line["start"])
        assert line["stage"] == life[line["equipment"]].true_stage(at).value
        assert line["end"] > line["start"]
    assert {line["stage"] for line in lines} <= {s.value for s in Stage}


def test_cli_offline_lifecycle_runs_in_seconds(tmp_path: Path) -> None:
    history, truth = tmp_path / "life.csv", tmp_path / "truth.jsonl"
    done = subprocess.run(
        [
            str(BLDGWATCH),
            "simulate",
            "--scenario",
            str(SCENARIOS / "lifecycle.yaml"),
            "--history",
            str(history),
            "--ground-truth",
            str(truth),
        ],
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    rows = history.read_text().splitlines()
    assert rows[0] == "asset_id,asset_class,event,at"
    events = [row.split(",")[2] for row in rows[1:]]
    assert events.count("installed") == 600
    assert events.count("overhaul") > 0 and events.count("replaced") > 0
    stages = {orjson.loads(line)["stage"] for line in truth.read_bytes().splitlines()}
    assert stages == {"early", "mid", "late"}


@pytest.mark.parametrize(
    "args",
    [
        ["--scenario", "/nonexistent.yaml"],
        [],
        ["--config", "simulators/sample.yaml", "--history", "x.csv"],
    ],
)
def test_cli_rejects_bad_invocations_with_exit_2(args: list[str]) -> None:
    done = subprocess.run(
        [str(BLDGWATCH), "simulate", *args], capture_output=True, timeout=60, check=False
    )
    assert done.returncode == 2, done.stderr
    assert b"error" in done.stderr


def test_a_class_failure_fault_must_fit_its_kind() -> None:
    pump: dict[str, Any] = {"kind": "pump", "profile": "pump-generic", "prefix": "P"}
    classes = {"pump": {**pump, "failure_faults": ["power_loss"]}}
    with pytest.raises(ConfigError, match="does not apply to a pump"):
        small(classes=classes, sites=[{"site": "a", "buildings": [{"id": "A"}]}])
