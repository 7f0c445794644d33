"""What people see of a point: its label in each language, its unit and its decimals.

Read from the device profiles (`core/profiles/*.yaml`, register maps) and from the MQTT sensor
kinds (`core/sensors/*.yaml`, which have no register map), once, by equipment type. The
console formats readings and alarm values with it; the gateway never needs it.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from pydantic import Field, model_validator

from bldgwatch.core.config import StrictModel, load_yaml, parse_config
from bldgwatch.core.profiles import PointSpec, check_label, load_profiles
from bldgwatch.core.registers import DataType

AVAILABLE_POINT = "_available"
"""The gateway's reading of whether a Modbus device answers (gateway.modbus_poller)."""


@dataclass(frozen=True, slots=True)
class PointInfo:
    """Display facts of one point."""

    label: Mapping[str, str] = field(default_factory=dict)
    unit: str = ""
    precision: int | None = None
    boolean: bool = False

    def label_in(self, locale: str, default: str) -> str:
        """The label in `locale` (then English, then `default`)."""
        return self.label.get(locale) or self.label.get("en") or default


GENERIC: dict[str, PointInfo] = {
    AVAILABLE_POINT: PointInfo({"en": "answering", "zh-CN": "在线"}, boolean=True),
}
"""Points every equipment may report."""


class SensorPoint(StrictModel):
    """One point an MQTT sensor kind reports."""

    name: str
    unit: str = ""
    precision: int | None = Field(None, ge=0, le=6)
    label: dict[str, str]
    boolean: bool = False

    @model_validator(mode="after")
    def _check(self) -> SensorPoint:
        check_label(self.label, f"point {self.name!r}")
        return self


class SensorKind(StrictModel):
    """The points of one kind of MQTT sensor."""

    equipment_type: str
    description: str = ""
    points: list[SensorPoint]


def _from_spec(spec: PointSpec) -> dict[str, PointInfo]:
    if spec.type is DataType.BITFIELD:
        return {
            bit: PointInfo(spec.bit_labels.get(bit, {}), boolean=True) for bit in spec.point_names()
        }
    boolean = spec.type is DataType.BOOL
    return {spec.name: PointInfo(spec.label or {}, spec.unit, spec.precision, boolean)}


def sensor_dir() -> Path:
    """Folder of the MQTT sensor kinds shipped with bldgwatch."""
    return Path(str(resources.files("bldgwatch.core") / "sensors"))


@functools.cache
def point_catalogue() -> Mapping[str, Mapping[str, PointInfo]]:
    """Equipment type → point → display facts (built-in profiles and sensor kinds)."""
    found: dict[str, dict[str, PointInfo]] = {}
    for profile in load_profiles().values():
        points = found.setdefault(profile.equipment_type, dict(GENERIC))
        for spec in profile.points:
            points.update(_from_spec(spec))
    for path in sorted(sensor_dir().glob("*.yaml")):
        kind = parse_config(load_yaml(path), SensorKind, source=str(path))
        points = found.setdefault(kind.equipment_type, dict(GENERIC))
        for p in kind.points:
            points[p.name] = PointInfo(p.label, p.unit, p.precision, p.boolean)
    return found


def point_info(equipment_type: str, point: str) -> PointInfo | None:
    """The display facts of a point, or None when no profile names it."""
    return point_catalogue().get(equipment_type, GENERIC).get(point)
