"""Drive the simulator in-process with scheduled faults into the rules engine; score the alarms.

No MQTT: every `step_s` the simulated equipment is stepped on a ManualClock, what each device
reports becomes readings (as a gateway polling every step would publish them), the engine
evaluates them and ticks, and every `activate` event is an alarm. The simulator's episodes
are the ground truth (`rules.detection` scores against them). Used by tests/rules/test_truth.py
and bench/rules.py.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine

from bldgwatch.core.clock import ManualClock, to_epoch_ms
from bldgwatch.core.models import Quality, Reading
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
            if event is not None and event.transition == Transition.ACTIVATE:
                alarms.append(RaisedAlarm(event.equipment, event.fault_code, event.at, event.rule))
    episodes += sim.close(clock.now())
    return TruthRun(_truth(episodes, seen), alarms, count, clock.now())
