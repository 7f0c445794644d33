"""The directory of technicians: who may be assigned, where, with which skills. One table
owned by maintenance, the one source every assignment reads at run time (by hand, by the
roster's automatic choice, by a technician accepting an order).

Two writers, each for what it knows:

- the roster file (`roster` in the maintenance config), imported by the maintenance service at
  its start (`import_roster`): the work profile of every technician listed (skills, on-call
  windows, e-mail) and, for technicians without a console account, who they are, where they
  work and whether they are active. An entry the file managed and no longer lists is retired.
- the console (`enroll`, `retire`), in the transaction that creates or changes a user with
  the technician role: the account's name, sites, and whether it is enabled. An entry the
  console manages keeps the console's sites and state whatever the roster file says; the
  file still gives it skills and on-call windows (the console knows neither). A console user
  who is not an enabled technician (another role, or disabled) blocks its name: the entry
  is the console's and inactive, whatever the file lists, so no automatic choice picks it.

Ids are matched without regard to case, as the console matches user names (`Wang` names the
user `wang`): a file's `Wang` is the console's `wang`, and a console account blocks every
spelling of its name.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from bldgwatch.maintenance.config import RosterSettings, Shift, Technician
from bldgwatch.maintenance.models import TechnicianRow

logger = logging.getLogger(__name__)

ROSTER = "roster"
CONSOLE = "console"


def _technician(row: TechnicianRow) -> Technician:
    return Technician(
        id=row.id,
        name=row.name,
        sites=list(row.sites),
        skills=list(row.skills),
        email=row.email,
        on_call=[Shift.model_validate(s) for s in row.on_call],
        active=row.active,
    )


class StoredTechnicians:
    """The directory as a `roster.TechnicianDirectory`, read in the caller's session."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def technician(self, tech_id: str) -> Technician | None:
        """The technician with that id (active or not), or None."""
        row = self._session.get(TechnicianRow, tech_id)
        return None if row is None else _technician(row)

    def team(self) -> list[Technician]:
        """Every active technician, by id: whom automatic assignment chooses from."""
        rows = self._session.scalars(
            select(TechnicianRow).where(TechnicianRow.active).order_by(TechnicianRow.id)
        )
        return [_technician(row) for row in rows]


def import_roster(session: Session, roster: RosterSettings, *, at: datetime) -> int:
    """Bring the directory in line with the roster file; the caller commits. Returns how many
    entries the file manages.

    Every listed technician gets the file's skills, on-call windows and e-mail; those the
    file manages (no console account) also its name, sites and `active`. An entry the file
    managed and no longer lists is retired (kept, inactive: its orders still name it).
    """
    rows = list(session.scalars(select(TechnicianRow).order_by(TechnicianRow.id)))
    console = {row.id.lower() for row in rows if row.managed_by == CONSOLE}
    by_key = {row.id.lower(): row for row in rows if row.managed_by == ROSTER}
    by_key.update({row.id.lower(): row for row in rows if row.managed_by == CONSOLE})
    managed = 0
    for tech in roster.technicians:
        row = by_key.get(tech.id.lower())
        if row is None:
            row = TechnicianRow(id=tech.id, managed_by=ROSTER)
            session.add(row)
        row.skills = list(tech.skills)
        row.on_call = [shift.model_dump(mode="json") for shift in tech.on_call]
        row.email = tech.email
        if row.managed_by == ROSTER:
            row.name, row.sites, row.active = tech.name, list(tech.sites), tech.active
            managed += 1
        row.updated_at = at
    listed = {tech.id.lower() for tech in roster.technicians}
    for row in rows:
        key = row.id.lower()
        if row.managed_by == ROSTER and row.active and (key not in listed or key in console):
            row.active, row.updated_at = False, at
            logger.info("technician %r is no longer on the roster: retired", row.id)
    return managed


def _spellings(session: Session, tech_id: str) -> list[TechnicianRow]:
    """The entries whose id equals `tech_id` without regard to case (compared in Python, as
    the console compares user names: SQLite's lower() knows only ASCII; the directory is
    small)."""
    key = tech_id.lower()
    return [row for row in session.scalars(select(TechnicianRow)) if row.id.lower() == key]


def enroll(
    session: Session,
    tech_id: str,
    *,
    name: str,
    sites: Collection[str] | None,
    active: bool,
    at: datetime,
) -> None:
    """The console's technician `tech_id` with its name, sites (None: all) and state; from
    now on the console manages the entry (the caller commits, with the user's change)."""
    row = _claim(session, tech_id, at=at)
    row.name = name
    row.sites = ["*"] if sites is None else sorted(set(sites))
    row.active = active
    row.updated_at = at


def retire(session: Session, tech_id: str, *, at: datetime) -> None:
    """The console's user `tech_id` is not a technician: no entry of that name (in any
    spelling, whoever made it) may be assigned, now or after a later roster import (the
    caller commits)."""
    row = _claim(session, tech_id, at=at)
    if row.active:
        row.active, row.updated_at = False, at


def _claim(session: Session, tech_id: str, *, at: datetime) -> TechnicianRow:
    """The console's entry `tech_id` (made when missing, inactive); every other spelling of
    the name becomes the console's too, and inactive."""
    row = None
    for entry in _spellings(session, tech_id):
        if entry.id == tech_id:
            row = entry
        elif entry.active or entry.managed_by != CONSOLE:
            entry.managed_by, entry.active, entry.updated_at = CONSOLE, False, at
    if row is None:
        row = TechnicianRow(
            id=tech_id, name="", sites=[], skills=[], on_call=[], email=None, active=False
        )
        row.updated_at = at
        session.add(row)
    row.managed_by = CONSOLE
    return row
