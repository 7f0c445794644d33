"""Sites as alerts knows them: the service copies each site file's name, time zone and the
names of its buildings and equipment into `alert_sites` at start, so notices and the
console's on-call view use the site's zone and names."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from bldgwatch.alerts.models import AlertSiteRow
from bldgwatch.alerts.render import SiteInfo
from bldgwatch.core.site import SiteSpec, site_zone


def sync_sites(session: Session, specs: list[SiteSpec], now: datetime) -> None:
    """Upsert each site's name, zone and names (in the caller's transaction)."""
    for spec in specs:
        row = session.get(AlertSiteRow, spec.site) or AlertSiteRow(site=spec.site)
        row.name = spec.name
        row.timezone = spec.timezone
        row.buildings = {b.id: b.name for b in spec.buildings if b.name}
        row.equipment = {e.id: e.name for e in spec.equipment if e.name}
        row.updated_at = now
        session.add(row)


def site_info(session: Session, site: str, default_zone: str) -> SiteInfo:
    """A site's name, zone and names; a site without a file gets `default_zone`."""
    row = session.get(AlertSiteRow, site)
    if row is None:
        return SiteInfo(site=site, name=site, zone=site_zone(default_zone))
    return SiteInfo(
        site=site,
        name=row.name or site,
        zone=site_zone(row.timezone),
        buildings=dict(row.buildings),
        equipment=dict(row.equipment),
    )
