"""The site register: buildings and equipment with their ratings, rule parameters and the
gateway that reports each one.

One YAML file per site, read by ingest and rules (types, owners, parameters) and maintenance
(asset import).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from datetime import date, datetime, time
from pathlib import Path
from typing import Literal, Self, get_args
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator, model_validator

from bldgwatch.core import topics
from bldgwatch.core.config import StrictModel, load_config
from bldgwatch.core.workcal import CalendarSpec, weekday_as

EQUIPMENT_TYPES = (
    "elevator",
    "pump",
    "shaft_panel",
    "temp_sensor",
    "electricity_meter",
    "water_meter",
)
METER_TYPES = ("electricity_meter", "water_meter")
MeterSystem = Literal["mains", "pumps", "elevators", "lighting", "hvac", "other"]
METER_SYSTEMS: tuple[str, ...] = get_args(MeterSystem)
"""What a meter feeds: the building's mains, or one system (sub-metering)."""
METER_COUNTERS: dict[str, tuple[str, float]] = {
    "electricity_meter": ("energy_kwh", 1_000_000.0),  # DL/T 645 XXXXXX.XX kWh
    "water_meter": ("volume_m3", 4_294_967.296),  # uint32 of litres
}
"""Per meter type: the counter point and the value it wraps at unless the site says."""
METER_MAX_RATES: dict[str, float] = {"electricity_meter": 5_000.0, "water_meter": 300.0}
"""Per meter type: the most a meter counts per hour (kW, m³/h) unless the site says — a large
building's mains, a DN200 main; set `max_rate` per meter to catch smaller garbage."""
DEFAULT_TIMEZONE = "Asia/Shanghai"
SITE_LANGUAGES = ("zh-CN", "en")
"""Languages a site may default to: the server catalogue's (`core.i18n.LOCALES`)."""
DEFAULT_LANGUAGE = "zh-CN"


def site_zone(name: str) -> ZoneInfo:
    """The IANA zone `name`; ValueError naming it when there is no such zone."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as err:
        raise ValueError(f"unknown time zone {name!r} (an IANA name, e.g. Asia/Shanghai)") from err


Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
WORKDAYS: list[Weekday] = ["mon", "tue", "wed", "thu", "fri"]


class OccupancyWindow(StrictModel):
    """A stretch of the week when a building is in use, in the site's time zone."""

    days: list[Weekday] = Field(
        default_factory=lambda: list(WORKDAYS),
        min_length=1,
        description="Days it applies to (mon … sun); default Monday to Friday.",
    )
    start: time = Field(description="Local start, HH:MM.")
    end: time = Field(description="Local end, HH:MM, after start (24:00: write 23:59).")

    @model_validator(mode="after")
    def _check_order(self) -> Self:
        if not self.start < self.end:
            raise ValueError(f"occupancy: start {self.start} must come before end {self.end}")
        return self

    def covers(self, local: datetime, calendar: CalendarSpec | None = None) -> bool:
        """Whether the local time falls in this window, on the site's working calendar: a
        holiday is taken as a Sunday, a make-up workday as a Monday (`core.workcal`)."""
        day = WEEKDAYS[weekday_as(calendar, local.date())]
        return day in self.days and self.start <= local.time() < self.end


def occupied(
    windows: Sequence[OccupancyWindow], local: datetime, calendar: CalendarSpec | None = None
) -> bool:
    """Whether a local time falls in any of the windows (on the site's working calendar;
    None: Monday to Friday)."""
    return any(w.covers(local, calendar) for w in windows)


class PumpCurvePoint(StrictModel):
    """One point of a pump's rated curve (its data sheet)."""

    flow_m3h: float = Field(ge=0, description="Flow, m³/h.")
    head_m: float = Field(ge=0, description="Head at that flow, m.")
    efficiency: float | None = Field(
        None, gt=0, le=1, description="Pump (or wire-to-water) efficiency at that flow, 0 … 1."
    )


class BuildingSpec(StrictModel):
    """A building of the site."""

    id: str = Field(description="Building id, unique in the site.")
    name: str = ""
    area_m2: float | None = Field(
        None,
        gt=0,
        le=10_000_000,
        description="Floor area in m² (optional): energy per m² is shown when it is given.",
    )
    occupancy: list[OccupancyWindow] | None = Field(
        None,
        description="When the building is in use (site time zone); unset: the site's "
        "`occupancy`. Consumption outside it counts as off-hours use.",
    )


class EarlierRatio(StrictModel):
    """The transformers' ratio a meter had before they were changed."""

    until: date = Field(
        description="The day the transformers were changed (site time): this ratio applies "
        "to what the meter counted before that day."
    )
    ratio: float = Field(gt=0, le=100_000, description="CT × PT before that day.")
    pt_ratio: float = Field(1.0, gt=0, le=100_000, description="PT alone before that day.")


class MeterSpec(StrictModel):
    """What a meter measures (electricity_meter, water_meter only)."""

    system: MeterSystem | None = Field(
        None,
        description=f"What it feeds: one of {', '.join(METER_SYSTEMS)}. Default: mains for a "
        "meter without a parent, other for a sub-meter.",
    )
    parent: str | None = Field(
        None,
        description="Id of the meter upstream of it (sub-metering), of the same type and "
        "building; unset for a building's main meter.",
    )
    counter_max: float | None = Field(
        None,
        gt=0,
        description="Where the counter wraps to zero (its unit: kWh, m³). Default 1 000 000 "
        "kWh (DL/T 645's XXXXXX.XX) or 4 294 967.296 m³ (a uint32 of litres).",
    )
    max_rate: float | None = Field(
        None,
        gt=0,
        description="The most it counts per hour (kW or m³/h: its rating, e.g. the breaker's "
        "or the pipe's). A counter rising faster is a bad reading or a replaced meter, not "
        "use. Default 5 000 kW or 300 m³/h.",
    )

    ratio: float = Field(
        1.0,
        gt=0,
        le=100_000,
        description="The instrument transformers' ratio (互感器倍率, CT × PT): a meter wired "
        "through current (and voltage) transformers counts the secondary side, and its energy "
        "and power readings are multiplied by this to give the building's (e.g. 80 for "
        "400/5 A). `counter_max` stays the meter's own (secondary) register range.",
    )
    pt_ratio: float = Field(
        1.0,
        gt=0,
        le=100_000,
        description="The voltage transformers' ratio alone (PT, e.g. 100 for 10 kV/100 V; 1: "
        "a low-voltage meter without them): its voltages are multiplied by it, its currents "
        "by ratio / pt_ratio (the CT's), its power and energy by ratio.",
    )

    ratio_before: list[EarlierRatio] = Field(
        default_factory=list,
        description="Earlier transformer ratios, by date (a capacity upgrade from 400/5 to "
        "600/5 A): each applies before its `until` day, `ratio` from the last one on, so a "
        "change does not rescale past months, baselines or savings. In the asset CSV "
        "`until:ratio[:pt_ratio]` joined by `;` (e.g. `2026-05-01:80`).",
    )

    @field_validator("ratio_before", mode="before")
    @classmethod
    def _ratio_cells(cls, value: object) -> object:
        """The asset CSV's text form, `2026-05-01:80;2027-01-01:120:1`."""
        if not isinstance(value, str):
            return value
        out = []
        for part in (p.strip() for p in value.split(";")):
            if not part:
                continue
            fields = part.split(":")
            if len(fields) not in (2, 3):
                raise ValueError(f"{part!r} is not until:ratio[:pt_ratio]")
            entry = {"until": fields[0], "ratio": fields[1]}
            if len(fields) == 3:
                entry["pt_ratio"] = fields[2]
            out.append(entry)
        return out

    @model_validator(mode="after")
    def _ratios_by_date(self) -> Self:
        days = [r.until for r in self.ratio_before]
        if any(b <= a for a, b in itertools.pairwise(days)):
            raise ValueError("ratio_before must be by rising `until`, one entry a day")
        return self

    def ratios_on(self, day: date | None = None) -> tuple[float, float]:
        """(ratio, pt_ratio) in force on a site-local day; None: now."""
        if day is not None:
            for earlier in self.ratio_before:
                if day < earlier.until:
                    return earlier.ratio, earlier.pt_ratio
        return self.ratio, self.pt_ratio

    def ratio_text(self) -> str:
        """`ratio_before` as the asset CSV writes it."""
        return ";".join(
            f"{r.until.isoformat()}:{r.ratio!r}" + (f":{r.pt_ratio!r}" if r.pt_ratio != 1 else "")
            for r in self.ratio_before
        )

    def feeds(self) -> str:
        """The system, with its default."""
        return self.system or ("other" if self.parent else "mains")


_PRIMARY_BY_RATIO = ("_kw", "_kwh", "_kvar", "_kvarh", "_kva", "_kvah")


def primary_factor(
    equipment_type: str, meter: MeterSpec | None, point: str, on: date | None = None
) -> float:
    """What an electricity meter's reading of `point` is multiplied by to be on the primary
    side of its instrument transformers (the building's figures): power and energy
    (`…_kw`, `…_kwh`, `…_kvar`, …) by `ratio` (CT × PT), currents (`…_a`) by the CT's ratio
    (`ratio / pt_ratio`), voltages (`…_v`) by `pt_ratio`; 1 for anything else, for every
    other equipment and for a meter without transformers. The one place this is decided:
    the rules engine's readings, the console's readings and the energy accounting all
    take their factor from it (docs/architecture.md, "Energy"). `on`: the site-local day
    of the reading (the ratio in force then, `MeterSpec.ratio_before`); None: now."""
    if meter is None or equipment_type != "electricity_meter":
        return 1.0
    ratio, pt_ratio = meter.ratios_on(on)
    if point.endswith(_PRIMARY_BY_RATIO):
        return ratio
    if point.endswith("_a"):
        return ratio / pt_ratio
    if point.endswith("_v"):
        return pt_ratio
    return 1.0


class EquipmentSpec(StrictModel):
    """One equipment (asset) of the site."""

    id: str = Field(description="Equipment id, unique in the site, e.g. P-01.")
    type: str = Field(description=f"One of {', '.join(EQUIPMENT_TYPES)}.")
    building: str = Field(description="Id of the building it stands in.")
    name: str = ""
    gateway: str | None = Field(
        None,
        description="Id of the gateway that reports this equipment. Ingest and rules accept its "
        "readings from that gateway only (`not_owner` otherwise); unset for equipment nobody "
        "monitors (its readings are refused from every gateway).",
    )
    location: str = Field("", description="Floor, shaft or plant room.")
    model: str = ""
    machine_class: str | None = Field(None, description="e.g. ISO 10816 class I–IV for pumps.")
    installed: date | None = Field(None, description="Install date; the age axis starts here.")
    last_overhaul: date | None = Field(None, description="Last major overhaul (renews age).")
    rated: dict[str, float] = Field(default_factory=dict, description="Ratings: current_a, …")
    params: dict[str, float] = Field(
        default_factory=dict, description="Per-equipment rule parameters overriding defaults."
    )
    meter: MeterSpec | None = Field(
        None,
        description="Meters only: the system it feeds, its parent meter and where its counter "
        "wraps (unset: a main meter with the type's counter).",
    )
    curve: list[PumpCurvePoint] | None = Field(
        None,
        description="Pumps only: the rated curve from the data sheet, at least two points by "
        "rising flow with falling head (efficiency optional). Efficiency figures are read "
        "against it.",
    )
    serves: str | None = Field(
        None,
        description="Electricity meters only: id of the pump this meter feeds alone; its "
        "power is then the pump's electrical input.",
    )

    @model_validator(mode="after")
    def _check_type(self) -> Self:
        if self.type not in EQUIPMENT_TYPES:
            raise ValueError(f"equipment {self.id}: unknown type {self.type!r}")
        if self.meter is not None and self.type not in METER_TYPES:
            raise ValueError(f"equipment {self.id}: meter: only meters have one, not {self.type}")
        if self.meter is not None and self.meter.parent == self.id:
            raise ValueError(f"equipment {self.id}: meter.parent: a meter is not its own parent")
        if self.curve is not None:
            self._check_curve(self.curve)
        if self.serves is not None and self.type != "electricity_meter":
            raise ValueError(f"equipment {self.id}: serves: only electricity meters feed a pump")
        return self

    def _check_curve(self, curve: list[PumpCurvePoint]) -> None:
        where = f"equipment {self.id}: curve"
        if self.type != "pump":
            raise ValueError(f"{where}: only pumps have one, not {self.type}")
        if len(curve) < 2:
            raise ValueError(f"{where}: needs at least two points")
        for a, b in itertools.pairwise(curve):
            if not a.flow_m3h < b.flow_m3h:
                raise ValueError(f"{where}: flows must rise ({a.flow_m3h} then {b.flow_m3h})")
            if b.head_m > a.head_m:
                raise ValueError(
                    f"{where}: head must not rise with flow ({a.head_m} then {b.head_m})"
                )

    def metering(self) -> MeterSpec | None:
        """A meter's metering facts (defaults when the entry gives none); None for others."""
        if self.type not in METER_TYPES:
            return None
        return self.meter or MeterSpec()

    def counter(self) -> tuple[str, float] | None:
        """A meter's counter point and the value it wraps at; None for other equipment."""
        spec = self.metering()
        if spec is None:
            return None
        point, wrap = METER_COUNTERS[self.type]
        return point, spec.counter_max or wrap


class EnergySpec(StrictModel):
    """How a site's energy saving is valued and weather-normalised (issue 20)."""

    tariff_electricity: float | None = Field(
        None, ge=0, le=1000, description="Price of a kWh, in `currency`; unset: no money figure."
    )
    tariff_water: float | None = Field(
        None, ge=0, le=1000, description="Price of a m³ of water, in `currency`."
    )
    currency: str = Field("CNY", min_length=1, max_length=8, description="e.g. CNY.")
    heating_base_c: float = Field(
        18.0, ge=-20, le=40, description="Base temperature of heating degree-days (°C)."
    )
    cooling_base_c: float = Field(
        26.0, ge=-20, le=40, description="Base temperature of cooling degree-days (°C)."
    )

    @model_validator(mode="after")
    def _check_bases(self) -> Self:
        if self.heating_base_c > self.cooling_base_c:
            raise ValueError("energy: heating_base_c is above cooling_base_c")
        return self


class SiteSpec(StrictModel):
    """A site: its buildings and equipment."""

    site: str = Field(description="Site id (a topic level: no '/', '+', '#').")
    name: str = ""
    timezone: str = Field(
        DEFAULT_TIMEZONE,
        description="IANA time zone of the site: its days, months, shifts, schedules, reports "
        "and displayed times follow it.",
    )
    since: date | None = Field(
        None,
        description="First day (site time) the site is managed here; no figures before it. "
        "Default: the day the site is first registered.",
    )
    language: str = Field(
        DEFAULT_LANGUAGE,
        description=f"Default language of the site's texts ({', '.join(SITE_LANGUAGES)}): "
        "notices, reports, and the console for users who chose none.",
    )
    occupancy: list[OccupancyWindow] = Field(
        default_factory=list,
        description="When the site's buildings are in use (site time zone), unless a building "
        "gives its own; empty: no schedule (no off-hours judgement). On the site's "
        "`calendar`: a holiday is taken as a Sunday, a make-up workday as a Monday.",
    )
    calendar: CalendarSpec | None = Field(
        None,
        description="The site's working calendar: which days are workdays for rounds that "
        "repeat on workdays and for the occupancy schedules. Unset: Monday to Friday.",
    )
    buildings: list[BuildingSpec]
    equipment: list[EquipmentSpec]
    energy: EnergySpec = Field(
        default_factory=EnergySpec,
        description="Tariffs and degree-day base temperatures of the energy saving figures.",
    )

    @model_validator(mode="after")
    def _check_refs(self) -> Self:
        bids = [b.id for b in self.buildings]
        if len(set(bids)) != len(bids):
            raise ValueError(f"site {self.site}: duplicate building ids")
        seen: set[str] = set()
        for eq in self.equipment:
            if eq.id in seen:
                raise ValueError(f"site {self.site}: duplicate equipment id {eq.id!r}")
            seen.add(eq.id)
            if eq.building not in bids:
                raise ValueError(f"equipment {eq.id}: unknown building {eq.building!r}")
            if eq.gateway is not None:
                try:
                    topics.gateway_status(self.site, eq.gateway)
                except ValueError as err:
                    raise ValueError(f"equipment {eq.id}: gateway: {err}") from err
        self._check_meters()
        self._check_serves()
        return self

    def _check_serves(self) -> None:
        """A meter's `serves` names a pump of the site, and one pump has one meter."""
        by_id = {eq.id: eq for eq in self.equipment}
        fed: dict[str, str] = {}
        for eq in self.equipment:
            if eq.serves is None:
                continue
            pump = by_id.get(eq.serves)
            if pump is None or pump.type != "pump":
                raise ValueError(f"equipment {eq.id}: serves: {eq.serves!r} is no pump of the site")
            if eq.serves in fed:
                raise ValueError(
                    f"equipment {eq.id}: serves: {eq.serves} is already fed by {fed[eq.serves]}"
                )
            fed[eq.serves] = eq.id

    def occupancy_of(self, building: str) -> list[OccupancyWindow]:
        """A building's occupancy schedule (its own, else the site's)."""
        for b in self.buildings:
            if b.id == building and b.occupancy is not None:
                return b.occupancy
        return self.occupancy

    def _check_meters(self) -> None:
        """Each parent meter exists, is a meter of the same type in the same building, and no
        chain of parents comes back to where it started."""
        by_id = {eq.id: eq for eq in self.equipment}
        for eq in self.equipment:
            parent = eq.meter.parent if eq.meter else None
            if parent is None:
                continue
            up = by_id.get(parent)
            where = f"equipment {eq.id}: meter.parent"
            if up is None:
                raise ValueError(f"{where}: unknown equipment {parent!r}")
            if up.type != eq.type:
                raise ValueError(f"{where}: {parent} is a {up.type}, not an {eq.type}")
            if up.building != eq.building:
                raise ValueError(
                    f"{where}: {parent} is in building {up.building}, not {eq.building}"
                )
        for eq in self.equipment:
            chain = [eq.id]
            at = eq
            while at.meter is not None and at.meter.parent is not None:
                at = by_id[at.meter.parent]
                if at.id in chain:
                    loop = " → ".join([*chain[chain.index(at.id) :], at.id])
                    raise ValueError(f"equipment {eq.id}: meter.parent: a loop of parents: {loop}")
                chain.append(at.id)

    def meters(self) -> list[EquipmentSpec]:
        """The site's meters, in file order."""
        return [eq for eq in self.equipment if eq.type in METER_TYPES]

    @field_validator("timezone")
    @classmethod
    def _check_timezone(cls, value: str) -> str:
        site_zone(value)
        return value

    @field_validator("language")
    @classmethod
    def _check_language(cls, value: str) -> str:
        if value not in SITE_LANGUAGES:
            raise ValueError(f"unknown language {value!r}; one of {list(SITE_LANGUAGES)}")
        return value

    def zone(self) -> ZoneInfo:
        """The site's time zone."""
        return site_zone(self.timezone)


def load_site(path: Path) -> SiteSpec:
    """Load and validate a site file."""
    return load_config(path, SiteSpec)
