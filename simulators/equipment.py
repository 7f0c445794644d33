"""One simulated equipment: a model, its active faults and the episodes they make."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from bldgwatch.core.models import Value
from bldgwatch.simulators.devices import DeviceModel
from bldgwatch.simulators.errors import FaultError
from bldgwatch.simulators.faults import FAULTS, Fault

logger = logging.getLogger(__name__)


@dataclass
class Episode:
    """One fault on one equipment from start to end (ground truth)."""

    equipment: str
    fault: str
    start: datetime
    params: dict[str, Any] = field(default_factory=dict)
    end: datetime | None = None
    stage: str | None = None  # true life stage at the start (when a life model is known)


@dataclass
class _Active:
    fault: Fault
    episode: Episode


class SimulatedEquipment:
    """A model with faults applied; what a server or a sensor publisher reads."""

    def __init__(self, equipment: str, model: DeviceModel) -> None:
        self.equipment = equipment
        self.model = model
        self._active: dict[str, _Active] = {}

    @property
    def kind(self) -> str:
        """The model kind (pump, elevator, …)."""
        return self.model.kind

    def start_fault(self, name: str, params: Mapping[str, Any] | None, now: datetime) -> Episode:
        """Begin a fault episode; FaultError when unknown, not applicable, bad or active."""
        cls = FAULTS.get(name)
        if cls is None:
            raise FaultError(self.equipment, name, f"unknown fault (known: {sorted(FAULTS)})")
        if not cls.applies_to(self.kind):
            raise FaultError(self.equipment, name, f"does not apply to a {self.kind}")
        if name in self._active:
            raise FaultError(self.equipment, name, "already active")
        try:
            parsed = cls.parse_params(params)
        except ValidationError as err:
            raise FaultError(self.equipment, name, f"bad params: {err}") from err
        fault = cls(parsed)
        fault.begin(self.model)
        episode = Episode(self.equipment, name, now, parsed.model_dump(mode="json"))
        self._active[name] = _Active(fault, episode)
        logger.info("%s: fault %s started %s", self.equipment, name, episode.params)
        return episode

    def stop_fault(self, name: str, now: datetime) -> Episode | None:
        """End a fault episode; None when it was not active."""
        active = self._active.pop(name, None)
        if active is None:
            return None
        active.fault.clear(self.model)
        active.episode.end = now
        logger.info("%s: fault %s ended", self.equipment, name)
        return active.episode

    def active(self) -> list[Episode]:
        """Open episodes, oldest first."""
        return [item.episode for item in self._active.values()]

    def step(self, now: datetime) -> None:
        """Let every active fault evolve, then advance the model to `now`."""
        for item in self._active.values():
            elapsed = max(0.0, (now - item.episode.start).total_seconds())
            item.fault.evolve(self.model, elapsed)
        self.model.step(now)

    def values(self) -> dict[str, Value]:
        """What the device reports now."""
        values = self.model.values()
        for item in self._active.values():
            values = item.fault.transform(values)
        return values

    @property
    def answering(self) -> bool:
        """False while a fault keeps the device from answering."""
        return all(item.fault.answering for item in self._active.values())

    @property
    def exception_code(self) -> int | None:
        """The Modbus exception code a fault makes the device answer with, or None."""
        codes = [item.fault.exception_code for item in self._active.values()]
        return next((code for code in codes if code is not None), None)
