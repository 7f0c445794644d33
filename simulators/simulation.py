"""The simulated site: equipment stepped together, scheduled and runtime faults, episodes.

Pure over simulated time: no sockets, no clocks; `step(now)` is given the time.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bldgwatch.simulators.config import DeviceConfig, ScheduledFault, SensorConfig, SimulatorConfig
from bldgwatch.simulators.devices import MODELS
from bldgwatch.simulators.equipment import Episode, SimulatedEquipment
from bldgwatch.simulators.errors import FaultError

logger = logging.getLogger(__name__)


StageOf = Callable[[str, datetime], str | None]
"""The true life stage of an equipment at a time (None when it has no life model)."""


def equipment_rng(seed: int, equipment: str) -> random.Random:
    """The noise source of one equipment: depends only on the seed and its id."""
    return random.Random(f"{seed}/{equipment}")


@dataclass
class _Planned:
    equipment: str
    fault: str
    at: datetime
    until: datetime | None
    params: dict[str, Any]
    started: bool = False
    finished: bool = False


class Simulation:
    """All equipment of one simulator process."""

    def __init__(
        self,
        equipment: Mapping[str, SimulatedEquipment],
        *,
        start: datetime,
        schedule: Iterable[ScheduledFault] = (),
        stage_of: StageOf | None = None,
    ) -> None:
        self.equipment = dict(equipment)
        self.start = start
        self.stage_of = stage_of
        self._plan = [
            _Planned(
                item.equipment,
                item.fault,
                start + timedelta(seconds=item.at_s),
                None
                if item.duration_s is None
                else start + timedelta(seconds=item.at_s + item.duration_s),
                dict(item.params),
            )
            for item in schedule
        ]

    @classmethod
    def from_config(
        cls, cfg: SimulatorConfig, *, start: datetime, stage_of: StageOf | None = None
    ) -> Simulation:
        """Build every device and sensor of a config, seeded from `cfg.seed`."""
        equipment: dict[str, SimulatedEquipment] = {}
        items: list[DeviceConfig | SensorConfig] = [*cfg.devices, *cfg.sensors]
        for item in items:
            model = MODELS[item.kind].build(
                start=start, rng=equipment_rng(cfg.seed, item.equipment), params=item.params
            )
            equipment[item.equipment] = SimulatedEquipment(item.equipment, model)
        return cls(equipment, start=start, schedule=cfg.faults, stage_of=stage_of)

    def _get(self, equipment: str, fault: str) -> SimulatedEquipment:
        found = self.equipment.get(equipment)
        if found is None:
            raise FaultError(equipment, fault, "unknown equipment")
        return found

    def start_fault(
        self, equipment: str, fault: str, params: Mapping[str, Any] | None, now: datetime
    ) -> Episode:
        """Begin a fault now; FaultError names what is wrong."""
        episode = self._get(equipment, fault).start_fault(fault, params, now)
        if self.stage_of is not None:
            episode.stage = self.stage_of(equipment, now)
        return episode

    def stop_fault(self, equipment: str, fault: str, now: datetime) -> Episode | None:
        """End a fault now; the ended episode, or None when it was not active."""
        return self._get(equipment, fault).stop_fault(fault, now)

    def active(self) -> list[Episode]:
        """Every open episode."""
        return [ep for eq in self.equipment.values() for ep in eq.active()]

    def _run_plan(self, now: datetime) -> list[Episode]:
        ended: list[Episode] = []
        for item in self._plan:
            if not item.started and now >= item.at:
                item.started = True
                try:
                    self.start_fault(item.equipment, item.fault, item.params, item.at)
                except FaultError as err:
                    logger.warning("scheduled fault not started: %s", err)
                    item.finished = True
            if item.started and not item.finished and item.until and now >= item.until:
                item.finished = True
                episode = self.stop_fault(item.equipment, item.fault, item.until)
                if episode is not None:
                    ended.append(episode)
        return ended

    def step(self, now: datetime) -> list[Episode]:
        """Start and end scheduled faults due by `now`, step every model; the ended episodes."""
        ended = self._run_plan(now)
        for eq in self.equipment.values():
            eq.step(now)
        return ended

    def close(self, now: datetime) -> list[Episode]:
        """End every open episode at `now` (shutdown); the episodes ended."""
        ended: list[Episode] = []
        for eq in self.equipment.values():
            for episode in eq.active():
                stopped = eq.stop_fault(episode.fault, now)
                if stopped is not None:
                    ended.append(stopped)
        return ended
