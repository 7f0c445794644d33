"""Pump physics and pump faults, driven by explicit simulated times."""

from __future__ import annotations

import itertools
import random
import statistics
from datetime import datetime, timedelta

import pytest

from bldgwatch.core.models import Value
from bldgwatch.core.pumps import EnergyTally, electrical_kw
from bldgwatch.simulators.devices import PumpModel
from bldgwatch.simulators.equipment import SimulatedEquipment
from tests.simulators.helpers import T0, last, num, run_for


def make_pump(seed: int = 1, **params: float) -> SimulatedEquipment:
    return SimulatedEquipment(
        "P-01", PumpModel.build(start=T0, rng=random.Random(seed), params=params)
    )


def test_healthy_pump_cycles_on_pressure_and_stays_in_healthy_ranges() -> None:
    pump = make_pump()
    samples = [values for _now, values in run_for(pump, T0, 3600, 1.0)]
    running = [v for v in samples if v["running"]]
    assert 0.3 < len(running) / len(samples) < 0.98  # a duty cycle, not always on or off
    assert num(samples[-1]["start_count"]) > num(samples[0]["start_count"])
    assert all(2.0 < num(v["outlet_pressure_bar"]) < 5.5 for v in samples)
    assert all(0.5 < num(v["vibration_mm_s"]) < 2.5 for v in running)
    assert all(40.0 <= num(v["bearing_temp_c"]) <= 60.0 for v in samples)
    assert all(10.0 < num(v["motor_current_a"]) <= 30.0 for v in running)
    assert all(num(v["flow_m3h"]) > 10.0 for v in running)
    assert all(
        v["motor_current_a"] == 0.0 and v["flow_m3h"] == 0.0 for v in samples if not v["running"]
    )
    assert not any(v["tripped"] for v in samples)
    hours = num(samples[-1]["run_hours"]) - num(samples[0]["run_hours"])
    assert hours == pytest.approx(len(running) / 3600, abs=0.01)


def test_bearing_overheat_passes_85_within_30_s_and_cools_first_order_after_stop() -> None:
    pump = make_pump()
    t = last(pump, T0, 120, 0.2)
    start_temp = num(pump.values()["bearing_temp_c"])
    pump.start_fault("bearing_overheat", {}, t)
    temps = [num(v["bearing_temp_c"]) for _n, v in run_for(pump, t, 30, 0.2)]
    assert temps[-1] > 85.0
    assert temps[-1] == pytest.approx(min(110.0, start_temp + 60.0), abs=0.5)
    assert all(b >= a for a, b in itertools.pairwise(temps))
    t += timedelta(seconds=60)
    pump.step(t)
    hot = num(pump.values()["bearing_temp_c"])
    assert hot == pytest.approx(110.0, abs=0.5)
    episode = pump.stop_fault("bearing_overheat", t)
    assert episode is not None and episode.end == t
    after = [num(v["bearing_temp_c"]) for _n, v in run_for(pump, t, 1800, 1.0)]
    assert hot - after[0] < 1.0  # no jump back: it cools
    assert after[59] < hot and after[599] < after[59] and after[-1] < after[599]
    assert after[-1] < 80.0


def test_bearing_overheat_raises_vibration_a_bit() -> None:
    pump = make_pump(demand_m3h=80.0)  # demand above what the pump gives: it never stops
    t = last(pump, T0, 60, 1.0)
    before = [num(v["vibration_mm_s"]) for _n, v in run_for(pump, t, 60, 1.0)]
    t += timedelta(seconds=60)
    pump.start_fault("bearing_overheat", {"rate_c_per_s": 5.0}, t)
    during = [v for _n, v in run_for(pump, t, 60, 1.0)][-20:]
    assert all(v["running"] for v in during)
    rise = statistics.mean(num(v["vibration_mm_s"]) for v in during) - statistics.mean(before)
    assert 1.0 < rise < 2.0


def test_dry_running_runs_with_no_flow_and_low_current() -> None:
    pump = make_pump()
    t = last(pump, T0, 60, 1.0)
    pump.start_fault("dry_running", {}, t)
    samples = [v for _n, v in run_for(pump, t, 120, 1.0)][5:]
    assert all(v["running"] for v in samples)
    assert all(v["flow_m3h"] == 0.0 for v in samples)
    assert all(num(v["motor_current_a"]) < 0.4 * 30.0 for v in samples)
    pump.stop_fault("dry_running", t + timedelta(seconds=120))
    assert any(
        num(v["flow_m3h"]) > 10 for _n, v in run_for(pump, t + timedelta(seconds=120), 600, 1.0)
    )


def test_overload_draws_more_than_rated_current_and_heats_the_winding() -> None:
    pump = make_pump(rated_current_a=20.0)
    t = last(pump, T0, 60, 1.0)
    winding_before = num(pump.values()["winding_temp_c"])
    pump.start_fault("overload", {"factor": 1.4}, t)
    samples = [v for _n, v in run_for(pump, t, 900, 1.0)]
    assert all(v["running"] and num(v["motor_current_a"]) > 20.0 for v in samples)
    assert num(samples[-1]["winding_temp_c"]) > winding_before + 10


def test_bearing_wear_rises_over_weeks_on_average() -> None:
    pump = make_pump(demand_m3h=30.0)
    pump.start_fault("bearing_wear", {}, T0)
    vib_means, temp_means = [], []
    for day in range(0, 22, 3):
        start = T0 + timedelta(days=day)
        pump.step(start)
        window = [v for _n, v in run_for(pump, start, 3600, 30.0)]
        vib_means.append(statistics.mean(num(v["vibration_mm_s"]) for v in window if v["running"]))
        temp_means.append(statistics.mean(num(v["bearing_temp_c"]) for v in window))
    assert all(b > a for a, b in itertools.pairwise(vib_means))
    assert all(b > a for a, b in itertools.pairwise(temp_means))
    assert vib_means[-1] > 4.5  # ISO 10816 class I zone D after three weeks at the default rate
    assert temp_means[-1] > temp_means[0] + 15


def test_faults_of_another_kind_are_refused() -> None:
    from bldgwatch.simulators.errors import FaultError

    pump = make_pump()
    with pytest.raises(FaultError, match="does not apply"):
        pump.start_fault("entrapment", {}, T0)
    with pytest.raises(FaultError, match="bad params"):
        pump.start_fault("bearing_overheat", {"rate_c_per_s": -1}, T0)
    with pytest.raises(FaultError, match="unknown fault"):
        pump.start_fault("gremlins", {}, T0)
    pump.start_fault("overload", {}, T0)
    with pytest.raises(FaultError, match="already active"):
        pump.start_fault("overload", {}, T0)


def _specific_energy(pump: SimulatedEquipment, start: datetime, seconds: float) -> float:
    """kWh/m³ over `seconds` sampled every 10 s (input power from the motor current)."""
    tally = EnergyTally()
    pump.step(start)
    for now, v in run_for(pump, start, seconds, 10.0):
        ms = int(now.timestamp() * 1000)
        tally.add(ms, power_kw=electrical_kw(num(v["motor_current_a"]), {}))
        tally.add(ms, flow_m3h=num(v["flow_m3h"]))
    specific = tally.specific()
    assert specific is not None
    return specific


def test_a_worn_impeller_pumps_less_for_the_same_power() -> None:
    sound = make_pump(seed=3)
    worn = make_pump(seed=3)
    worn.start_fault("impeller_wear", {"initial_share": 0.2, "share_per_day": 0.0}, T0)
    sound_v = [v for _n, v in run_for(sound, T0, 1800, 1.0) if v["running"]]
    worn_v = [v for _n, v in run_for(worn, T0, 1800, 1.0) if v["running"]]

    # Less flow at the same outlet pressure; about the same current.
    def flow_at(samples: list[dict[str, Value]]) -> float:
        return statistics.mean(num(v["flow_m3h"]) for v in samples)

    assert flow_at(worn_v) < 0.9 * flow_at(sound_v)
    assert max(num(v["outlet_pressure_bar"]) for v in worn_v) < 4.8  # a lower shut-off head
    # Specific energy rises as wear grows over the days (default 2 % a day).
    pump = make_pump(seed=4)
    pump.start_fault("impeller_wear", {}, T0)
    daily = [_specific_energy(pump, T0 + timedelta(days=d), 3600) for d in (0, 5, 10)]
    assert daily[0] < daily[1] < daily[2]
    assert daily[2] > 1.15 * daily[0]
