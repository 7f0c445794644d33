"""The shipped rule packs: valid, reading only points the device profiles publish, complete."""

from __future__ import annotations

from datetime import UTC, datetime, time
from random import Random

import pytest

from bldgwatch.core.profiles import load_profiles
from bldgwatch.core.site import OccupancyWindow
from bldgwatch.rules.evaluator import Equipment, Evaluator
from bldgwatch.rules.schema import Rule, builtin_pack_path, load_rule_file, load_rules
from bldgwatch.simulators.devices import MODELS

PACKS = ("elevator", "pump", "shaft_panel")
WEEKDAYS_9_TO_6 = OccupancyWindow(start=time(9), end=time(18))

# Every fault type of DOMAIN.md and the fault code that reports it.
DOMAIN_FAULTS = {
    "elevator": {
        "entrapment at floor level": "ELEV_ENTRAPMENT_AT_FLOOR",
        "entrapment between floors": "ELEV_ENTRAPMENT_BETWEEN_FLOORS",
        "overrun top": "ELEV_OVERRUN_TOP",
        "overrun bottom": "ELEV_OVERRUN_BOTTOM",
        "overspeed 1.2x": "ELEV_OVERSPEED_1",
        "overspeed 1.4x": "ELEV_OVERSPEED_2",
        "abnormal speed": "ELEV_ABNORMAL_SPEED",
        "door opens while running": "ELEV_DOOR_OPEN_RUNNING",
        "car moves with door open": "ELEV_UCMP",
        "stop outside the door zone": "ELEV_STOP_OUTSIDE_ZONE",
        "door fails to open": "ELEV_DOOR_OPEN_FAIL",
        "door fails to close": "ELEV_DOOR_CLOSE_FAIL",
        "safety circuit open": "ELEV_SAFETY_CIRCUIT_OPEN",
        "door-lock circuit open": "ELEV_DOOR_LOCK_OPEN",
        "power loss": "ELEV_POWER_LOSS",
        "landing button stuck": "ELEV_LANDING_BUTTON_STUCK",
        "floor position lost": "ELEV_POSITION_LOST",
    },
    "pump": {
        "vibration zone C": "PUMP_VIBRATION_ZONE_C",
        "vibration zone D": "PUMP_VIBRATION_ZONE_D",
        "bearing temperature": "PUMP_BEARING_TEMP",
        "dry running": "PUMP_DRY_RUNNING",
        "cavitation": "PUMP_CAVITATION",
        "overload": "PUMP_MOTOR_OVERLOAD",
        "failure to start": "PUMP_FAILURE_TO_START",
        "short-cycling": "PUMP_SHORT_CYCLING",
    },
    "shaft_panel": {
        "residual current": "SHAFT_RESIDUAL_CURRENT",
        "overload": "SHAFT_OVERLOAD",
        "phase imbalance": "SHAFT_PHASE_IMBALANCE",
        "joint temperature absolute": "SHAFT_JOINT_OVERTEMP",
        "joint temperature over ambient": "SHAFT_JOINT_RISE",
        "sensor lost": "SHAFT_NO_DATA",
    },
}


def profile_points() -> dict[str, set[str]]:
    """Point names each equipment type publishes, over every profile of the type; MQTT-native
    sensors have no register map, so their points come from the simulated sensor."""
    names: dict[str, set[str]] = {}
    for profile in load_profiles().values():
        found = names.setdefault(profile.equipment_type, set())
        for spec in profile.points:
            found.update(spec.point_names())
    sensor = MODELS["temp_sensor"].build(start=datetime(2026, 1, 1, tzinfo=UTC), rng=Random(1))
    names.setdefault("temp_sensor", set()).update(sensor.values())
    return names


def all_rules() -> list[Rule]:
    return load_rules([*PACKS, "temp_sensor", "meters"], [])


def test_every_point_a_pack_reads_is_in_a_profile() -> None:
    points = profile_points()
    unknown = [
        (rule.id, point)
        for rule in all_rules()
        for point in (*rule.points(), *([rule.suppress_when] if rule.suppress_when else []))
        if point not in points.get(rule.equipment_type, set())
    ]
    assert unknown == []


def test_the_profile_check_catches_a_misspelt_point() -> None:
    points = profile_points()
    assert "door_lock_ok" in points["elevator"]  # a bit of the status word
    assert "door_locked" not in points["elevator"]


@pytest.mark.parametrize("pack", PACKS)
def test_every_domain_fault_has_a_rule(pack: str) -> None:
    codes = {rule.fault_code for rule in load_rule_file(builtin_pack_path(pack)).rules}
    missing = {fault: code for fault, code in DOMAIN_FAULTS[pack].items() if code not in codes}
    assert missing == {}


def test_elevator_rules_are_suppressed_in_inspection_mode() -> None:
    lift_rules = load_rule_file(builtin_pack_path("elevator")).rules
    unsuppressed = [r.id for r in lift_rules if r.suppress_when != "inspection_mode"]
    assert unsuppressed == ["elevator.no_data"]


def test_packs_apply_to_a_fully_described_site() -> None:
    fleet = [
        Equipment("s", "E-1", "elevator", "B", {"top_level_m": 35.2}, {"speed_m_s": 1.75}),
        Equipment("s", "P-1", "pump", "B", {}, {"current_a": 30.0}, "II"),
        Equipment("s", "SP-1", "shaft_panel", "B", {}, {"current_a": 100.0}),
        Equipment("s", "TS-1", "temp_sensor", "B"),
        Equipment("s", "WM-1", "water_meter", "B", occupancy=(WEEKDAYS_9_TO_6,)),
        Equipment("s", "EM-1", "electricity_meter", "B", occupancy=(WEEKDAYS_9_TO_6,)),
    ]
    ev = Evaluator(all_rules(), fleet)
    assert ev.skipped == []
    assert ev.slot_count == len(all_rules())


def test_pump_zone_limits_follow_the_machine_class() -> None:
    fleet = [Equipment("s", f"P-{c}", "pump", "B", {}, {}, c) for c in ("I", "II", "III", "IV")]
    ev = Evaluator(all_rules(), fleet)
    zone_c = [ev.limit(("s", f"P-{c}", "pump.vibration_zone_c")) for c in ("I", "II", "III", "IV")]
    zone_d = [ev.limit(("s", f"P-{c}", "pump.vibration_zone_d")) for c in ("I", "II", "III", "IV")]
    assert zone_c == [1.8, 2.8, 4.5, 7.1]
    assert zone_d == [4.5, 7.1, 11.2, 18.0]


def test_shaft_residual_default_is_300_ma() -> None:
    ev = Evaluator(all_rules(), [Equipment("s", "SP", "shaft_panel", "B")])
    assert ev.limit(("s", "SP", "shaft_panel.residual_current_high")) == 300


def test_the_pump_pack_declares_one_incident_for_a_failing_rotor() -> None:
    rules = {r.id: r for r in load_rules(["pump"], [])}
    rotor = {rid for rid, r in rules.items() if r.incident_family == "rotor"}
    assert rotor == {
        "pump.bearing_temp_high",
        "pump.vibration_zone_c",
        "pump.vibration_zone_d",
        "pump.cavitation",
        "pump.energy_drift",  # a worn impeller: the rotating assembly too
    }
    # every other rule is an incident of its own family (dry running stays hydraulic)
    assert rules["pump.dry_running"].incident_family == "hydraulic"
    assert all(r.incident_family == r.family for rid, r in rules.items() if rid not in rotor)
