"""The console numbers a pushed config above what the gateway reports having had, but a
gateway's status is the least trusted input (review 21b, H1): a huge reported version must
neither overflow the version column (500 on SQLite, 503 on PostgreSQL) nor burn the number
space in one push."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from bldgwatch.console import fleet

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
