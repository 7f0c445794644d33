"""The site register: buildings and equipment with their ratings, rule parameters and the
gateway that reports each one.

One YAML file per site, read by ingest and rules (types, owners, parameters) and maintenance
(asset import).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator, model_validator

from bldgwatch.core import topics
from bldgwatch.core.config import StrictModel, load_config

EQUIPMENT_TYPES = ("elevator", "pump", "shaft_panel", "temp_sensor")
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


class BuildingSpec(StrictModel):
    """A building of the site."""

    id: str = Field(description="Building id, unique in the site.")
    name: str = ""


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

    @model_validator(mode="after")
    def _check_type(self) -> Self:
        if self.type not in EQUIPMENT_TYPES:
            raise ValueError(f"equipment {self.id}: unknown type {self.type!r}")
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
    buildings: list[BuildingSpec]
    equipment: list[EquipmentSpec]

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
        return self

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
