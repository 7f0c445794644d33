"""Device profiles: the shipped ones load; mistakes are errors that name the point."""

from __future__ import annotations

from pathlib import Path

import pytest

from bldgwatch.core.errors import ConfigError
from bldgwatch.core.profiles import load_profile, load_profiles
from bldgwatch.core.registers import DataType, Order


def test_shipped_profiles_cover_every_register_type() -> None:
    profiles = load_profiles()
    assert {"pump-generic", "elevator-generic", "shaft-panel-generic"} <= set(profiles)
    types = {spec.type for prof in profiles.values() for spec in prof.points}
    assert {
        DataType.INT16,
        DataType.UINT16,
        DataType.INT32,
        DataType.UINT32,
        DataType.FLOAT32,
        DataType.BITFIELD,
        DataType.BOOL,
    } <= types
    pump = profiles["pump-generic"]
    assert pump.order_of(pump.spec("vibration_mm_s")) is Order.CDAB  # word-swapped floats


@pytest.mark.parametrize(
    ("points", "message"),
    [
        (
            "- {name: a, table: input, address: 0, type: float32, count: 1}",
            "float32 needs 2 registers, got 1",
        ),
        (
            "- {name: a, table: input, address: 0, type: float32}\n"
            "- {name: b, table: input, address: 1, type: int16}",
            "'b' at input 1 overlaps 'a'",
        ),
        (
            "- {name: a, table: input, address: 0, type: int16}\n"
            "- {name: a, table: input, address: 5, type: int16}",
            "duplicate point name 'a'",
        ),
        ("- {name: a, table: coil, address: 0, type: int16}", "type must be bool"),
        (
            "- {name: s, table: holding, address: 0, type: bitfield, bits: {x: 16}}",
            "bit indexes must be 0–15",
        ),
    ],
)
def test_profile_mistakes_name_the_point(tmp_path: Path, points: str, message: str) -> None:
    path = tmp_path / "bad.yaml"
    indented = "\n".join("  " + line for line in points.splitlines())
    path.write_text(f"profile: bad\nequipment_type: pump\npoints:\n{indented}\n")
    with pytest.raises(ConfigError) as err:
        load_profile(path)
    assert str(path) in str(err.value)
    assert message in str(err.value)
