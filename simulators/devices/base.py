"""What every device model shares: stepping by simulated time, params, first-order lag."""

from __future__ import annotations

import math
import random
from abc import ABC, abstractmethod
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import ClassVar

from bldgwatch.core.config import StrictModel
from bldgwatch.core.models import Value

MAX_DT_S = 60.0  # a longer gap (a stalled loop, a jump in a test) is integrated as this much


class ModelParams(StrictModel):
    """Base of a model's parameters (all optional, with plausible defaults)."""


def lag(value: float, target: float, dt: float, tau: float) -> float:
    """First-order lag of `value` towards `target` over `dt` with time constant `tau`.

    Exact for a constant target, so it stays stable for any step length.
    """
    if tau <= 0:
        return target
    return target + (value - target) * math.exp(-dt / tau)


def ou_step(x: float, dt: float, tau: float, sigma: float, rng: random.Random) -> float:
    """One exact step of a zero-mean Ornstein-Uhlenbeck process (stationary std `sigma`)."""
    decay = math.exp(-dt / tau)
    return x * decay + sigma * math.sqrt(1.0 - decay * decay) * rng.gauss(0.0, 1.0)


def hour_of_day(now: datetime, utc_offset_h: float) -> float:
    """Local hour of day in [0, 24) of a UTC time."""
    hours = now.hour + now.minute / 60 + now.second / 3600 + utc_offset_h
    return hours % 24.0


def daily_profile(hour: float, table: tuple[float, ...]) -> float:
    """Value of a 24-entry hourly table at `hour`, linearly interpolated (wraps at midnight)."""
    i = int(hour) % 24
    frac = hour - math.floor(hour)
    return table[i] + (table[(i + 1) % 24] - table[i]) * frac


class DeviceModel(ABC):
    """A physical model stepped by simulated time.

    `step(now)` integrates from the previous step to `now` (dt clamped to MAX_DT_S) in
    sub-steps of at most `max_substep_s`; `values()` gives the readings keyed by the point
    names of the model's device profile. Faults act through each model's `disturbance`.
    """

    kind: ClassVar[str]
    params_type: ClassVar[type[ModelParams]] = ModelParams
    max_substep_s: ClassVar[float] = 1.0

    def __init__(
        self, *, start: datetime, rng: random.Random, params: ModelParams | None = None
    ) -> None:
        del params  # each model keeps its own typed params
        if start.tzinfo is None:
            raise ValueError("models run on timezone-aware UTC time")
        self.rng = rng
        self.now = start

    @classmethod
    def validate_params(cls, params: Mapping[str, float] | None) -> ModelParams:
        """The parsed params (pydantic ValidationError names a bad one)."""
        return cls.params_type.model_validate(dict(params or {}))

    @classmethod
    def build(
        cls, *, start: datetime, rng: random.Random, params: Mapping[str, float] | None = None
    ) -> DeviceModel:
        """A model from raw params (as in a config file)."""
        return cls(start=start, rng=rng, params=cls.validate_params(params))

    def step(self, now: datetime) -> None:
        """Advance the model to `now`; a time at or before the last step does nothing."""
        dt = (now - self.now).total_seconds()
        if dt <= 0:
            return
        dt = min(dt, MAX_DT_S)
        count = max(1, math.ceil(dt / self.max_substep_s))
        sub = dt / count
        for _ in range(count):
            self.now += timedelta(seconds=sub)
            self._advance(sub)
        self.now = now  # after a clamped gap the model jumps to the present

    @abstractmethod
    def _advance(self, dt: float) -> None:
        """Integrate the physics over `dt` simulated seconds (dt <= max_substep_s)."""

    @abstractmethod
    def values(self) -> dict[str, Value]:
        """Current readings keyed by profile point name."""
