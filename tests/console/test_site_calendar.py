"""A site's working calendar through the API (D5): `/api/sites` says which calendar each
site follows and lists the holidays and make-up workdays of the next 60 site days — the
rounds and energy pages show it."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine

from bldgwatch.core.clock import ManualClock
from bldgwatch.maintenance.models import SiteRow
from tests.console.conftest import ClientFactory
from tests.console.seed import add

# 2026-09-20 16:30 UTC: already Monday 21 September (00:30) in Shanghai.
NOW = datetime(2026, 9, 20, 16, 30, tzinfo=UTC)


def test_sites_carry_their_calendar_and_the_coming_special_days(
    sqlite_db: Engine, make_client: ClientFactory
) -> None:
    add(
        sqlite_db,
        SiteRow(
            id="demo",
            name="Demo",
            timezone="Asia/Shanghai",
            calendar={"official": "cn", "holidays": ["2026-11-16"]},
        ),
        SiteRow(id="north", name="North", timezone="Asia/Shanghai"),
        SiteRow(id="late", name="Late", calendar={"official": "cn"}),
    )
    client = make_client(sqlite_db, None, ManualClock(NOW))
    sites = {s["id"]: s for s in client.get("/api/sites").json()["items"]}
    demo = sites["demo"]["calendar"]
    assert (demo["official"], demo["covered"], demo["own_holidays"]) == ("cn", True, 1)
    assert (demo["from"], demo["days"]) == ("2026-09-21", 60)  # the site's day, not UTC's
    special = [(d["day"], d["kind"], d["name_zh"]) for d in demo["special"]]
    assert special[0] == ("2026-09-25", "holiday", "中秋")  # Mid-autumn, a Friday in 2026
    assert ("2026-10-01", "holiday", "国庆节") in special
    assert ("2026-10-10", "workday", "国庆节") in special  # the make-up Saturday
    assert ("2026-11-16", "holiday", None) in special  # the site's own day
    assert "2026-09-20" not in [d for d, _, _ in special]  # Sunday's make-up day is past
    north = sites["north"]["calendar"]
    assert (north["official"], north["special"]) == (None, [])
    # a site whose zone is UTC sees the same days; past the package's years: not covered
    late = make_client(sqlite_db, None, ManualClock(datetime(2029, 12, 1, tzinfo=UTC)))
    gone = {s["id"]: s for s in late.get("/api/sites").json()["items"]}["late"]["calendar"]
    assert gone["covered"] is False and gone["special"] == []
    # review 19i L3: and it says it knows none of these days (the page does not say "none")
    assert gone["known_until"] is None and demo["known_until"] is None
    end = make_client(sqlite_db, None, ManualClock(datetime(2026, 12, 8, 1, tzinfo=UTC)))
    known = {s["id"]: s for s in end.get("/api/sites").json()["items"]}["late"]["calendar"]
    assert known["covered"] or known["known_until"] == "2026-12-31"  # while 2027 is unknown
