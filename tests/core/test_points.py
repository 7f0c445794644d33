"""Display facts of points: every built-in point is labelled in both languages with its unit."""

from __future__ import annotations

import pytest

from bldgwatch.core import i18n
from bldgwatch.core.config import parse_config
from bldgwatch.core.errors import ConfigError
from bldgwatch.core.points import point_catalogue, point_info
from bldgwatch.core.profiles import DeviceProfile
from bldgwatch.core.site import EQUIPMENT_TYPES


def test_every_equipment_type_and_point_is_labelled_in_both_languages() -> None:
    catalogue = point_catalogue()
    assert set(catalogue) == set(EQUIPMENT_TYPES)
    for equipment_type, points in catalogue.items():
        for name, info in points.items():
            assert set(info.label) == set(i18n.LOCALES), (equipment_type, name)
            assert info.boolean or info.precision is not None, (equipment_type, name)
            assert info.unit not in ("degC", "m3/h"), (equipment_type, name)


@pytest.mark.parametrize(
    ("equipment_type", "point", "value", "label", "shown"),
    [
        ("pump", "bearing_temp_c", 87.345, "轴承温度", "87.3 °C"),
        ("pump", "vibration_mm_s", 1.3472278195074472, "振动", "1.35 mm/s"),
        ("elevator", "door_open", True, "门开", "是"),
        ("temp_sensor", "temperature_c", 21.46, "温度", "21.5 °C"),
        ("shaft_panel", "residual_current_ma", 311.7, "剩余电流", "312 mA"),
    ],
)
def test_values_show_with_the_points_unit_and_precision(
    equipment_type: str, point: str, value: float | bool, label: str, shown: str
) -> None:
    info = point_info(equipment_type, point)
    assert info is not None
    assert info.label_in("zh-CN", point) == label
    assert i18n.format_quantity(value, info.unit, info.precision, "zh-CN") == shown


def test_an_unknown_point_has_no_display_facts() -> None:
    assert point_info("pump", "nonsense") is None
    assert point_info("pump", "_available") is not None


def test_a_label_must_name_both_languages() -> None:
    raw = {
        "profile": "p",
        "equipment_type": "pump",
        "points": [
            {"name": "x", "table": "input", "address": 0, "type": "int16", "label": {"en": "x"}}
        ],
    }
    with pytest.raises(ConfigError, match="a label gives en and zh-CN"):
        parse_config(raw, DeviceProfile)
