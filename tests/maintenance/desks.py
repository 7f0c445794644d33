"""A work desk over a directory of technicians seeded from a roster, as the maintenance
service does at its start (`maintenance.technicians.import_roster`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session

from bldgwatch.maintenance.config import RosterSettings
from bldgwatch.maintenance.desk import WorkDesk
from bldgwatch.maintenance.technicians import import_roster
from tests.maintenance.conftest import T0


def seed_directory(sessions: Callable[[], Session], roster: RosterSettings) -> None:
    """The directory of technicians as `roster` makes it."""
    with sessions() as session:
        import_roster(session, roster, at=T0)
        session.commit()


def seeded_desk(sessions: Callable[[], Session], roster: RosterSettings, **kw: Any) -> WorkDesk:
    """A desk with `roster`, its technicians in the directory."""
    seed_directory(sessions, roster)
    return WorkDesk(sessions, roster=roster, **kw)
