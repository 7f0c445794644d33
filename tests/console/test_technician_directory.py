"""One directory of technicians, owned by maintenance (`maintenance.technicians`): the console
keeps the entries of its technician users in it (created, enabled, disabled, sites and roles
changed, through the API, `bldgwatch console-user` and at its start), and automatic
assignment picks only active technicians of the order's site from it. The roster file gives
them skills and on-call windows and seeds technicians without a console account; it does
not override what the console says (the maintenance service imports it at every start)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from bldgwatch.console.users import sync_all_technicians, upsert_user
from bldgwatch.core.db import session_factory
from bldgwatch.core.site import SiteSpec
from bldgwatch.maintenance.assets import import_site
from bldgwatch.maintenance.config import RosterSettings, Technician
from bldgwatch.maintenance.desk import WorkDesk
from bldgwatch.maintenance.technicians import StoredTechnicians, import_roster
from tests.console.conftest import ClientFactory
from tests.maintenance.conftest import T0, demo_site

STRONG = "Granite-Harbour-4821"
MECHANICAL = ["mechanical"]
ROSTER = RosterSettings(
    auto_assign=True,
    technicians=[
        # Work profiles; "wang" and "zhou" get console accounts, whose sites then count.
        Technician(id="wang", sites=["demo"], skills=MECHANICAL),
        Technician(id="zhou", sites=["demo"], skills=MECHANICAL),
    ],
)


@pytest.fixture
def sessions(db: Engine) -> sessionmaker[Session]:
    made = session_factory(db)
    with made() as session:
        import_site(session, demo_site(), at=T0)
        north = demo_site().model_dump()
        import_site(session, SiteSpec.model_validate({**north, "site": "north"}), at=T0)
        import_roster(session, ROSTER, at=T0)  # the maintenance service's start
        session.commit()
    return made


@pytest.fixture
def admin(db: Engine, sessions: sessionmaker[Session], make_client: ClientFactory) -> TestClient:
    client = make_client(db)
    for name, sites in (("wang", ["demo"]), ("zhou", ["north"])):
        body = {"name": name, "password": STRONG, "roles": ["technician"], "sites": sites}
        assert client.post("/api/users", json=body).status_code == 201
    return client


def _auto_assigned(sessions: sessionmaker[Session], site: str, n: int) -> str | None:
    """Whom the roster's automatic choice gives a new order on `site`'s pump."""
    desk = WorkDesk(sessions, roster=ROSTER)
    at = T0 + timedelta(hours=n)
    order = desk.request(site=site, equipment="P-01", title="pump noise", at=at, actor="desk")
    assigned = desk.auto_assign(order.id, at=at)
    return None if assigned is None else assigned.assigned_to


def _entry(sessions: sessionmaker[Session], name: str) -> Technician | None:
    with sessions() as session:
        return StoredTechnicians(session).technician(name)


def test_a_disabled_technician_gets_no_automatic_assignment_until_enabled(
    admin: TestClient, sessions: sessionmaker[Session]
) -> None:
    assert _auto_assigned(sessions, "demo", 1) == "wang"
    assert admin.patch("/api/users/wang", json={"disabled": True}).status_code == 200
    assert _auto_assigned(sessions, "demo", 2) is None  # zhou works at north only
    with sessions() as session:  # a restart of the maintenance service changes nothing
        import_roster(session, ROSTER, at=T0 + timedelta(hours=3))
        session.commit()
    assert _auto_assigned(sessions, "demo", 4) is None
    assert admin.patch("/api/users/wang", json={"disabled": False}).status_code == 200
    assert _auto_assigned(sessions, "demo", 5) == "wang"


def test_a_technician_of_another_site_is_never_assigned(
    admin: TestClient, sessions: sessionmaker[Session]
) -> None:
    """zhou's roster profile names demo, the console account north: north counts."""
    assert admin.patch("/api/users/wang", json={"disabled": True}).status_code == 200
    assert [_auto_assigned(sessions, "demo", n) for n in range(1, 4)] == [None, None, None]
    assert _auto_assigned(sessions, "north", 4) == "zhou"
    moved = admin.patch("/api/users/zhou", json={"sites": ["demo"]})
    assert moved.status_code == 200
    assert _auto_assigned(sessions, "demo", 5) == "zhou"
    assert _auto_assigned(sessions, "north", 6) is None


def test_losing_the_technician_role_ends_assignments(
    admin: TestClient, sessions: sessionmaker[Session]
) -> None:
    assert admin.patch("/api/users/wang", json={"roles": ["viewer"]}).status_code == 200
    entry = _entry(sessions, "wang")
    assert entry is not None and not entry.active
    assert _auto_assigned(sessions, "demo", 1) is None
    assert admin.patch("/api/users/wang", json={"roles": ["technician"]}).status_code == 200
    assert _auto_assigned(sessions, "demo", 2) == "wang"


def test_console_user_and_the_console_start_keep_the_directory(
    db: Engine, sessions: sessionmaker[Session], make_client: ClientFactory
) -> None:
    """`bldgwatch console-user` enrolls in the same transaction; users made before the
    directory existed (here: inserted by the test fixture) are enrolled at the console's
    start. Skills come from the roster, sites and state from the console."""
    upsert_user(
        db, name="wang", password=STRONG, roles=["technician"], sites=["demo"], at=T0, actor="cli"
    )
    entry = _entry(sessions, "wang")
    assert entry is not None and entry.active and entry.sites == ["demo"]
    assert entry.skills == MECHANICAL
    make_client(db)  # inserts the fixture's users (tech, tech2: demo) without the console
    assert _entry(sessions, "tech") is None
    assert sync_all_technicians(db, T0) == 4  # wang, tech, tech2, outsider
    tech = _entry(sessions, "tech")
    assert tech is not None and tech.active and tech.sites == ["demo"] and tech.skills == []
    assert _auto_assigned(sessions, "demo", 1) == "wang"  # tech: no skills in the roster
