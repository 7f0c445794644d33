"""Which readings a consumer takes: the equipment register (who owns what) and the time window.

Ingest and rules apply the same checks to every reading before it has any effect:

- the equipment must be in the site register (`unknown_equipment`), be reported by the
  gateway the register names for it (`not_owner`), and match the register's type and building
  (`registry_mismatch`);
- its source time must lie within `[now - max_age_s, now + max_future_s]` (`too_old`,
  `future_timestamp`), so one reading stamped a year ahead cannot make every later one look
  out of order.

The broker's ACL already keeps a gateway to its own topics (docs/architecture.md); this is the
second half of the binding: a gateway speaks only for the equipment the register gives it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from pydantic import Field

from bldgwatch.core.config import StrictModel
from bldgwatch.core.models import EquipmentInfo
from bldgwatch.core.site import SiteSpec

Problem = tuple[str, str]
"""(reason, detail) of a refused reading."""


class TimeWindow(StrictModel):
    """How far a reading's source time may be from the consumer's clock."""

    max_future_s: float = Field(
        300.0,
        ge=0,
        description="Readings further ahead of the clock than this are refused "
        "(`future_timestamp`), seconds.",
    )
    max_age_s: float = Field(
        2_592_000.0,
        gt=0,
        description="Readings older than this are refused (`too_old`), seconds.",
    )

    def check(self, ts_ms: int, now_ms: int) -> Problem | None:
        """(reason, detail) when `ts_ms` is outside the window around `now_ms`."""
        if ts_ms > now_ms + self.max_future_s * 1000:
            ahead = (ts_ms - now_ms) / 1000
            return "future_timestamp", f"{ahead:.0f} s ahead of the clock"
        if ts_ms < now_ms - self.max_age_s * 1000:
            age = (now_ms - ts_ms) / 1000
            return "too_old", f"{age:.0f} s old, beyond {self.max_age_s:.0f} s"
        return None

    def bounds(self, now_ms: int) -> tuple[float, float]:
        """The lowest and highest accepted source times (epoch ms)."""
        return now_ms - self.max_age_s * 1000, now_ms + self.max_future_s * 1000


@dataclass(frozen=True, slots=True)
class Registered:
    """What the register says about one equipment."""

    info: EquipmentInfo
    gateway: str | None


class EquipmentRegister:
    """Equipment by site and id, with the gateway that owns each (from site files)."""

    def __init__(self, sites: Iterable[SiteSpec]) -> None:
        self._by_site: dict[str, dict[str, Registered]] = {
            spec.site: {
                eq.id: Registered(EquipmentInfo(type=eq.type, building=eq.building), eq.gateway)
                for eq in spec.equipment
            }
            for spec in sites
        }

    @property
    def sites(self) -> list[str]:
        """The sites the register holds."""
        return list(self._by_site)

    def get(self, site: str, equipment: str) -> Registered | None:
        """The register's entry, or None."""
        return self._by_site.get(site, {}).get(equipment)

    def check(
        self, site: str, gateway: str, equipment: str, info: EquipmentInfo | None = None
    ) -> Problem | None:
        """(reason, detail) when `gateway` may not report `equipment` of `site`, else None.

        `info` is what the batch claims (type, building); when given it must match.
        """
        known = self.get(site, equipment)
        if known is None:
            return "unknown_equipment", f"{site}/{equipment} is not in the site register"
        if known.gateway != gateway:
            owner = known.gateway or "no gateway"
            return "not_owner", f"{site}/{equipment} is reported by {owner}, not {gateway}"
        if info is not None and info != known.info:
            return (
                "registry_mismatch",
                f"{site}/{equipment}: batch says {info.type}@{info.building}, "
                f"register says {known.info.type}@{known.info.building}",
            )
        return None
