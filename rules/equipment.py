"""What the rules know of one equipment: its site, type, ratings, params and machine class."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from bldgwatch.core.site import EquipmentSpec, SiteSpec


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

    @classmethod
    def from_spec(cls, site: str, spec: EquipmentSpec) -> Equipment:
        """From a site-file entry."""
        return cls(
            site,
            spec.id,
            spec.type,
            spec.building,
            dict(spec.params),
            dict(spec.rated),
            spec.machine_class,
        )


def equipment_of(sites: Iterable[SiteSpec]) -> list[Equipment]:
    """Every equipment of the given site files."""
    return [Equipment.from_spec(s.site, eq) for s in sites for eq in s.equipment]
