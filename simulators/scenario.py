"""Scenarios: sites x buildings x equipment with life models, expanded into simulator configs.

A scenario names equipment classes (model kind, register map, bathtub life parameters, the
faults a failure becomes), sites with explicit or generated buildings, and faults: scheduled,
random ones every few minutes, and those drawn from each equipment's life model. Expansion is
pure and seeded: the same file and seed give the same fleet, install dates and faults.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from importlib import resources
from pathlib import Path
from typing import Any, Literal, Self

from pydantic import Field, field_validator, model_validator

from bldgwatch.core.config import MqttSettings, StrictModel, load_config, parse_config
from bldgwatch.simulators.config import ScheduledFault, SimulatorConfig
from bldgwatch.simulators.devices import MODBUS_MODELS, MODELS
from bldgwatch.simulators.faults import FAULTS
from bldgwatch.simulators.life import YEAR, EquipmentLife, LifeParams, Renewal, live

MAX_UNITS = 247


class AssetClass(StrictModel):
    """An equipment class: its model, register map and life."""

    kind: str = Field(description=f"Model kind: one of {', '.join(MODELS)}.")
    profile: str | None = Field(None, description="Register map (Modbus kinds).")
    prefix: str = Field(description="Equipment id prefix, e.g. E for E01, E02, ...")
    params: dict[str, float] = Field(default_factory=dict, description="Model parameters.")
    life: LifeParams = Field(default_factory=LifeParams, description="Bathtub intensity.")
    renewal: Renewal = Field(default_factory=Renewal, description="Overhaul / replacement.")
    failure_faults: list[str] = Field(
        default_factory=list, description="Faults a drawn failure becomes (one at random)."
    )
    repair_hours: float = Field(8.0, gt=0, description="How long a failure episode lasts.")
    interval_s: float = Field(10.0, gt=0, description="MQTT sensors: seconds between messages.")

    @model_validator(mode="after")
    def _check(self) -> Self:
        if self.kind not in MODELS:
            raise ValueError(f"unknown kind {self.kind!r} (known: {sorted(MODELS)})")
        if self.kind in MODBUS_MODELS and self.profile is None:
            raise ValueError(f"a {self.kind} class needs a profile")
        for fault in self.failure_faults:
            if fault not in FAULTS or not FAULTS[fault].applies_to(self.kind):
                raise ValueError(f"fault {fault!r} does not apply to a {self.kind}")
        return self


class EquipmentEntry(StrictModel):
    """One named equipment of a building."""

    id: str = Field(description="Equipment id, unique in the scenario.")
    asset_class: str = Field(description="A class of `classes`.")
    installed: date | None = Field(None, description="Install date; null = drawn by seed.")
    params: dict[str, float] = Field(default_factory=dict, description="Model parameters.")


class BuildingEntry(StrictModel):
    """A building: named equipment and/or counts of generated equipment per class."""

    id: str = Field(description="Building id, unique in the scenario.")
    equipment: list[EquipmentEntry] = Field(default_factory=list, description="Named ones.")
    counts: dict[str, int] = Field(default_factory=dict, description="Generated per class.")


class GeneratedBuildings(StrictModel):
    """`count` buildings with ids `{prefix}01...`, each with `counts` equipment per class."""

    count: int = Field(ge=1, le=10_000, description="Number of buildings.")
    prefix: str = Field("B", description="Building id prefix.")
    counts: dict[str, int] = Field(description="Equipment per class in each building.")


class SiteEntry(StrictModel):
    """A site (a topic level) with its buildings."""

    site: str = Field(description="Site id.")
    buildings: list[BuildingEntry] = Field(default_factory=list, description="Buildings.")
    generate: GeneratedBuildings | None = Field(None, description="Generated buildings.")


class RandomFaults(StrictModel):
    """A fault on a random equipment every `every_s` simulated seconds (seeded)."""

    every_s: float = Field(gt=0, description="Simulated seconds between fault starts.")
    duration_s: float = Field(gt=0, description="How long each lasts.")
    faults: list[str] = Field(min_length=1, description="Fault names drawn from.")
    count: int = Field(50, ge=1, le=10_000, description="How many are scheduled.")

    @field_validator("faults")
    @classmethod
    def _known(cls, faults: list[str]) -> list[str]:
        unknown = [f for f in faults if f not in FAULTS]
        if unknown:
            raise ValueError(f"unknown faults {unknown}")
        return faults


class Scenario(StrictModel):
    """`bldgwatch simulate --scenario FILE`: a fleet, its time, its faults."""

    scenario: str = Field(description="Scenario name.")
    seed: int = Field(42, description="Same seed => same fleet, install dates and faults.")
    mode: Literal["serve", "offline"] = Field(
        "serve", description="serve: real devices; offline: life history only, in seconds."
    )
    speed: float = Field(1.0, gt=0, description="Simulated seconds per wall second.")
    step_s: float = Field(0.5, gt=0, le=10, description="Wall seconds between model steps.")
    start: datetime | None = Field(None, description="Simulated start (UTC); null = now.")
    host: str = Field("127.0.0.1", description="Address the Modbus servers bind.")
    base_port: int = Field(
        15020, ge=1, le=65535, description="Building i (0-based) is served on base_port + i."
    )
    mqtt: MqttSettings = Field(default_factory=MqttSettings, description="Broker.")
    installed_between: tuple[date, date] = Field(
        (date(2005, 1, 1), date(2025, 12, 31)), description="Install dates drawn from here."
    )
    life_days: float = Field(
        7.0, ge=0, description="Served runs: life failures drawn over this many days."
    )
    history_until: datetime | None = Field(
        None, description="Offline runs: history up to here (UTC); null = start."
    )
    classes: dict[str, AssetClass] = Field(description="Equipment classes by name.")
    sites: list[SiteEntry] = Field(min_length=1, description="Sites.")
    faults: list[ScheduledFault] = Field(default_factory=list, description="Scheduled faults.")
    random_faults: RandomFaults | None = Field(None, description="Faults every few minutes.")

    @model_validator(mode="after")
    def _check(self) -> Self:
        assets = expand(self)
        ids = [a.equipment for a in assets]
        if len(set(ids)) != len(ids):
            raise ValueError("duplicate equipment ids in the scenario")
        known = set(ids)
        for i, sched in enumerate(self.faults):
            if sched.equipment not in known:
                raise ValueError(f"faults[{i}]: unknown equipment {sched.equipment!r}")
        return self


@dataclass(frozen=True)
class Asset:
    """One expanded equipment: where it stands, how it is served, its class."""

    site: str
    building: str
    equipment: str
    asset_class: str
    kind: str
    params: dict[str, float]
    installed: date | None
    port: int
    unit: int


def _building_list(site: SiteEntry) -> list[BuildingEntry]:
    out = list(site.buildings)
    gen = site.generate
    if gen is not None:
        width = max(2, len(str(gen.count)))
        for i in range(1, gen.count + 1):
            out.append(BuildingEntry(id=f"{gen.prefix}{i:0{width}d}", counts=gen.counts))
    return out


def _entries(scn: Scenario, building: BuildingEntry) -> list[EquipmentEntry]:
    out = list(building.equipment)
    for name, count in building.counts.items():
        if name not in scn.classes:
            raise ValueError(f"building {building.id}: unknown class {name!r}")
        prefix = scn.classes[name].prefix
        for n in range(1, count + 1):
            out.append(EquipmentEntry(id=f"{building.id}-{prefix}{n:02d}", asset_class=name))
    return out


def expand(scn: Scenario) -> list[Asset]:
    """Every equipment of the scenario; building i gets port base_port + i, units 1, 2, ..."""
    assets: list[Asset] = []
    index = 0
    for site in scn.sites:
        for building in _building_list(site):
            port, unit = scn.base_port + index, 0
            index += 1
            for entry in _entries(scn, building):
                cls = scn.classes.get(entry.asset_class)
                if cls is None:
                    raise ValueError(f"{entry.id}: unknown class {entry.asset_class!r}")
                if cls.kind in MODBUS_MODELS:
                    unit += 1
                    if unit > MAX_UNITS:
                        raise ValueError(f"building {building.id}: more than {MAX_UNITS} units")
                params = {**cls.params, **entry.params}
                assets.append(
                    Asset(
                        site.site,
                        building.id,
                        entry.id,
                        entry.asset_class,
                        cls.kind,
                        params,
                        entry.installed,
                        port,
                        unit,
                    )
                )
    return assets


SHIPPED = Path(str(resources.files("bldgwatch.simulators") / "scenarios"))
"""The scenarios that come with the package (demo, portfolio, lifecycle)."""


def resolve_scenario(name_or_path: Path) -> Path:
    """A scenario file: a path that exists, else a shipped scenario by name (`demo`,
    `demo.yaml`, or a path ending in one, as the docs give it from the checkout)."""
    if name_or_path.is_file():
        return name_or_path
    shipped = SHIPPED / (name_or_path.stem + ".yaml")
    return shipped if name_or_path.suffix in ("", ".yaml") and shipped.is_file() else name_or_path


def load_scenario(path: Path) -> Scenario:
    """Load and validate a scenario file, or a shipped one by name (ConfigError names the bad
    field, or the file that cannot be read)."""
    return load_config(resolve_scenario(path), Scenario)


def _rng(scn: Scenario, *parts: object) -> random.Random:
    return random.Random("/".join(map(str, (scn.seed, *parts))))


def install_time(scn: Scenario, asset: Asset) -> datetime:
    """The asset's install date (given, or drawn by seed from `installed_between`)."""
    day = asset.installed
    if day is None:
        first, last = scn.installed_between
        span = max(0, (last - first).days)
        day = first + timedelta(days=_rng(scn, "installed", asset.equipment).randint(0, span))
    return datetime.combine(day, time(), tzinfo=UTC)


def lives(scn: Scenario, until: datetime) -> dict[str, EquipmentLife]:
    """Every equipment's life from install to `until` (seeded per equipment)."""
    out: dict[str, EquipmentLife] = {}
    for asset in expand(scn):
        cls = scn.classes[asset.asset_class]
        installed = install_time(scn, asset)
        out[asset.equipment] = live(
            asset.equipment,
            asset.asset_class,
            cls.life,
            cls.renewal,
            installed=installed,
            until=max(installed, until),
            rng=_rng(scn, "life", asset.equipment),
        )
    return out


def _random_faults(scn: Scenario, assets: list[Asset]) -> list[ScheduledFault]:
    spec = scn.random_faults
    if spec is None:
        return []
    rng = _rng(scn, "random-faults")
    out: list[ScheduledFault] = []
    for i in range(1, spec.count + 1):
        fault = rng.choice(spec.faults)
        fits = [a for a in assets if FAULTS[fault].applies_to(a.kind)]
        if fits:
            target = rng.choice(fits).equipment
            at = i * spec.every_s
            out.append(
                ScheduledFault(equipment=target, fault=fault, at_s=at, duration_s=spec.duration_s)
            )
    return out


def _life_faults(
    scn: Scenario, start: datetime, life: dict[str, EquipmentLife]
) -> list[ScheduledFault]:
    out: list[ScheduledFault] = []
    end = start + timedelta(days=scn.life_days)
    for equipment, one in life.items():
        cls = scn.classes[one.asset_class]
        if not cls.failure_faults:
            continue
        rng = _rng(scn, "failure-fault", equipment)
        for ev in one.failures():
            if start <= ev.at < end:
                out.append(
                    ScheduledFault(
                        equipment=equipment,
                        fault=rng.choice(cls.failure_faults),
                        at_s=(ev.at - start).total_seconds(),
                        duration_s=cls.repair_hours * 3600,
                    )
                )
    return out


def site_configs(
    scn: Scenario, start: datetime, life: dict[str, EquipmentLife], ground_truth: Path | None
) -> list[SimulatorConfig]:
    """One simulator config per site: devices, sensors, and every fault due on the run."""
    assets = expand(scn)
    faults = [*scn.faults, *_random_faults(scn, assets), *_life_faults(scn, start, life)]
    configs = []
    for site in scn.sites:
        mine = [a for a in assets if a.site == site.site]
        names = {a.equipment for a in mine}
        data: dict[str, Any] = {
            "site": site.site,
            "seed": scn.seed,
            "speed": scn.speed,
            "step_s": scn.step_s,
            "mqtt": scn.mqtt.model_dump(),
            "ground_truth": ground_truth,
            "devices": [_device(scn, a) for a in mine if a.kind in MODBUS_MODELS],
            "sensors": [_sensor(scn, a) for a in mine if a.kind not in MODBUS_MODELS],
            "faults": [f.model_dump() for f in faults if f.equipment in names],
        }
        configs.append(parse_config(data, SimulatorConfig))
    return configs


def _device(scn: Scenario, asset: Asset) -> dict[str, Any]:
    return {
        "equipment": asset.equipment,
        "kind": asset.kind,
        "profile": scn.classes[asset.asset_class].profile,
        "host": scn.host,
        "port": asset.port,
        "unit": asset.unit,
        "params": asset.params,
    }


def _sensor(scn: Scenario, asset: Asset) -> dict[str, Any]:
    return {
        "equipment": asset.equipment,
        "kind": asset.kind,
        "topic": f"sensors/{asset.site}/{asset.equipment}",
        "interval_s": scn.classes[asset.asset_class].interval_s,
        "params": asset.params,
    }


__all__ = ["YEAR", "Asset", "Scenario", "expand", "lives", "load_scenario", "site_configs"]
