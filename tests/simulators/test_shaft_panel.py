"""Shaft panel load profile, heating and shaft faults."""

from __future__ import annotations

import itertools
import random
import statistics
from datetime import timedelta

import pytest

from bldgwatch.simulators.devices import ShaftPanelModel
from bldgwatch.simulators.equipment import SimulatedEquipment
from tests.simulators.helpers import T0, last, num, run_for

MIDNIGHT = T0.replace(hour=0)


def make_panel(seed: int = 5, **params: float) -> SimulatedEquipment:
    model = ShaftPanelModel.build(start=MIDNIGHT, rng=random.Random(seed), params=params)
    return SimulatedEquipment("SP-01", model)


def test_daily_profile_follows_the_simulated_hour() -> None:
    panel = make_panel()
    by_hour: dict[int, list[dict[str, float]]] = {}
    energy: list[float] = []
    for now, v in run_for(panel, MIDNIGHT, 86_400, 60.0):
        by_hour.setdefault(now.hour, []).append({k: num(x) for k, x in v.items()})
        energy.append(num(v["energy_kwh"]))
    mean = {h: statistics.mean(s["current_l1_a"] for s in rows) for h, rows in by_hour.items()}
    assert mean[3] < 20 and mean[11] > 55
    assert mean[11] > 3 * mean[3]
    joint = {h: statistics.mean(s["joint_temp_c"] for s in rows) for h, rows in by_hour.items()}
    assert joint[12] > joint[5] + 5  # joints heat with I^2 and lag behind the load
    for rows in by_hour.values():
        for s in rows:
            assert 100 <= s["residual_current_ma"] <= 200
            amps = s["current_l1_a"] + s["current_l2_a"] + s["current_l3_a"]
            assert s["active_power_kw"] == pytest.approx(230 * amps * 0.92 / 1000, rel=1e-6)
            assert s["busbar_temp_c"] > s["ambient_temp_c"] - 0.5
    assert all(b >= a for a, b in itertools.pairwise(energy))
    power = statistics.mean(s["active_power_kw"] for rows in by_hour.values() for s in rows)
    assert energy[-1] - energy[0] == pytest.approx(power * 24, rel=0.05)


def test_leakage_rising_passes_300_ma_then_falls_back_after_repair() -> None:
    panel = make_panel()
    t = last(panel, MIDNIGHT, 600, 5.0)
    panel.start_fault("leakage_rising", {}, t)
    during = [num(v["residual_current_ma"]) for _n, v in run_for(panel, t, 60, 1.0)]
    assert during[-1] > 300
    assert during[-1] == pytest.approx(450, abs=30)
    t += timedelta(seconds=120)
    panel.step(t)
    panel.stop_fault("leakage_rising", t)
    after = [num(v["residual_current_ma"]) for _n, v in run_for(panel, t, 120, 1.0)]
    assert after[0] > 300 and after[-1] < 200  # decays, no jump


def test_joint_overheat_climbs_and_cools_after_repair() -> None:
    panel = make_panel()
    t = last(panel, MIDNIGHT, 600, 5.0)
    busbar = num(panel.values()["busbar_temp_c"])
    panel.start_fault("joint_overheat", {"rate_c_per_s": 1.0, "target_c": 90}, t)
    during = [v for _n, v in run_for(panel, t, 90, 1.0)]
    assert num(during[-1]["joint_temp_c"]) == pytest.approx(90, abs=0.5)
    assert num(during[-1]["busbar_temp_c"]) < busbar + 2
    t += timedelta(seconds=90)
    panel.stop_fault("joint_overheat", t)
    after = [num(v["joint_temp_c"]) for _n, v in run_for(panel, t, 1200, 5.0)]
    assert after[0] > 85 and after[-1] < 60
