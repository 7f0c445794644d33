"""Asset register files: YAML and CSV round trips, errors naming row and column, the CLI."""

from __future__ import annotations

import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from bldgwatch.core.errors import ConfigError
from bldgwatch.core.site import MeterSpec, SiteSpec
from bldgwatch.demo_setup import SITE_SPEC
from bldgwatch.maintenance.assetio import site_from_csv, site_from_yaml, site_to_csv, site_to_yaml

SPEC = SiteSpec.model_validate(
    {**SITE_SPEC, "buildings": [*SITE_SPEC["buildings"], {"id": "B9", "name": "Annex"}]}
)


def test_yaml_round_trip() -> None:
    assert site_from_yaml(site_to_yaml(SPEC), source="x.yaml") == SPEC


def test_csv_round_trip_keeps_ratings_params_dates_and_empty_buildings() -> None:
    text = site_to_csv(SPEC)
    header = text.splitlines()[0].split(",")
    assert "rated.current_a" in header and "params.top_level_m" in header
    # One row per equipment: the site's own settings (occupancy, calendar) stay in the site file.
    assert site_from_csv(text, source="x.csv") == SPEC.model_copy(
        update={"occupancy": [], "calendar": None}
    )


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda rows: rows[1].replace("2013-06-15", "15/06/2013"), "row 3, column installed"),
        (lambda rows: rows[1].replace(",30.0,", ",thirty,"), "row 3, column rated.current_a"),
        (lambda rows: rows[1].replace("demo,", "other,", 1), "row 3, column site"),
        (lambda rows: rows[1].replace(",pump,", ",turbine,"), "unknown type 'turbine'"),
    ],
)
def test_bad_csv_rows_are_named(mutate: object, message: str) -> None:
    lines = site_to_csv(SPEC).splitlines()
    body = lines[1:]
    pump = next(i for i, line in enumerate(body) if ",P-01," in line)
    body.insert(1, body.pop(pump))  # the pump on row 3 (the header is row 1)
    body[1] = mutate(body)  # type: ignore[operator]
    with pytest.raises(ConfigError) as err:
        site_from_csv("\n".join([lines[0], *body]) + "\n", source="assets.csv")
    assert "assets.csv" in str(err.value)
    assert message in str(err.value)


def test_cli_imports_csv_and_exports_yaml(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'a.db'}"
    csv_file = tmp_path / "assets.csv"
    csv_file.write_text(site_to_csv(SPEC), encoding="utf-8")
    cli = [sys.executable, "-m", "bldgwatch.cli", "assets"]
    first = subprocess.run(
        [*cli, "import", str(csv_file), "--db", db],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert first.returncode == 0, first.stderr
    assert "site demo: 10 added" in first.stdout
    again = subprocess.run(
        [*cli, "import", str(csv_file), "--db", db],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert "0 added, 0 updated, 10 unchanged" in again.stdout
    out = subprocess.run(
        [*cli, "export", "--site", "demo", "--db", db],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    by_id = sorted(SPEC.equipment, key=lambda eq: eq.id)  # the export lists them by id
    assert site_from_yaml(out.stdout, source="export") == SPEC.model_copy(
        # not CSV columns: site file settings
        update={"equipment": by_id, "occupancy": [], "calendar": None}
    )
    bad = subprocess.run(
        [*cli, "export", "--site", "nope", "--db", db],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert bad.returncode == 2 and "unknown site 'nope'" in bad.stderr


def test_meters_keep_their_entry_through_csv_and_a_bad_one_names_its_row() -> None:
    text = site_to_csv(SPEC)
    header = text.splitlines()[0].split(",")
    assert {"meter.system", "meter.parent", "meter.counter_max"} <= set(header)
    back = site_from_csv(text, source="x.csv")
    sub = next(eq for eq in back.equipment if eq.id == "EM-02")
    assert sub.meter is not None
    assert (sub.meter.system, sub.meter.parent) == ("pumps", "EM-01")
    looped = text.replace('"meter": ', "").replace(",mains,,", ",mains,EM-02,", 1)
    with pytest.raises(ConfigError, match="a loop of parents"):
        site_from_csv(looped, source="assets.csv")


def test_a_meters_earlier_transformer_ratios_go_through_csv() -> None:
    """Review of issue 20, N11: `meter.ratio_before` is one cell, `until:ratio[:pt_ratio]`
    joined by `;`; a bad one is refused naming the field."""
    changed = MeterSpec(ratio=120, ratio_before="2025-01-01:40:2;2026-05-01:80")
    assert [(r.until, r.ratio, r.pt_ratio) for r in changed.ratio_before] == [
        (date(2025, 1, 1), 40.0, 2.0),
        (date(2026, 5, 1), 80.0, 1.0),
    ]
    assert changed.ratios_on(date(2026, 4, 30)) == (80.0, 1.0)
    assert changed.ratios_on(date(2026, 5, 1)) == changed.ratios_on() == (120.0, 1.0)
    equipment = [
        eq.model_copy(update={"meter": changed}) if eq.id == "EM-01" else eq
        for eq in SPEC.equipment
    ]
    spec = SPEC.model_copy(update={"equipment": equipment})
    text = site_to_csv(spec)
    assert "2025-01-01:40.0:2.0;2026-05-01:80.0" in text
    back = site_from_csv(text, source="x.csv")
    assert next(eq for eq in back.equipment if eq.id == "EM-01").meter == changed
    with pytest.raises(ConfigError, match=r"meter\.ratio_before: .*until:ratio"):
        site_from_csv(text.replace("2026-05-01:80.0", "2026-05-01"), source="assets.csv")
    with pytest.raises(ValueError, match="rising"):
        MeterSpec(ratio=120, ratio_before="2026-05-01:80;2025-01-01:40")


def test_a_pump_curve_and_a_pump_meter_go_through_csv_and_a_bad_point_names_its_row() -> None:
    text = site_to_csv(SPEC)
    header = text.splitlines()[0].split(",")
    assert {"curve", "serves"} <= set(header)
    assert "0.0:61.2;20.0:55.4:0.55;40.0:38.2:0.68;60.0:9.6:0.5" in text
    back = site_from_csv(text, source="x.csv")
    pump = next(eq for eq in back.equipment if eq.id == "P-01")
    original = next(eq for eq in SPEC.equipment if eq.id == "P-01")
    assert pump.curve == original.curve
    bad = text.replace("20.0:55.4:0.55", "20.0-55.4")
    with pytest.raises(ConfigError, match=r"row \d+, column curve: '20.0-55.4'"):
        site_from_csv(bad, source="assets.csv")
