"""The console numbers a pushed config above what the gateway reports having had, but a
gateway's status is the least trusted input (review 21b, H1): a huge reported version must
neither overflow the version column (500 on SQLite, 503 on PostgreSQL) nor burn the number
space in one push."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from bldgwatch.console import fleet
from tests.waiting import wait_for

AT = datetime(2026, 3, 1, 2, 0, tzinfo=UTC)


def _push(db: Engine, reported: int) -> int:
    with Session(db) as session:
        row = fleet.store(
            session,
            site="demo",
            gateway="gw-1",
            config={"devices": []},
            author="admin",
            reason="r",
            at=AT,
            above=reported,
        )
        session.commit()
        return row.version


@pytest.mark.parametrize("seen", [2**63 - 1, 2**31 - 1, 999_999], ids=["int64", "int32", "big"])
def test_a_huge_reported_version_is_not_believed(
    db: Engine, seen: int, caplog: pytest.LogCaptureFixture
) -> None:
    status = {"config": {"version": 2, "seen": seen}}
    assert _push(db, fleet.reported_version(status)) == fleet.REPORT_MARGIN + 1
    assert "far above the newest stored" in caplog.text
    assert _push(db, fleet.reported_version(status)) == 2 * fleet.REPORT_MARGIN + 2


def test_a_restored_database_still_numbers_above_what_the_gateway_had(db: Engine) -> None:
    assert _push(db, 0) == 1
    assert _push(db, 37) == 38  # the gateway had 37 pushes the restored database lacks
    assert _push(db, 5) == 39


def _waiting_on_a_lock(db: Engine) -> bool:
    """Whether a connection to the database waits on a lock (the second INSERT on the key)."""
    with db.connect() as conn:
        found = conn.execute(
            text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock'"
            )
        ).scalar()
    return bool(found)


# PostgreSQL only: SQLite serializes writes, the second push waits for the first.
@pytest.mark.parametrize("db_settings", ["postgresql"], indirect=True)
def test_two_pushes_at_once_take_consecutive_versions(db: Engine) -> None:
    """Review 21b M3: on PostgreSQL the second of two concurrent pushes took the same number
    and failed on the primary key (answered as 'database unavailable')."""
    first = Session(db)
    try:
        row = fleet.store(
            first, site="demo", gateway="gw-1", config={}, author="a", reason="r", at=AT
        )
        assert row.version == 1  # not committed yet: the second push reads 0 as the newest
        with ThreadPoolExecutor(1) as pool:
            second = pool.submit(_push, db, 0)
            wait_for(lambda: _waiting_on_a_lock(db), timeout=30, what="the second push waits")
            first.commit()
            assert second.result(timeout=60) == 2
    finally:
        first.close()
