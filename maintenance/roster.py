"""Who gets a work order: technicians by site and skill, the on-call roster first. Pure choice,
thin store function.

Candidates are the active technicians of the directory (`maintenance.technicians`, the one
source at run time) serving the order's site with the skill its equipment type needs. Among
them, those on call at the time come first; then the one with fewest open orders; then by
id, so the choice is reproducible.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Protocol

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bldgwatch.core.i18n import Message
from bldgwatch.maintenance.config import RosterSettings, Technician
from bldgwatch.maintenance.errors import MaintenanceError
from bldgwatch.maintenance.models import (
    TERMINAL_STATUSES,
    EquipmentRow,
    WorkOrderRow,
    WorkOrderStatus,
)
from bldgwatch.maintenance.technicians import StoredTechnicians
from bldgwatch.maintenance.workorders import get_order, transition


class NoTechnician(MaintenanceError):  # noqa: N818
    """Nobody on the roster serves that site with that skill (HTTP 409)."""


class UnknownTechnician(MaintenanceError):  # noqa: N818
    """Assigned to someone who is not an active technician (HTTP 400)."""

    def __init__(self, tech_id: str) -> None:
        super().__init__(Message("error.technician.unknown", {"technician": tech_id}))
        self.tech_id = tech_id


class TechnicianNotAtSite(MaintenanceError):  # noqa: N818
    """Assigned to a technician who does not serve the order's site (HTTP 400)."""

    def __init__(self, tech_id: str, site: str) -> None:
        super().__init__(
            Message("error.technician.not_at_site", {"technician": tech_id, "site": site})
        )
        self.tech_id = tech_id
        self.site = site


class TechnicianDirectory(Protocol):
    """Who the technicians are: the stored directory (`maintenance.technicians`), or the
    console's users with the technician role for assignments made in the console (their
    entries in the directory mirror them)."""

    def technician(self, tech_id: str) -> Technician | None:
        """The technician with that id, or None."""
        ...


def check_assignable(directory: TechnicianDirectory, tech_id: str, site: str) -> Technician:
    """The technician when active and serving `site`; UnknownTechnician or
    TechnicianNotAtSite otherwise. Every assignment passes here."""
    tech = directory.technician(tech_id)
    if tech is None or not tech.active:
        raise UnknownTechnician(tech_id)
    if not tech.serves(site):
        raise TechnicianNotAtSite(tech_id, site)
    return tech


def choose_technician(
    team: Sequence[Technician],
    *,
    site: str,
    skill: str,
    when: datetime,
    load: Mapping[str, int],
) -> Technician | None:
    """The technician for an order: site and skill, on call first, least loaded, then by id."""
    fit = [t for t in team if t.active and t.serves(site) and skill in t.skills]
    if not fit:
        return None
    return min(fit, key=lambda t: (not t.is_on_call(when), load.get(t.id, 0), t.id))


def open_load(session: Session) -> dict[str, int]:
    """Open orders per assignee."""
    rows = session.execute(
        select(WorkOrderRow.assigned_to, func.count())
        .where(
            WorkOrderRow.assigned_to.is_not(None),
            WorkOrderRow.status.not_in([s.value for s in TERMINAL_STATUSES]),
        )
        .group_by(WorkOrderRow.assigned_to)
    ).all()
    return {str(who): int(n) for who, n in rows}


def assign_order(
    session: Session,
    order_id: int,
    roster: RosterSettings,
    *,
    at: datetime,
    actor: str,
    technician: str | None = None,
    note: str = "",
    directory: TechnicianDirectory | None = None,
) -> tuple[WorkOrderRow, Technician]:
    """Assign an open order to `technician`, or to the roster's choice among the directory's
    active technicians; the caller commits.

    `note` goes on the timeline (by default: "on call" when the technician is on call). A
    named technician must be an active one of the order's site in `directory` (the stored
    directory when None); `roster` gives the skill each equipment type needs.

    Raises NoTechnician when the directory has nobody for it, UnknownTechnician or
    TechnicianNotAtSite for a named technician who may not have it, InvalidTransition (409)
    when the order is not open. Returns the order and the technician's entry.
    """
    order = get_order(session, order_id, for_update=True)
    stored = StoredTechnicians(session)
    if technician is not None:
        chosen = check_assignable(directory or stored, technician, order.site)
    else:
        asset = session.get(EquipmentRow, (order.site, order.equipment))
        skill = roster.skill_for(asset.type if asset is not None else "")
        picked = choose_technician(
            stored.team(), site=order.site, skill=skill, when=at, load=open_load(session)
        )
        if picked is None:
            raise NoTechnician(
                Message("error.technician.none", {"site": order.site, "skill": skill})
            )
        chosen = picked
    who = chosen.id
    note = note or ("on call" if chosen.is_on_call(at) else "")
    order = transition(
        session, order_id, WorkOrderStatus.ASSIGNED, actor=actor, at=at, note=note, assigned_to=who
    )
    return order, chosen
