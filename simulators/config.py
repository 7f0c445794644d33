"""The simulator's configuration model (YAML), with cross-checks naming the bad item."""

from __future__ import annotations

import functools
import random
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Self

from pydantic import Field, ValidationError, field_validator, model_validator

from bldgwatch.core.config import MqttSettings, StrictModel
from bldgwatch.core.profiles import DeviceProfile, load_profiles
from bldgwatch.simulators.devices import MODBUS_MODELS, MODELS, SENSOR_MODELS
from bldgwatch.simulators.faults import FAULTS


@functools.cache
def known_profiles() -> dict[str, DeviceProfile]:
    """The built-in device profiles (read once per process)."""
    return load_profiles()


def _topic_level(value: str, what: str) -> str:
    if not value or any(c in value for c in "/+#") or value.startswith("$"):
        raise ValueError(f"{what} {value!r} is not a valid topic level")
    return value


def _check_model_params(kind: str, params: dict[str, float], where: str) -> None:
    try:
        MODELS[kind].validate_params(params)
    except ValidationError as err:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in err.errors())
        raise ValueError(f"{where}: bad params: {problems}") from err


class DeviceConfig(StrictModel):
    """A device served over Modbus TCP."""

    equipment: str = Field(description="Equipment id, e.g. P-01 (unique in the file).")
    kind: str = Field(description=f"Model: one of {', '.join(MODBUS_MODELS)}.")
    profile: str = Field(description="Register map: a profile id from core/profiles.")
    host: str = Field("127.0.0.1", description="Address the Modbus TCP server binds.")
    port: int | None = Field(
        None, ge=1, le=65535, description="TCP port of the server (Modbus TCP)."
    )
    serial_port: str | None = Field(
        None, description="Serial device, e.g. /dev/ttyUSB0 (Modbus RTU instead of TCP)."
    )
    baudrate: int = Field(19200, gt=0, description="RTU: serial speed.")
    unit: int = Field(1, ge=1, le=247, description="Modbus unit (device) id on that server.")
    params: dict[str, float] = Field(
        default_factory=dict, description="Model parameters, e.g. rated_current_a."
    )

    @field_validator("kind")
    @classmethod
    def _known_kind(cls, kind: str) -> str:
        if kind not in MODBUS_MODELS:
            raise ValueError(
                f"unknown Modbus device kind {kind!r} (known: {sorted(MODBUS_MODELS)})"
            )
        return kind

    @property
    def endpoint(self) -> tuple[str, str, int]:
        """Which server the device is on: ("tcp", host, port) or ("rtu", serial port, baud)."""
        if self.serial_port is not None:
            return ("rtu", self.serial_port, self.baudrate)
        assert self.port is not None
        return ("tcp", self.host, self.port)

    @model_validator(mode="after")
    def _check_profile(self) -> Self:
        where = f"device {self.equipment}"
        if (self.port is None) == (self.serial_port is None):
            raise ValueError(f"{where}: give exactly one of port (TCP) and serial_port (RTU)")
        profile = known_profiles().get(self.profile)
        if profile is None:
            raise ValueError(
                f"{where}: unknown profile {self.profile!r} (known: {sorted(known_profiles())})"
            )
        if profile.equipment_type != self.kind:
            raise ValueError(
                f"{where}: profile {self.profile} is for a {profile.equipment_type}, "
                f"not a {self.kind}"
            )
        _check_model_params(self.kind, self.params, where)
        model = MODELS[self.kind].build(
            start=datetime(2026, 1, 1, tzinfo=UTC), rng=random.Random(0), params=self.params
        )
        missing = [
            name
            for spec in profile.points
            for name in spec.point_names()
            if name not in model.values()
        ]
        if missing:
            raise ValueError(f"{where}: the {self.kind} model has no points {missing}")
        return self


class SensorConfig(StrictModel):
    """An MQTT-native sensor publishing JSON on its own topic."""

    equipment: str = Field(description="Equipment id, e.g. TS-01 (unique in the file).")
    kind: str = Field(description=f"Model: one of {', '.join(SENSOR_MODELS)}.")
    topic: str = Field(description="Topic it publishes on, e.g. sensors/demo/TS-01.")
    interval_s: float = Field(2.0, gt=0, description="Simulated seconds between messages.")
    params: dict[str, float] = Field(default_factory=dict, description="Model parameters.")

    @field_validator("kind")
    @classmethod
    def _known_kind(cls, kind: str) -> str:
        if kind not in SENSOR_MODELS:
            raise ValueError(f"unknown sensor kind {kind!r} (known: {sorted(SENSOR_MODELS)})")
        return kind

    @field_validator("topic")
    @classmethod
    def _plain_topic(cls, topic: str) -> str:
        if not topic or any(c in topic for c in "+#") or topic.startswith("$"):
            raise ValueError(f"{topic!r} is not a topic one can publish on")
        return topic

    @model_validator(mode="after")
    def _check_params(self) -> Self:
        _check_model_params(self.kind, self.params, f"sensor {self.equipment}")
        return self


class ScheduledFault(StrictModel):
    """A fault that starts `at_s` simulated seconds after the simulator starts."""

    equipment: str = Field(description="Equipment id of a device or sensor in this file.")
    fault: str = Field(description=f"Fault name: one of {', '.join(FAULTS)}.")
    at_s: float = Field(0.0, ge=0, description="Simulated seconds after start.")
    duration_s: float | None = Field(
        None, gt=0, description="Simulated seconds it lasts; null = until stopped."
    )
    params: dict[str, Any] = Field(default_factory=dict, description="Fault parameters.")

    @field_validator("fault")
    @classmethod
    def _known_fault(cls, fault: str) -> str:
        if fault not in FAULTS:
            raise ValueError(f"unknown fault {fault!r} (known: {sorted(FAULTS)})")
        return fault


class SimulatorConfig(StrictModel):
    """`bldgwatch simulate`: simulated devices, sensors and scheduled faults."""

    site: str = Field("demo", description="Site id (a topic level).")
    seed: int = Field(42, description="Random seed; the same seed gives the same run.")
    speed: float = Field(1.0, gt=0, description="Simulated seconds per wall second.")
    step_s: float = Field(0.2, gt=0, le=10, description="Wall seconds between model steps.")
    mqtt: MqttSettings = Field(
        default_factory=MqttSettings, description="Broker for sensors and the control topic."
    )
    ground_truth: Path | None = Field(
        None, description="JSONL file that gets one line per fault episode, when it ends."
    )
    devices: list[DeviceConfig] = Field(default_factory=list, description="Modbus devices.")
    sensors: list[SensorConfig] = Field(default_factory=list, description="MQTT sensors.")
    faults: list[ScheduledFault] = Field(default_factory=list, description="Scheduled faults.")

    @field_validator("site")
    @classmethod
    def _site_level(cls, site: str) -> str:
        return _topic_level(site, "site")

    @model_validator(mode="after")
    def _cross_check(self) -> Self:
        kinds: dict[str, str] = {}
        items: list[DeviceConfig | SensorConfig] = [*self.devices, *self.sensors]
        for item in items:
            if item.equipment in kinds:
                raise ValueError(f"duplicate equipment id {item.equipment!r}")
            kinds[item.equipment] = item.kind
        seen: dict[tuple[str, str, int], str] = {}
        bauds: dict[str, int] = {}
        for dev in self.devices:
            transport, where, _extra = dev.endpoint
            key = (transport, where if dev.port is None else f"{where}:{dev.port}", dev.unit)
            if key in seen:
                raise ValueError(
                    f"devices {seen[key]} and {dev.equipment} both use {key[1]} unit {dev.unit}"
                )
            seen[key] = dev.equipment
            serial = dev.serial_port
            if serial is not None and bauds.setdefault(serial, dev.baudrate) != dev.baudrate:
                raise ValueError(f"devices on {serial} need one baudrate")
        for i, sched in enumerate(self.faults):
            self._check_fault(i, sched, kinds)
        return self

    @staticmethod
    def _check_fault(index: int, sched: ScheduledFault, kinds: dict[str, str]) -> None:
        where = f"faults[{index}] ({sched.fault} on {sched.equipment})"
        kind = kinds.get(sched.equipment)
        if kind is None:
            raise ValueError(f"{where}: unknown equipment {sched.equipment!r}")
        cls = FAULTS[sched.fault]
        if not cls.applies_to(kind):
            raise ValueError(f"{where}: fault {sched.fault} does not apply to a {kind}")
        try:
            cls.parse_params(sched.params)
        except ValidationError as err:
            problems = "; ".join(
                f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in err.errors()
            )
            raise ValueError(f"{where}: bad params: {problems}") from err
