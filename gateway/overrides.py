"""Per-device overrides of a profile's register map (pure): change, add or drop points.

A device in the gateway config may adjust the profile it names: another default byte/word
order or block size, a point with another scale or order, an extra point, or a point left
out. The result is validated as a whole profile, so a mistake (a float32 given one
register, two points overlapping) stops the gateway with the device and point named.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field, ValidationError

from bldgwatch.core.config import StrictModel
from bldgwatch.core.profiles import DeviceProfile, PointSpec, Table
from bldgwatch.core.registers import DataType, Order

_SPEC_FIELDS = set(PointSpec.model_fields)


class PointOverride(StrictModel):
    """Changes to one point of the profile, or a point the profile does not have."""

    name: str = Field(description="Point name (of the profile, or a new one).")
    enabled: bool = Field(True, description="False: do not read or report this point.")
    table: Table | None = Field(None, description="coil, discrete, holding or input.")
    address: int | None = Field(None, ge=0, le=65535, description="Zero-based address.")
    type: DataType | None = Field(None, description="Data type.")
    order: Order | None = Field(None, description="Byte/word order of this point.")
    count: int | None = Field(None, ge=1, le=125, description="Registers (strings).")
    scale: float | None = Field(None, description="value = raw * scale + offset.")
    offset: float | None = Field(None, description="value = raw * scale + offset.")
    unit: str | None = Field(None, description="Engineering unit.")
    bits: dict[str, int] | None = Field(None, description="Bit fields: name → bit 0–15.")
    deadband: float | None = Field(
        None, ge=0, description="Report-by-exception deadband of this point (device's if unset)."
    )
    max_report_interval_s: float | None = Field(
        None, gt=0, description="Report at least this often (device's if unset), seconds."
    )


class OverrideError(ValueError):
    """An override does not make a valid register map; the message names device and point."""


def _first_message(err: ValidationError) -> str:
    problem = err.errors()[0]
    where = ".".join(str(p) for p in problem["loc"])
    msg = str(problem["msg"]).removeprefix("Value error, ")
    return f"{where}: {msg}" if where else msg


def _point(equipment: str, base: dict[str, Any] | None, change: PointOverride) -> dict[str, Any]:
    given = change.model_dump(include=_SPEC_FIELDS, exclude_none=True)
    if base is None:
        missing = [k for k in ("table", "address", "type") if k not in given]
        if missing:
            raise OverrideError(
                f"device {equipment}: point {change.name!r} is not in the profile, "
                f"so it needs {', '.join(missing)}"
            )
        return given
    merged = {**base, **given}
    if "type" in given and "count" not in given and given["type"] != DataType.STRING:
        merged.pop("count", None)  # the count went with the old type
    return merged


def apply_overrides(
    equipment: str,
    profile: DeviceProfile,
    points: list[PointOverride],
    *,
    order: Order | None = None,
    max_block: int | None = None,
) -> DeviceProfile:
    """The profile as this device has it; OverrideError names device and point."""
    specs = {s.name: s.model_dump(exclude_none=True) for s in profile.points}
    seen: set[str] = set()
    for change in points:
        if change.name in seen:
            raise OverrideError(f"device {equipment}: point {change.name!r} is overridden twice")
        seen.add(change.name)
        if not change.enabled:
            if specs.pop(change.name, None) is None:
                raise OverrideError(
                    f"device {equipment}: point {change.name!r} is not in profile "
                    f"{profile.profile}, so it cannot be disabled"
                )
            continue
        specs[change.name] = _point(equipment, specs.get(change.name), change)
    data = profile.model_dump(exclude_none=True)
    data["points"] = list(specs.values())
    if order is not None:
        data["order"] = order
    if max_block is not None:
        data["max_block"] = max_block
    if not data["points"]:
        raise OverrideError(f"device {equipment}: every point is disabled")
    try:
        return DeviceProfile.model_validate(data)
    except ValidationError as err:
        raise OverrideError(f"device {equipment}: {_first_message(err)}") from err
