"""Who gets a work order: technicians by site and skill, the on-call roster first. Pure choice,
thin store function.

Candidates are the technicians serving the order's site with the skill its equipment type
needs. Among them, those on call at the time come first; then the one with fewest open orders;
then by id, so the choice is reproducible.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, time
from typing import Protocol

from pydantic import Field, field_validator
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bldgwatch.core.config import StrictModel
from bldgwatch.maintenance.errors import MaintenanceError
from bldgwatch.maintenance.models import (
    TERMINAL_STATUSES,
    EquipmentRow,
    WorkOrderRow,
    WorkOrderStatus,
)
from bldgwatch.maintenance.workorders import get_order, transition

DEFAULT_SKILLS: dict[str, str] = {
    "elevator": "elevator",
    "pump": "mechanical",
    "shaft_panel": "electrical",
    "temp_sensor": "electrical",
}


class Shift(StrictModel):
    """An on-call window, UTC: on these weekdays (0 = Monday) from `start` to `end`."""

    days: list[int] = Field(
        default_factory=lambda: list(range(7)), description="Weekdays, 0 = Monday … 6 = Sunday."
    )
    start: time = Field(time(0, 0), description="Start of the window (UTC), HH:MM.")
    end: time = Field(
        time(23, 59, 59), description="End of the window (UTC); before start: overnight."
    )

    @field_validator("days")
    @classmethod
    def _weekdays(cls, value: list[int]) -> list[int]:
        if any(d < 0 or d > 6 for d in value):
            raise ValueError("weekdays are 0 (Monday) … 6 (Sunday)")
        return value

    def covers(self, when: datetime) -> bool:
        """True when `when` falls in the window (an overnight window belongs to its start day)."""
        clock = when.time().replace(tzinfo=None)
        if self.start <= self.end:
            return when.weekday() in self.days and self.start <= clock <= self.end
        if clock >= self.start:
            return when.weekday() in self.days
        return (when.weekday() - 1) % 7 in self.days and clock <= self.end


class Technician(StrictModel):
    """One technician: where they work, what they can do, how to reach them."""

    id: str = Field(description="Technician id (stored in `assigned_to`).")
    name: str = Field("", description="Display name.")
    sites: list[str] = Field(description="Sites served; '*' for all.")
    skills: list[str] = Field(description="Skills, e.g. elevator, mechanical, electrical.")
    email: str | None = Field(None, description="Where assignment and overdue notices go.")
    on_call: list[Shift] = Field(
        default_factory=list, description="On-call windows; none: never on call."
    )
    active: bool = Field(True, description="False: away or gone; never assigned.")

    def serves(self, site: str) -> bool:
        """True when the technician works at `site`."""
        return "*" in self.sites or site in self.sites

    def is_on_call(self, when: datetime) -> bool:
        """True when one of the on-call windows covers `when`."""
        return any(shift.covers(when) for shift in self.on_call)


class RosterSettings(StrictModel):
    """Technicians, the skill each equipment type needs, and automatic assignment."""

    technicians: list[Technician] = Field(default_factory=list, description="The team.")
    skills: dict[str, str] = Field(
        default_factory=lambda: dict(DEFAULT_SKILLS),
        description="Skill needed per equipment type; merged over elevator→elevator, "
        "pump→mechanical, shaft_panel and temp_sensor→electrical.",
    )
    auto_assign: bool = Field(
        False, description="Assign new reactive orders at once (needs technicians)."
    )

    @field_validator("skills", mode="after")
    @classmethod
    def _merge(cls, value: dict[str, str]) -> dict[str, str]:
        return {**DEFAULT_SKILLS, **value}

    def skill_for(self, equipment_type: str) -> str:
        """The skill an equipment type needs (its own name when not listed)."""
        return self.skills.get(equipment_type, equipment_type)

    def technician(self, tech_id: str) -> Technician | None:
        """The technician with that id."""
        return next((t for t in self.technicians if t.id == tech_id), None)


class NoTechnician(MaintenanceError):  # noqa: N818
    """Nobody on the roster serves that site with that skill (HTTP 409)."""


class UnknownTechnician(MaintenanceError):  # noqa: N818
    """Assigned to someone who is not an active technician (HTTP 400)."""

    def __init__(self, tech_id: str) -> None:
        super().__init__(f"technician {tech_id!r} does not exist or is not active")
        self.tech_id = tech_id


class TechnicianNotAtSite(MaintenanceError):  # noqa: N818
    """Assigned to a technician who does not serve the order's site (HTTP 400)."""

    def __init__(self, tech_id: str, site: str) -> None:
        super().__init__(f"technician {tech_id!r} does not serve site {site!r}")
        self.tech_id = tech_id
        self.site = site


class TechnicianDirectory(Protocol):
    """Who the technicians are: the roster for the maintenance service, the console's users
    with the technician role for the console."""

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
    """Assign an open order to `technician`, or to the roster's choice; the caller commits.

    `note` goes on the timeline (by default: "on call" when the technician is on call). A
    named technician must be an active one of the order's site in `directory` (the roster
    when None).

    Raises NoTechnician when the roster has nobody for it, UnknownTechnician or
    TechnicianNotAtSite for a named technician who may not have it, InvalidTransition (409)
    when the order is not open. Returns the order and the technician's entry.
    """
    order = get_order(session, order_id, for_update=True)
    if technician is not None:
        chosen = check_assignable(directory or roster, technician, order.site)
    else:
        asset = session.get(EquipmentRow, (order.site, order.equipment))
        skill = roster.skill_for(asset.type if asset is not None else "")
        picked = choose_technician(
            roster.technicians, site=order.site, skill=skill, when=at, load=open_load(session)
        )
        if picked is None:
            raise NoTechnician(f"nobody serves {order.site} with skill {skill!r}")
        chosen = picked
    who = chosen.id
    note = note or ("on call" if chosen.is_on_call(at) else "")
    order = transition(
        session, order_id, WorkOrderStatus.ASSIGNED, actor=actor, at=at, note=note, assigned_to=who
    )
    return order, chosen
