"""The simulator's configuration model (YAML), with cross-checks naming the bad item."""

from __future__ import annotations

import functools
import random
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, Self

from pydantic import Field, ValidationError, field_validator, model_validator

from bldgwatch.core.config import MqttSettings, StrictModel
from bldgwatch.core.profiles import (
    DeviceProfile,
    Dlt645Profile,
    load_dlt645_profiles,
    load_profiles,
)
from bldgwatch.simulators.devices import MODBUS_MODELS, MODELS, SENSOR_MODELS
from bldgwatch.simulators.faults import FAULTS


@functools.cache
def known_profiles() -> dict[str, DeviceProfile]:
    """The built-in device profiles (read once per process)."""
    return load_profiles()


@functools.cache
def known_dlt645_profiles() -> dict[str, Dlt645Profile]:
    """The built-in DL/T 645 meter profiles (read once per process)."""
    return load_dlt645_profiles()


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
    """A device served over Modbus TCP or RTU, or a meter over DL/T 645-2007."""

    equipment: str = Field(description="Equipment id, e.g. P-01 (unique in the file).")
    kind: str = Field(description=f"Model: one of {', '.join(MODBUS_MODELS)}.")
    protocol: Literal["modbus", "dlt645"] = Field(
        "modbus",
        description="modbus (TCP or RTU), or dlt645: an electricity meter answering DL/T "
        "645-2007 on serial_port (8E1) at its meter number (param meter_number).",
    )
    profile: str = Field(
        description="Register map: a profile id from core/profiles (dlt645: from "
        "core/profiles/dlt645)."
    )
    host: str = Field("127.0.0.1", description="Address the Modbus TCP server binds.")
    port: int | None = Field(
        None, ge=1, le=65535, description="TCP port of the server (Modbus TCP)."
    )
    serial_port: str | None = Field(
        None, description="Serial device, e.g. /dev/ttyUSB0 (Modbus RTU instead of TCP)."
    )
    baudrate: int | None = Field(
        None, gt=0, description="Serial speed; unset: 19200 (Modbus RTU), 2400 (DL/T 645)."
    )
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
        """Which server the device is on: ("tcp", host, port), ("rtu", serial port, baud) or
        ("dlt645", serial port, baud)."""
        if self.protocol == "dlt645":
            assert self.serial_port is not None
            return ("dlt645", self.serial_port, self.baudrate or 2400)
        if self.serial_port is not None:
            return ("rtu", self.serial_port, self.baudrate or 19200)
        assert self.port is not None
        return ("tcp", self.host, self.port)

    @model_validator(mode="after")
    def _check_profile(self) -> Self:
        where = f"device {self.equipment}"
        if self.protocol == "dlt645":
            if self.serial_port is None or self.port is not None:
                raise ValueError(f"{where}: a DL/T 645 meter needs serial_port and no port")
        elif (self.port is None) == (self.serial_port is None):
            raise ValueError(f"{where}: give exactly one of port (TCP) and serial_port (RTU)")
        profiles: dict[str, DeviceProfile] | dict[str, Dlt645Profile] = (
            known_dlt645_profiles() if self.protocol == "dlt645" else known_profiles()
        )
        profile = profiles.get(self.profile)
        if profile is None:
            raise ValueError(
                f"{where}: unknown {'dlt645 ' if self.protocol == 'dlt645' else ''}"
                f"profile {self.profile!r} "
                f"(known: {sorted(profiles)})"
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
        names = (
            profile.point_names()
            if isinstance(profile, Dlt645Profile)
            else [name for spec in profile.points for name in spec.point_names()]
        )
        missing = [name for name in names if name not in model.values()]
        if self.protocol == "dlt645" and "meter_number" not in model.values():
            raise ValueError(f"{where}: a {self.kind} has no meter number to answer DL/T 645 at")
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
        lines: dict[str, tuple[str, int]] = {}
        for dev in self.devices:
            transport, where, speed = dev.endpoint
            serial = dev.serial_port
            if serial is not None:
                line = lines.setdefault(serial, (transport, speed))
                if line[0] != transport:
                    raise ValueError(
                        f"device {dev.equipment}: {serial} serves {line[0]} already; "
                        "the simulator speaks one protocol per serial port"
                    )
                if line[1] != speed:
                    raise ValueError(f"devices on {serial} need one baudrate")
            if transport == "dlt645":
                continue  # meters answer at their meter numbers, not at units
            key = (transport, where if dev.port is None else f"{where}:{dev.port}", dev.unit)
            if key in seen:
                raise ValueError(
                    f"devices {seen[key]} and {dev.equipment} both use {key[1]} unit {dev.unit}"
                )
            seen[key] = dev.equipment
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
