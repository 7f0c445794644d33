"""What the rules know of one equipment: its site, type, ratings, params and machine class."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from bldgwatch.core.site import (
    DEFAULT_TIMEZONE,
    EquipmentSpec,
    MeterSpec,
    OccupancyWindow,
    SiteSpec,
)
from bldgwatch.core.workcal import CalendarSpec


@dataclass(frozen=True, slots=True)
class Equipment:
    """What rules need to know about one equipment of a site."""

    site: str
    id: str
    type: str
    building: str
    params: Mapping[str, float] = field(default_factory=dict)
    rated: Mapping[str, float] = field(default_factory=dict)
    machine_class: str | None = None
    timezone: str = DEFAULT_TIMEZONE
    """The site's time zone: nights and occupancy are local."""
    occupancy: tuple[OccupancyWindow, ...] = ()
    """When its building is in use (empty: no schedule)."""
    meter: MeterSpec | None = None
    """Meters: the register's entry; its transformers' ratio puts readings on the primary
    side (`core.site.primary_factor`)."""
    calendar: CalendarSpec | None = None
    """The site's working calendar: a holiday's occupancy is a Sunday's, a make-up
    workday's a Monday's (None: Monday to Friday; `core.workcal`)."""

    @classmethod
    def from_spec(cls, site: str, spec: EquipmentSpec, of: SiteSpec | None = None) -> Equipment:
        """From a site-file entry (`of`: its site, for the time zone and occupancy)."""
        return cls(
            site,
            spec.id,
            spec.type,
            spec.building,
            dict(spec.params),
            dict(spec.rated),
            spec.machine_class,
            of.timezone if of is not None else DEFAULT_TIMEZONE,
            tuple(of.occupancy_of(spec.building)) if of is not None else (),
            spec.meter,
            of.calendar if of is not None else None,
        )


def equipment_of(sites: Iterable[SiteSpec]) -> list[Equipment]:
    """Every equipment of the given site files."""
    return [Equipment.from_spec(s.site, eq, s) for s in sites for eq in s.equipment]
