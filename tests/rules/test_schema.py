"""Rule schema: built-in packs load; bad rules stop loading with file, rule id and field."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from bldgwatch.core.errors import ConfigError
from bldgwatch.rules.errors import ParameterMissingError
from bldgwatch.rules.schema import ParamLimit, ThresholdRule, load_rule_file, load_rules

GOOD: dict[str, Any] = {
    "id": "pump.test_rule",
    "kind": "threshold",
    "equipment_type": "pump",
    "point": "bearing_temp_c",
    "op": ">",
    "limit": 80,
    "severity": "major",
    "priority": 2,
    "fault_code": "X",
    "family": "bearing",
}


def write(tmp_path: Path, rules: list[Any], name: str = "extra.yaml", pack: str = "t") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump({"pack": pack, "rules": rules}, allow_unicode=True))
    return path


def test_builtin_packs_load_with_the_demo_rule() -> None:
    rules = {r.id: r for r in load_rules(["pump", "elevator", "shaft_panel"], [])}
    bearing = rules["pump.bearing_temp_high"]
    assert isinstance(bearing, ThresholdRule)
    assert (bearing.point, bearing.op, bearing.deadband) == ("bearing_temp_c", ">", 5)
    assert bearing.limit == ParamLimit(param="bearing_temp_alarm_c", default=85)
    assert (bearing.on_delay_s, bearing.off_delay_s, bearing.priority) == (5, 5, 2)
    assert (bearing.fault_code, bearing.family, bearing.maintenance) == (
        "PUMP_BEARING_TEMP",
        "bearing",
        "reactive",
    )
    assert bearing.severity == "major"
    for rid in ("elevator.power_loss", "elevator.safety_circuit_open", "elevator.door_lock_open"):
        assert rules[rid].suppress_when == "inspection_mode"
    residual = rules["shaft_panel.residual_current_high"]
    assert residual.limit == ParamLimit(param="residual_current_alarm_ma", default=300)
    overload = rules["pump.motor_overload"]
    assert overload.limit == ParamLimit(param="rated.current_a", factor=1.1)


@pytest.mark.parametrize(
    ("change", "field", "rule_name"),
    [
        ({"op": "=="}, "op", "'pump.test_rule'"),
        ({"severity": "awful"}, "severity", "'pump.test_rule'"),
        ({"priority": 5}, "priority", "'pump.test_rule'"),
        ({"deadband": -1}, "deadband", "'pump.test_rule'"),
        ({"on_delay_s": -2}, "on_delay_s", "'pump.test_rule'"),
        ({"equipment_type": "boiler"}, "equipment_type", "'pump.test_rule'"),
        ({"message": "{value} {oops}"}, "message", "'pump.test_rule'"),
        ({"limit": {"param": "x", "factr": 1.1}}, "limit", "'pump.test_rule'"),
        ({"limit": {"param": "rated.", "default": 3}}, "limit", "'pump.test_rule'"),
        ({"maintenance": "someday"}, "maintenance", "'pump.test_rule'"),
        ({"suppress_when": "bearing_temp_c"}, "(rule)", "'pump.test_rule'"),
        ({"colour": "red"}, "colour", "'pump.test_rule'"),
        ({"id": "NoDots"}, "id", "'NoDots'"),
        ({"point": None}, "point", "'pump.test_rule'"),
    ],
)
def test_bad_rule_names_file_rule_and_field(
    tmp_path: Path, change: dict[str, Any], field: str, rule_name: str
) -> None:
    path = write(tmp_path, [GOOD | {"id": "pump.other"}, GOOD | change])
    with pytest.raises(ConfigError) as err:
        load_rule_file(path)
    assert f"{path}: rule {rule_name}: {field}" in str(err.value)


def test_unknown_kind_names_the_kinds(tmp_path: Path) -> None:
    path = write(tmp_path, [GOOD | {"kind": "magic"}])
    with pytest.raises(ConfigError, match=r"rule 'pump.test_rule': kind: .*threshold"):
        load_rule_file(path)


def test_rule_without_id_is_named_by_position(tmp_path: Path) -> None:
    raw = dict(GOOD)
    del raw["id"]
    path = write(tmp_path, [GOOD, raw])
    with pytest.raises(ConfigError, match=r"rule #2: id: Field required"):
        load_rule_file(path)


def test_duplicate_ids_in_one_file(tmp_path: Path) -> None:
    path = write(tmp_path, [GOOD, GOOD])
    with pytest.raises(ConfigError, match=r"extra.yaml: rule 'pump.test_rule': id: duplicate"):
        load_rule_file(path)


def test_duplicate_ids_across_files(tmp_path: Path) -> None:
    first = write(tmp_path, [GOOD], "a.yaml")
    second = write(tmp_path, [GOOD | {"id": "pump.bearing_temp_high"}], "b.yaml")
    with pytest.raises(ConfigError, match=r"b.yaml: rule 'pump.bearing_temp_high': id: dup"):
        load_rules(["pump"], [second])
    with pytest.raises(ConfigError, match=r"already defined in .*a.yaml"):
        load_rules([], [first, write(tmp_path, [GOOD], "c.yaml")])


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("rules: []", "pack: must be a non-empty string"),
        ("pack: x\nrules: {a: 1}", "rules: must be a list"),
        ("pack: x\nrules: []\nextra: 1", "unknown top-level fields"),
        ("- 1", "top level must be a mapping"),
        ("pack: [", "not valid YAML"),
    ],
)
def test_bad_rule_file_shape(tmp_path: Path, text: str, match: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=match):
        load_rule_file(path)


def test_unknown_builtin_pack_lists_the_available_ones() -> None:
    with pytest.raises(ConfigError, match=r"no built-in pack 'boiler'.*'pump'"):
        load_rules(["boiler"], [])


@pytest.mark.parametrize(
    ("limit", "params", "rated", "expected"),
    [
        (ParamLimit(param="t", default=85), {}, {}, 85.0),
        (ParamLimit(param="t", default=85), {"t": 70}, {}, 70.0),
        (ParamLimit(param="params.t", default=85), {"t": 70}, {}, 70.0),
        (ParamLimit(param="rated.current_a", factor=1.1), {}, {"current_a": 20}, 22.0),
        (ParamLimit(param="rated.current_a", default=10, factor=1.1), {}, {}, 11.0),
        (ParamLimit(param="current_a", default=10), {}, {"current_a": 20}, 10.0),
    ],
)
def test_param_limit_resolution(
    limit: ParamLimit, params: dict[str, float], rated: dict[str, float], expected: float
) -> None:
    assert limit.resolve(params, rated, rule="r", equipment="P-01") == pytest.approx(expected)


def test_param_limit_without_default_or_param_raises() -> None:
    with pytest.raises(ParameterMissingError, match=r"P-09 has no 'rated\.current_a'"):
        ParamLimit(param="rated.current_a").resolve({}, {}, rule="r", equipment="P-09")


def test_message_renders_with_missing_value() -> None:
    rule = load_rules(["pump"], [])[0]
    assert rule.render(value=None, limit=85, equipment="P-01") == (
        "P-01: bearing temperature — °C above 85.0 °C"
    )


def test_messages_render_a_dash_for_a_missing_value() -> None:
    from bldgwatch.rules.schema import parse_rule

    rule = parse_rule(
        {
            "id": "pump.t",
            "equipment_type": "pump",
            "kind": "threshold",
            "point": "bearing_temp_c",
            "op": ">",
            "limit": 85,
            "severity": "major",
            "priority": 2,
            "fault_code": "F",
            "family": "bearing",
            "message": "{equipment}: {value:.1f} °C above {limit:.1f} °C",
        },
        source="t.yaml",
        index=0,
    )
    assert rule.render(value=None, limit=85.0, equipment="P-01") == "P-01: — °C above 85.0 °C"
    assert rule.render(value=90.25, limit=85.0, equipment="P-01") == "P-01: 90.2 °C above 85.0 °C"
