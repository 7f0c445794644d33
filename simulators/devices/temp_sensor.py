"""An MQTT-native room temperature sensor: a mean-reverting random walk."""

from __future__ import annotations

import random
from datetime import datetime

from pydantic import Field

from bldgwatch.core.models import Value
from bldgwatch.simulators.devices.base import DeviceModel, ModelParams, ou_step


class TempSensorParams(ModelParams):
    """Temperature sensor parameters."""

    setpoint_c: float = Field(24.0, description="Temperature the room is held around.")
    spread_c: float = Field(0.6, ge=0, description="Typical deviation from the setpoint.")
    tau_s: float = Field(900.0, gt=0, description="How fast deviations die out.")


class TempSensorModel(DeviceModel):
    """Ambient temperature wandering around a setpoint."""

    kind = "temp_sensor"
    params_type = TempSensorParams
    max_substep_s = 10.0

    def __init__(
        self, *, start: datetime, rng: random.Random, params: TempSensorParams | None = None
    ) -> None:
        super().__init__(start=start, rng=rng)
        self.p = params or TempSensorParams()
        self.deviation_c = rng.gauss(0.0, self.p.spread_c)

    def _advance(self, dt: float) -> None:
        self.deviation_c = ou_step(self.deviation_c, dt, self.p.tau_s, self.p.spread_c, self.rng)

    def values(self) -> dict[str, Value]:
        return {"temperature_c": self.p.setpoint_c + self.deviation_c}
