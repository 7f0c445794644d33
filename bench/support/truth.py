"""The truth run: the simulator in-process with scheduled faults, into the rules engine; the
alarms scored against the simulator's episodes.

No MQTT: every `step_s` the simulated equipment is stepped on a ManualClock, what each device
reports becomes readings (as a gateway polling every step would publish them), the engine
evaluates them and ticks, and every `activate` event is an alarm. The simulator's episodes
are the ground truth (`rules.detection` scores against them). `OBSERVABLE` says when the
simulator's own values first show each fault. Shared by bench/rules.py and
tests/rules/test_truth.py (bench/ imports nothing from tests/).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine

from bldgwatch.core.clock import ManualClock, to_epoch_ms
from bldgwatch.core.models import AlarmEvent, Quality, Reading
from bldgwatch.rules.alarms import Transition
from bldgwatch.rules.detection import RaisedAlarm, Score, TruthEpisode, score
from bldgwatch.rules.engine import RulesEngine
from bldgwatch.rules.evaluator import Equipment
from bldgwatch.rules.schema import Rule
from bldgwatch.rules.store import AlarmStore
from bldgwatch.simulators.config import ScheduledFault
from bldgwatch.simulators.devices import MODELS
from bldgwatch.simulators.equipment import Episode, SimulatedEquipment
from bldgwatch.simulators.simulation import Simulation, equipment_rng


@dataclass(frozen=True, slots=True)
class Device:
    """One simulated device and how the rules know it."""

    equipment: Equipment
    model_params: dict[str, float] = field(default_factory=dict)


@dataclass(slots=True)
class TruthRun:
    """The outcome of one run."""

    episodes: list[TruthEpisode]
    alarms: list[RaisedAlarm]
    readings: int
    until: datetime
    events: list[AlarmEvent] = field(default_factory=list)  # every transition, in order

    def score(self, grace: timedelta = timedelta(seconds=30)) -> Score:
        """Recall, precision, latencies."""
        return score(self.episodes, self.alarms, until=self.until, grace=grace)


def readings_of(equipment: str, values: dict[str, Any], ts_ms: int) -> list[Reading]:
    """What a gateway publishes for one poll of a device."""
    return [
        Reading(equipment, point, ts_ms, float(value), Quality.GOOD)
        for point, value in values.items()
        if isinstance(value, int | float)
    ]


Observable = Callable[[dict[str, Any], dict[str, Any], float], bool]
"""(device values, fault params, seconds since the fault began) -> the signals show it now."""

# The truth runs' elevators: rated 1.75 m/s, top landing 35.2 m up.
RATED_SPEED = 1.75
TOP_M = 35.2


def _edge(values: dict[str, Any], params: dict[str, Any], elapsed: float) -> bool:
    return bool(values["door_open"]) and not values["occupied"]


def _cavitating(values: dict[str, Any], params: dict[str, Any], elapsed: float) -> bool:
    # The crackle's spread (severity x 4 x sd(|N(0,1)|)) passes the pack's 1.0 mm/s once
    # 70 % of the onset has passed at the default severity.
    onset = float(params.get("onset_s", 60.0))
    return elapsed >= 0.7 * onset


def _joint_hot(values: dict[str, Any], params: dict[str, Any], elapsed: float) -> bool:
    return bool(
        values["joint_temp_c"] > 70.0 or values["joint_temp_c"] - values["ambient_temp_c"] > 40.0
    )


# When the signals first show each fault (the simulator's own values): a fault that waits for
# the car to run, for the tank to drain or for a ramp to pass the limit is visible only then.
# Faults not listed show at once.
OBSERVABLE: dict[str, Observable] = {
    "overrun_top": lambda v, p, t: not v["running"] and v["position_m"] > TOP_M + 0.2,
    "overrun_bottom": lambda v, p, t: not v["running"] and v["position_m"] < -0.2,
    "overspeed": lambda v, p, t: abs(v["speed_m_s"]) > p["level"] * RATED_SPEED,
    "abnormal_speed": lambda v, p, t: v["running"] and abs(v["speed_m_s"]) < 0.7 * RATED_SPEED,
    "door_open_while_running": lambda v, p, t: v["door_open"] and not v["door_zone"],
    # UCMP: the car creeps away with the doors open until the UCMP device opens the chain.
    "moving_with_door_open": lambda v, p, t: (
        v["door_open"] and not v["door_zone"] and not v["safety_circuit_ok"]
    ),
    "stop_outside_door_zone": lambda v, p, t: not v["running"] and not v["door_zone"],
    "door_open_failure": lambda v, p, t: not v["door_open"] and not v["door_closed"],
    "door_close_failure": lambda v, p, t: not v["door_closed"],
    "door_lock_open": lambda v, p, t: v["door_closed"] and not v["door_lock_ok"],
    "landing_button_stuck": _edge,  # the counting starts at the first empty-car opening
    "failure_to_start": lambda v, p, t: not v["running"] and v["outlet_pressure_bar"] < 2.9,
    "overload": lambda v, p, t: (
        max(v["current_l1_a"], v["current_l2_a"], v["current_l3_a"]) > 100.0
        if "current_l1_a" in v
        else True
    ),
    "bearing_overheat": lambda v, p, t: v["bearing_temp_c"] > 85.0,
    "leakage_rising": lambda v, p, t: v["residual_current_ma"] > 300,
    "joint_overheat": _joint_hot,
    "cavitation": _cavitating,
}


def _excepting(eq: SimulatedEquipment) -> bool:
    """A device answering with Modbus exceptions: the gateway gets no values from it."""
    return any(ep.fault == "modbus_exception" for ep in eq.active())


def _truth(episodes: Iterable[Episode], seen: dict[int, datetime]) -> list[TruthEpisode]:
    return [
        TruthEpisode(e.equipment, e.fault, e.start, e.end, dict(e.params), seen.get(id(e)))
        for e in episodes
    ]


def _observe(
    sims: dict[str, SimulatedEquipment],
    observable: Mapping[str, Observable],
    seen: dict[int, datetime],
    now: datetime,
) -> None:
    for eq in sims.values():
        for episode in eq.active():
            test = observable.get(episode.fault)
            if id(episode) in seen or test is None:
                continue
            if test(eq.model.values(), episode.params, (now - episode.start).total_seconds()):
                seen[id(episode)] = now


def run_truth(
    devices: Sequence[Device],
    schedule: Sequence[ScheduledFault],
    rules: Sequence[Rule],
    db: Engine,
    *,
    start: datetime,
    duration_s: float,
    step_s: float = 1.0,
    seed: int = 1,
    observable: Mapping[str, Observable] | None = None,
) -> TruthRun:
    """Simulate `duration_s` with `schedule`, evaluating every step; the alarms and the truth."""
    sims = {
        d.equipment.id: SimulatedEquipment(
            d.equipment.id,
            MODELS[d.equipment.type].build(
                start=start, rng=equipment_rng(seed, d.equipment.id), params=d.model_params
            ),
        )
        for d in devices
    }
    sim = Simulation(sims, start=start, schedule=schedule)
    engine = RulesEngine(rules, [d.equipment for d in devices], AlarmStore(db))
    site_of = {d.equipment.id: d.equipment.site for d in devices}
    clock = ManualClock(start)
    episodes: list[Episode] = []
    seen: dict[int, datetime] = {}
    alarms: list[RaisedAlarm] = []
    events: list[AlarmEvent] = []
    count = 0
    steps = int(duration_s / step_s)
    for _ in range(steps):
        now = clock.advance(step_s)
        episodes += sim.step(now)
        _observe(sims, observable or {}, seen, now)
        ts_ms = to_epoch_ms(now)
        by_site: dict[str, list[Reading]] = {}
        for eq_id, eq in sims.items():
            if eq.answering and not _excepting(eq):
                by_site.setdefault(site_of[eq_id], []).extend(
                    readings_of(eq_id, eq.values(), ts_ms)
                )
        pending = []
        for site, batch in by_site.items():
            count += len(batch)
            pending += engine.evaluate(site, batch)
        pending += engine.tick(now)
        for change in pending:
            event = engine.commit(change)
            if event is not None:
                events.append(event)
            if event is not None and event.transition == Transition.ACTIVATE:
                alarms.append(RaisedAlarm(event.equipment, event.fault_code, event.at, event.rule))
    episodes += sim.close(clock.now())
    return TruthRun(_truth(episodes, seen), alarms, count, clock.now(), events)
