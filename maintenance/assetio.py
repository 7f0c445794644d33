"""Asset register files: a site as YAML (the site-file shape) or as CSV (one row per
equipment, for spreadsheets). Pure text in and out; `assets.import_site`/`export_site` do the
database side."""

from __future__ import annotations

import csv
import io
from datetime import date
from typing import Any

import yaml
from pydantic import ValidationError

from bldgwatch.core.config import format_validation_error, parse_config
from bldgwatch.core.errors import ConfigError
from bldgwatch.core.site import EquipmentSpec, SiteSpec

BASE_COLUMNS = (
    "site", "site_name", "building", "building_name", "id", "type", "name", "location",
    "model", "machine_class", "installed", "last_overhaul", "gateway",
)  # fmt: skip
NUMERIC_GROUPS = ("rated", "params")  # dict fields, one column per key: rated.current_a
METER_COLUMNS = (
    "meter.system",
    "meter.parent",
    "meter.counter_max",
    "meter.max_rate",
    "meter.ratio",
    "meter.pt_ratio",
    "meter.ratio_before",
)
"""A meter's entry (core.site.MeterSpec), in files whose site has a meter with one."""
PUMP_COLUMNS = ("curve", "serves")
"""A pump's rated curve as `flow:head[:efficiency]` points joined by `;` (e.g.
`0:50;30:42:0.7`), the pump an electricity meter feeds; in files whose site has either."""


def curve_text(points: list[Any]) -> str:
    """A rated curve as one cell: `flow:head[:efficiency]` points joined by `;`."""
    return ";".join(
        ":".join(repr(float(v)) for v in (p.flow_m3h, p.head_m, p.efficiency) if v is not None)
        for p in points
    )


def curve_points(cell: str, where: str) -> list[dict[str, float]]:
    """The points of a curve cell; ConfigError naming the cell when one is no point."""
    out = []
    for part in cell.split(";"):
        try:
            numbers = [float(x) for x in part.split(":")]
        except ValueError:
            numbers = []
        if len(numbers) not in (2, 3):
            raise ConfigError(f"{where}, column curve: {part!r} is not flow:head[:efficiency]")
        point = {"flow_m3h": numbers[0], "head_m": numbers[1]}
        if len(numbers) == 3:
            point["efficiency"] = numbers[2]
        out.append(point)
    return out


AREA_COLUMN = "building_area_m2"
"""A building's floor area (core.site.BuildingSpec.area_m2), in files where one has it."""


def site_to_yaml(spec: SiteSpec) -> str:
    """The site file text of a site."""
    doc = spec.model_dump(mode="json", exclude_defaults=True)
    doc.setdefault("buildings", [])
    doc.setdefault("equipment", [])
    return yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)


def site_from_yaml(text: str, *, source: str) -> SiteSpec:
    """Parse and validate a site file's text."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise ConfigError(f"{source}: not valid YAML: {err}") from err
    return parse_config(data, SiteSpec, source=source)


def site_to_csv(spec: SiteSpec) -> str:
    """One row per equipment; buildings without equipment get a row with an empty id."""
    names = {b.id: b.name for b in spec.buildings}
    areas = {b.id: b.area_m2 for b in spec.buildings if b.area_m2 is not None}
    extra = _extra_columns(spec, areas)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=[*BASE_COLUMNS, *extra], lineterminator="\n")
    writer.writeheader()
    used = set()
    for eq in spec.equipment:
        used.add(eq.building)
        row: dict[str, Any] = {
            "site": spec.site, "site_name": spec.name, "building": eq.building,
            "building_name": names.get(eq.building, ""), "id": eq.id, "type": eq.type,
            "name": eq.name, "location": eq.location, "model": eq.model,
            "machine_class": eq.machine_class or "",
            "installed": eq.installed.isoformat() if eq.installed else "",
            "last_overhaul": eq.last_overhaul.isoformat() if eq.last_overhaul else "",
            "gateway": eq.gateway or "",
        }  # fmt: skip
        if eq.building in areas:
            row[AREA_COLUMN] = repr(areas[eq.building])
        for group in NUMERIC_GROUPS:
            for key, value in getattr(eq, group).items():
                row[f"{group}.{key}"] = repr(value)
        row.update(_energy_cells(eq))
        writer.writerow(row)
    for b in spec.buildings:
        if b.id not in used:
            writer.writerow(
                {
                    "site": spec.site,
                    "site_name": spec.name,
                    "building": b.id,
                    "building_name": b.name,
                    **({AREA_COLUMN: repr(b.area_m2)} if b.area_m2 is not None else {}),
                }
            )
    return out.getvalue()


def _extra_columns(spec: SiteSpec, areas: dict[str, float]) -> list[str]:
    """The columns beyond the base ones that this register uses (no empty columns)."""
    extra = [
        f"{group}.{key}"
        for group in NUMERIC_GROUPS
        for key in sorted({k for eq in spec.equipment for k in getattr(eq, group)})
    ]
    if any(eq.meter is not None for eq in spec.equipment):
        extra = [*METER_COLUMNS, *extra]
    if any(eq.curve is not None or eq.serves is not None for eq in spec.equipment):
        extra = [*PUMP_COLUMNS, *extra]
    if areas:
        extra = [AREA_COLUMN, *extra]
    return extra


def _energy_cells(eq: EquipmentSpec) -> dict[str, Any]:
    """A meter's entry, a pump's rated curve, the pump a meter feeds."""
    cells: dict[str, Any] = {}
    if eq.meter is not None:
        for key, value in eq.meter.model_dump(exclude_none=True).items():
            cells[f"meter.{key}"] = repr(value) if isinstance(value, float) else value
        cells["meter.ratio_before"] = eq.meter.ratio_text()
    if eq.curve is not None:
        cells["curve"] = curve_text(eq.curve)
    if eq.serves is not None:
        cells["serves"] = eq.serves
    return cells


def _row_equipment(row: dict[str, str], where: str) -> dict[str, Any]:
    eq: dict[str, Any] = {
        k: row[k]
        for k in ("id", "type", "building", "name", "location", "model", "gateway")
        if row.get(k)
    }
    if row.get("machine_class"):
        eq["machine_class"] = row["machine_class"]
    for key in ("installed", "last_overhaul"):
        if row.get(key):
            try:
                eq[key] = date.fromisoformat(row[key])
            except ValueError as err:
                raise ConfigError(f"{where}, column {key}: {row[key]!r} is not a date") from err
    for group in NUMERIC_GROUPS:
        values: dict[str, float] = {}
        for column, cell in row.items():
            if column.startswith(f"{group}.") and cell not in ("", None):
                try:
                    values[column.split(".", 1)[1]] = float(cell)
                except ValueError as err:
                    raise ConfigError(
                        f"{where}, column {column}: {cell!r} is not a number"
                    ) from err
        eq[group] = values
    meter = {c.split(".", 1)[1]: row[c] for c in METER_COLUMNS if row.get(c)}
    if meter:
        eq["meter"] = (
            meter  # the site model checks it (system, parent, counter_max, max_rate, ratio)
        )
    if row.get("curve"):
        eq["curve"] = curve_points(row["curve"], where)
    if row.get("serves"):
        eq["serves"] = row["serves"]
    return eq


def site_from_csv(text: str, *, source: str) -> SiteSpec:
    """Parse an asset CSV of one site; errors name the row and column."""
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in ("site", "building", "id", "type") if c not in (reader.fieldnames or [])]
    if missing:
        raise ConfigError(f"{source}: missing columns {missing}")
    site = name = ""
    buildings: dict[str, str] = {}
    areas: dict[str, str] = {}
    equipment: list[dict[str, Any]] = []
    for line, row in enumerate(reader, start=2):
        where = f"{source}: row {line}"
        if not row.get("site") or (site and row["site"] != site):
            raise ConfigError(f"{where}, column site: one file holds one site ({site or '?'})")
        site, name = row["site"], row.get("site_name") or name
        if not row.get("building"):
            raise ConfigError(f"{where}, column building: empty")
        if row["building"] not in buildings or row.get("building_name"):
            buildings[row["building"]] = row.get("building_name") or ""
        if row.get(AREA_COLUMN):
            areas[row["building"]] = row[AREA_COLUMN]  # the site model checks it is a number
        if row.get("id"):
            equipment.append(_row_equipment(row, where))
    doc = {
        "site": site, "name": name,
        "buildings": [
            {"id": b, "name": n, **({"area_m2": areas[b]} if b in areas else {})}
            for b, n in buildings.items()
        ],
        "equipment": equipment,
    }  # fmt: skip
    try:
        return SiteSpec.model_validate(doc)
    except ValidationError as err:
        raise ConfigError(format_validation_error(source, err)) from err
