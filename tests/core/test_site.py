"""The site register's time zone: every site has one (days and shifts follow it)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bldgwatch.core.config import parse_config
from bldgwatch.core.errors import ConfigError
from bldgwatch.core.site import SiteSpec

SITE = {"site": "s", "buildings": [{"id": "B1"}], "equipment": []}


def test_a_site_defaults_to_shanghai_and_converts_times() -> None:
    spec = parse_config(SITE, SiteSpec)
    assert spec.timezone == "Asia/Shanghai"
    local = datetime(2026, 12, 5, 19, 0, tzinfo=UTC).astimezone(spec.zone())
    assert (local.day, local.hour) == (6, 3)


def test_a_named_zone_is_kept() -> None:
    spec = parse_config({**SITE, "timezone": "Europe/Berlin"}, SiteSpec)
    assert datetime(2026, 7, 1, 12, tzinfo=UTC).astimezone(spec.zone()).hour == 14


@pytest.mark.parametrize("zone", ["Mars/Olympus", "", "../etc/passwd"])
def test_an_unknown_zone_is_refused_naming_the_field(zone: str) -> None:
    with pytest.raises(ConfigError, match=r"timezone: .*unknown time zone"):
        parse_config({**SITE, "timezone": zone}, SiteSpec)


# -- meters (issue 20): what each one measures --------------------------------------------------
def _meters(*entries: dict[str, object], buildings: tuple[str, ...] = ("B1",)) -> dict[str, object]:
    return {
        "site": "s",
        "buildings": [{"id": b} for b in buildings],
        "equipment": [
            {"type": "electricity_meter", "building": "B1", **entry} for entry in entries
        ],
    }


def test_meters_are_equipment_with_a_system_a_parent_and_a_counter() -> None:
    spec = parse_config(
        _meters(
            {"id": "EM-1"},
            {"id": "EM-2", "meter": {"system": "pumps", "parent": "EM-1"}},
            {"id": "EM-3", "meter": {"parent": "EM-2", "counter_max": 99999.99}},
            {"id": "WM-1", "type": "water_meter"},
        ),
        SiteSpec,
    )
    by_id = {eq.id: eq for eq in spec.equipment}
    feeds = {eq.id: eq.metering().feeds() for eq in spec.meters()}  # type: ignore[union-attr]
    assert feeds == {"EM-1": "mains", "EM-2": "pumps", "EM-3": "other", "WM-1": "mains"}
    assert by_id["EM-1"].counter() == ("energy_kwh", 1_000_000.0)
    assert by_id["EM-3"].counter() == ("energy_kwh", 99999.99)
    assert by_id["WM-1"].counter() == ("volume_m3", 4_294_967.296)


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        (
            _meters({"id": "EM-1", "meter": {"parent": "EM-9"}}),
            "equipment EM-1: meter.parent: unknown equipment 'EM-9'",
        ),
        (
            _meters({"id": "EM-1", "meter": {"parent": "EM-1"}}),
            "a meter is not its own parent",
        ),
        (
            _meters(
                {"id": "EM-1", "meter": {"parent": "EM-3"}},
                {"id": "EM-2", "meter": {"parent": "EM-1"}},
                {"id": "EM-3", "meter": {"parent": "EM-2"}},
            ),
            "a loop of parents: EM-1 → EM-3 → EM-2 → EM-1",
        ),
        (
            _meters(
                {"id": "EM-1", "building": "B2"},
                {"id": "EM-2", "meter": {"parent": "EM-1"}},
                buildings=("B1", "B2"),
            ),
            "EM-1 is in building B2, not B1",
        ),
        (
            _meters(
                {"id": "WM-1", "type": "water_meter"}, {"id": "EM-2", "meter": {"parent": "WM-1"}}
            ),
            "WM-1 is a water_meter, not an electricity_meter",
        ),
        (_meters({"id": "P-1", "type": "pump", "meter": {}}), "only meters have one, not pump"),
        (_meters({"id": "EM-1", "meter": {"system": "steam"}}), "meter.system"),
        (_meters({"id": "EM-1", "meter": {"counter_max": 0}}), "meter.counter_max"),
    ],
)
def test_a_bad_meter_entry_is_refused_naming_it(doc: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match="invalid configuration") as err:
        parse_config(doc, SiteSpec)
    assert message in str(err.value)


def test_energy_entry_and_building_area() -> None:
    doc = {
        "site": "s",
        "buildings": [{"id": "B1", "area_m2": 12_000}, {"id": "B2"}],
        "equipment": [],
        "energy": {"tariff_electricity": 0.85, "heating_base_c": 16},
    }
    spec = parse_config(doc, SiteSpec, source="s.yaml")
    assert [b.area_m2 for b in spec.buildings] == [12_000.0, None]
    assert (spec.energy.tariff_electricity, spec.energy.tariff_water) == (0.85, None)
    assert (spec.energy.heating_base_c, spec.energy.cooling_base_c) == (16.0, 26.0)
    assert (
        SiteSpec.model_validate({"site": "s", "buildings": [], "equipment": []}).energy.currency
        == "CNY"
    )


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"energy": {"heating_base_c": 27}}, "heating_base_c is above cooling_base_c"),
        ({"energy": {"tariff_water": -1}}, "energy.tariff_water"),
        ({"buildings": [{"id": "B1", "area_m2": 0}]}, "buildings.0.area_m2"),
    ],
)
def test_a_bad_energy_entry_or_area_is_refused_naming_it(
    change: dict[str, object], message: str
) -> None:
    doc = {"site": "s", "buildings": [{"id": "B1"}], "equipment": [], **change}
    with pytest.raises(ConfigError, match=message):
        parse_config(doc, SiteSpec, source="s.yaml")


CURVE = [{"flow_m3h": 0, "head_m": 50}, {"flow_m3h": 30, "head_m": 42, "efficiency": 0.7}]
RISING = [{"flow_m3h": 0, "head_m": 40}, {"flow_m3h": 10, "head_m": 45}]


def _pump_site(*extra: dict[str, object], **site: object) -> dict[str, object]:
    return {
        "site": "s",
        "buildings": [
            {"id": "B1"},
            {"id": "B2", "occupancy": [{"start": "07:00", "end": "22:00", "days": ["sat"]}]},
        ],
        "equipment": [
            {"id": "P-1", "type": "pump", "building": "B1", "curve": CURVE},
            *extra,
        ],
        **site,
    }


def test_pump_curves_meters_that_feed_a_pump_and_occupancy_schedules() -> None:
    spec = parse_config(
        _pump_site(
            {"id": "EM-P", "type": "electricity_meter", "building": "B1", "serves": "P-1"},
            occupancy=[{"start": "08:00", "end": "19:00"}],
        ),
        SiteSpec,
    )
    assert spec.equipment[0].curve is not None and spec.equipment[0].curve[1].efficiency == 0.7
    assert [eq.serves for eq in spec.equipment] == [None, "P-1"]
    site_hours = spec.occupancy_of("B1")
    monday_9, saturday_9 = datetime(2026, 3, 2, 9, 0), datetime(2026, 3, 7, 9, 0)
    assert [w.covers(monday_9) for w in site_hours] == [True]
    assert [w.covers(saturday_9) for w in site_hours] == [False]  # Monday to Friday by default
    assert [w.covers(saturday_9) for w in spec.occupancy_of("B2")] == [True]  # its own


@pytest.mark.parametrize(
    ("extra", "site", "message"),
    [
        ({"id": "X", "type": "pump", "building": "B1", "curve": CURVE[:1]}, {}, "at least two"),
        (
            {"id": "X", "type": "pump", "building": "B1", "curve": [CURVE[1], CURVE[0]]},
            {},
            "flows must rise",
        ),
        (
            {
                "id": "X",
                "type": "pump",
                "building": "B1",
                "curve": [{"flow_m3h": 0, "head_m": 40}, {"flow_m3h": 10, "head_m": 45}],
            },
            {},
            "head must not rise",
        ),
        ({"id": "X", "type": "elevator", "building": "B1", "curve": CURVE}, {}, "only pumps"),
        ({"id": "X", "type": "water_meter", "building": "B1", "serves": "P-1"}, {}, "serves"),
        ({"id": "X", "type": "electricity_meter", "building": "B1", "serves": "X"}, {}, "no pump"),
        (
            {"id": "X", "type": "electricity_meter", "building": "B1", "serves": "P-1"},
            {"occupancy": [{"start": "19:00", "end": "08:00"}]},
            "must come before end",
        ),
        (
            {"id": "X", "type": "electricity_meter", "building": "B1"},
            {"occupancy": [{"start": "08:00", "end": "19:00", "days": ["moon"]}]},
            "occupancy.0.days",
        ),
    ],
)
def test_a_bad_pump_or_schedule_entry_is_refused_naming_it(
    extra: dict[str, object], site: dict[str, object], message: str
) -> None:
    with pytest.raises(ConfigError, match="invalid configuration") as err:
        parse_config(_pump_site(extra, **site), SiteSpec)
    assert message in str(err.value)


def test_one_pump_has_one_meter() -> None:
    meters = [
        {"id": f"EM-{i}", "type": "electricity_meter", "building": "B1", "serves": "P-1"}
        for i in (1, 2)
    ]
    with pytest.raises(ConfigError, match="P-1 is already fed by EM-1"):
        parse_config(_pump_site(*meters), SiteSpec)
