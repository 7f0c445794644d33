"""A phone's batch of entries of one run, stored as one transaction that holds the run.

A phone on a flaky link sends its queue again when the first request times out, while that
first request is still running (review 19r M1). Both must answer 2xx with each entry stored
once: the second is told its entries are `duplicate`. So a batch first takes the run for its
transaction (`hold_run`): on PostgreSQL a row lock, on SQLite the write lock taken by the
transaction's first statement (so its snapshot is the one after the other batch committed,
never a stale one that SQLite refuses to upgrade: "database is locked"). The second batch waits
for the first to commit and then finds its entries. An entry that still meets a unique key
(two rounds' faults on one equipment opening its repair order at once) is tried once more in a
fresh savepoint, where it finds what the other transaction stored.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bldgwatch.maintenance.errors import InvalidRecord
from bldgwatch.maintenance.roundentries import (
    EntryIn,
    EntryRefused,
    LiveValues,
    RoundPolicy,
    record,
)
from bldgwatch.maintenance.roundmodels import RoundEntryRow, RoundRunRow

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class EntryAnswer:
    """How one entry of a batch went: stored, duplicate (stored before under its id) or
    refused (with the reason)."""

    id: str
    status: str
    row: RoundEntryRow | None = None
    refusal: EntryRefused | InvalidRecord | None = None


def hold_run(session: Session, run: RoundRunRow) -> None:
    """Take the run for this transaction (a no-op write of its row), then read it again: a
    batch of the same run running elsewhere has committed by now."""
    session.execute(
        update(RoundRunRow).where(RoundRunRow.id == run.id).values(site=RoundRunRow.site),
        execution_options={"synchronize_session": False},
    )
    session.refresh(run)


def _store(
    session: Session,
    run: RoundRunRow,
    entry: EntryIn,
    *,
    policy: RoundPolicy,
    at: datetime,
    actor: str,
    live: LiveValues | None,
) -> EntryAnswer:
    for attempt in (1, 2):
        try:
            with session.begin_nested():
                row, seen = record(
                    session, run, entry, policy=policy, at=at, actor=actor, live=live
                )
            return EntryAnswer(entry.id, "duplicate" if seen else "stored", row=row)
        except (EntryRefused, InvalidRecord) as err:
            return EntryAnswer(entry.id, "refused", refusal=err)
        except IntegrityError as err:
            if attempt == 2:
                raise
            logger.info("entry %s of run %s met a unique key, again: %s", entry.id, run.id, err)
    raise AssertionError("unreachable")


def record_batch(
    session: Session,
    run: RoundRunRow,
    batch: Sequence[EntryIn],
    *,
    policy: RoundPolicy,
    at: datetime,
    actor: str,
    live: LiveValues | None = None,
) -> list[EntryAnswer]:
    """Each entry's answer, in the batch's order; flushes, the caller commits (which lets the
    run go)."""
    hold_run(session, run)
    return [
        _store(session, run, entry, policy=policy, at=at, actor=actor, live=live) for entry in batch
    ]
