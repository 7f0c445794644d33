"""Two desks adding contracts of one site and class at once: one is stored, the other is
refused as overlapping (review 18e M2: both had passed the overlap check, and every dispatch
of that site and class was then refused as ambiguous)."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import Engine

from bldgwatch.core.db import session_factory
from bldgwatch.maintenance import contractors
from bldgwatch.maintenance.contractors import ContractorDesk, ContractOverlap, NewContract
from tests.console import seed

AT = datetime(2026, 1, 1, tzinfo=UTC)


def _contract(contractor: str) -> NewContract:
    return NewContract(
        contractor, "demo", "elevator", "T5002", date(2026, 1, 1), date(2026, 12, 31), 30, 24.0
    )


def test_two_overlapping_contracts_added_at_once_store_one(
    db: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed.add(db, *seed.assets())
    seed.add(db, seed.contractor("liftco"), seed.contractor("pumpco"))
    desk = ContractorDesk(session_factory(db))
    checked, go_on = threading.Event(), threading.Event()
    check = contractors.check_contract

    def first_waits(session: object, new: NewContract, **kw: object) -> None:
        check(session, new, **kw)  # type: ignore[arg-type]
        if new.contractor == "liftco":
            checked.set()
            assert go_on.wait(10)  # liftco has checked and not yet stored

    monkeypatch.setattr(contractors, "check_contract", first_waits)
    outcome: dict[str, str] = {}

    def add(contractor: str) -> None:
        try:
            desk.add_contract(_contract(contractor), at=AT, actor="desk")
            outcome[contractor] = "stored"
        except ContractOverlap:
            outcome[contractor] = "overlap"

    first = threading.Thread(target=add, args=("liftco",))
    first.start()
    assert checked.wait(10)
    second = threading.Thread(target=add, args=("pumpco",))
    second.start()
    second.join(1.0)  # it waits for liftco's transaction, however long it is given
    assert second.is_alive() and "pumpco" not in outcome
    go_on.set()
    first.join(20)
    second.join(20)
    assert outcome == {"liftco": "stored", "pumpco": "overlap"}
