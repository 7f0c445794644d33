"""Device profiles: the shipped ones load; mistakes are errors that name the point."""

from __future__ import annotations

from pathlib import Path

import pytest

from bldgwatch.core.errors import ConfigError
from bldgwatch.core.profiles import load_dlt645_profiles, load_profile, load_profiles
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


# -- DL/T 645 meter profiles ------------------------------------------------------------------
def test_the_shipped_dlt645_profile_names_the_points_of_the_modbus_meter_profile() -> None:
    meter = load_dlt645_profiles()["dlt645-3ph"]
    modbus = load_profiles()["electricity-meter-sdm"]
    assert meter.equipment_type == modbus.equipment_type
    assert set(meter.point_names()) == {n for spec in modbus.points for n in spec.point_names()}


def write_dlt645(folder: Path, points: str) -> Path:
    (folder / "dlt645").mkdir(parents=True, exist_ok=True)
    (folder / "dlt645" / "m.yaml").write_text(
        f"profile: site-meter\nequipment_type: electricity_meter\npoints:\n{points}",
        encoding="utf-8",
    )
    return folder


def test_a_site_dlt645_profile_may_read_an_identifier_the_codec_lacks(tmp_path: Path) -> None:
    points = '  - {di: "00900200", name: balance_kwh, length: 4, decimals: 2, unit: kWh}\n'
    found = load_dlt645_profiles(write_dlt645(tmp_path, points))
    item = found["site-meter"].points[0].item()
    assert (item.di, item.fmt.length, item.fmt.decimals, item.count) == (0x00900200, 4, 2, 1)


@pytest.mark.parametrize(
    ("points", "message"),
    [
        ('  - {di: "00900200", name: x}\n', "not a data identifier the codec knows"),
        ('  - {di: "0201FF00", names: [a, b]}\n', "holds 3 values, names 2"),
        ('  - {di: "020101", name: x}\n', "8 hex digits"),
        ('  - {di: "02010100", name: x, names: [y]}\n', "either name or names"),
        ('  - {di: "00900200", name: x, length: 4}\n', "length needs decimals"),
        ('  - {di: "02010100", name: x}\n  - {di: "02010200", name: x}\n', "duplicate point"),
        ('  - {di: "02010100", name: x}\n  - {di: "02010100", name: y}\n', "read twice"),
    ],
)
def test_bad_dlt645_profiles_name_the_identifier(tmp_path: Path, points: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_dlt645_profiles(write_dlt645(tmp_path, points))
