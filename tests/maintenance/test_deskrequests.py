"""Merging duplicate repair requests while another desk merges too, on PostgreSQL's row
locks: whichever merge commits first, every merged request ends pointing at a request that
is not merged itself (no chain, no cycle), or the later merge is refused."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, event, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from bldgwatch.maintenance import deskrequests as dr
from bldgwatch.maintenance.requestdesk import RequestDecided
from bldgwatch.maintenance.requestmodels import PublicRequestRow

NOW = datetime(2026, 3, 20, 2, 0, tzinfo=UTC)


def _requests(engine: Engine, count: int) -> list[int]:
    with Session(engine) as session:
        rows = [
            PublicRequestRow(
                site="demo",
                status="new",
                channel="phone",
                category="water",
                location="3栋",
                description="漏水",
                language="zh-CN",
                status_token_sha256=f"{n:064d}",
                created_at=NOW,
            )
            for n in range(count)
        ]
        session.add_all(rows)
        session.commit()
        return [r.id for r in rows]


def _wait_for_a_lock_wait(engine: Engine) -> None:
    """Until another connection waits for a row lock (the second merge is blocked)."""
    query = text(
        "SELECT count(*) FROM pg_stat_activity "
        "WHERE wait_event_type = 'Lock' AND datname = current_database()"
    )
    deadline = time.monotonic() + 20
    with engine.connect() as conn:
        while conn.execute(query).scalar_one() == 0:
            conn.rollback()  # pg_stat_activity is read once per transaction: a fresh one
            assert time.monotonic() < deadline, "the second merge never waited for the lock"
            time.sleep(0.02)


def _race(engine: Engine, first: tuple[int, int], second: tuple[int, int]) -> list[object]:
    """`first` merges and holds its locks until `second` waits for them, then commits."""
    outcome: list[object] = []

    def later() -> None:
        with Session(engine) as session:
            try:
                dr.merge(session, *second, at=NOW, actor="desk2")
                session.commit()
                outcome.append("merged")
            except dr.MergeRefused as err:
                outcome.append(err)

    with Session(engine) as session:
        dr.merge(session, *first, at=NOW, actor="desk1")
        thread = threading.Thread(target=later)
        thread.start()
        _wait_for_a_lock_wait(engine)
        session.commit()
    thread.join(timeout=30)
    return outcome


def _pointers(engine: Engine) -> dict[int, tuple[str, int | None]]:
    with Session(engine) as session:
        rows = session.query(PublicRequestRow).all()
        return {r.id: (r.status, r.merged_into_id) for r in rows}


@pytest.mark.parametrize("db_settings", ["postgresql"], indirect=True)
def test_a_primary_merged_away_while_a_duplicate_joins_it_stays_flat(db: Engine) -> None:
    a, b, c = _requests(db, 3)
    assert _race(db, (b, a), (a, c)) == ["merged"]  # b into a first, then a into c
    assert _pointers(db) == {a: ("merged", c), b: ("merged", c), c: ("new", None)}


@pytest.mark.parametrize("db_settings", ["postgresql"], indirect=True)
def test_a_duplicate_joining_a_primary_being_merged_away_is_refused(db: Engine) -> None:
    a, b, c = _requests(db, 3)
    outcome = _race(db, (a, c), (b, a))  # a into c first, then b into a
    assert len(outcome) == 1 and isinstance(outcome[0], dr.MergeRefused)
    assert "cannot take duplicates" in str(outcome[0])
    assert _pointers(db) == {a: ("merged", c), b: ("new", None), c: ("new", None)}


def _crosswise(engine: Engine, x: int, y: int) -> list[str]:
    """Desk 1 merges x into y while desk 2 merges y into x. Each merge waits, right after its
    first row lock, for the other to take its first too: merges that lock the two rows in
    different orders then deadlock; merges that lock both in one order let the second wait
    for the first (the wait is seen in pg_stat_activity and the rendezvous called off)."""
    rendezvous, both_locked, mine = threading.Barrier(2), threading.Event(), threading.local()

    def after_lock(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        if "FOR UPDATE" in statement and not getattr(mine, "locked", False):
            mine.locked = True
            try:
                rendezvous.wait(timeout=30)
                both_locked.set()
            except threading.BrokenBarrierError:
                pass  # the other merge waits for our locks: go on

    outcome: list[str] = []

    def desk(name: str, duplicate: int, primary: int) -> None:
        with Session(engine) as session:
            try:
                dr.merge(session, duplicate, primary, at=NOW, actor=name)
                session.commit()
                outcome.append("merged")
            except (dr.MergeRefused, RequestDecided) as err:
                outcome.append(f"refused: {err}")
            except OperationalError as err:
                outcome.append(f"failed: {type(err.orig).__name__}")

    event.listen(engine, "after_cursor_execute", after_lock)
    try:
        desks = [
            threading.Thread(target=desk, args=("desk1", x, y)),
            threading.Thread(target=desk, args=("desk2", y, x)),
        ]
        for thread in desks:
            thread.start()
        query = text(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE wait_event_type = 'Lock' AND datname = current_database()"
        )
        with engine.connect() as conn:
            while not both_locked.is_set() and conn.execute(query).scalar_one() == 0:
                conn.rollback()
                time.sleep(0.02)
        if not both_locked.is_set():
            rendezvous.abort()
        for thread in desks:
            thread.join(timeout=30)
    finally:
        event.remove(engine, "after_cursor_execute", after_lock)
    return sorted(outcome)


@pytest.mark.parametrize("db_settings", ["postgresql"], indirect=True)
def test_two_desks_merging_crosswise_never_deadlock(db: Engine) -> None:
    x, y = _requests(db, 2)
    outcome = _crosswise(db, x, y)
    assert outcome[0] == "merged" and outcome[1].startswith("refused: "), outcome
    pointers = _pointers(db)
    assert sorted(status for status, _ in pointers.values()) == ["merged", "new"]
    assert all(to is None or pointers[to][0] == "new" for _, to in pointers.values())
