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

The live values of the batch's monitored readings are read from the time series before the run
is taken (`prefetch_live`): they do not depend on the transaction, and a slow InfluxDB must not
hold the run (on SQLite the database's write lock) for every other writer (review 19b-r M2).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bldgwatch.maintenance.errors import InvalidRecord
from bldgwatch.maintenance.models import EquipmentRow
from bldgwatch.maintenance.roundentries import (
    EntryIn,
    EntryRefused,
    LiveValues,
    RoundPolicy,
    record,
)
from bldgwatch.maintenance.roundmodels import RoundEntryRow, RoundRunRow
from bldgwatch.maintenance.rounds import run_route

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


def prefetch_live(
    session: Session, run: RoundRunRow, batch: Sequence[EntryIn], live: LiveValues
) -> LiveValues:
    """The live values each reading of the batch needs, read now (before the run is taken),
    answered from memory while the batch is stored."""
    route = run_route(session, run)
    rows = session.execute(
        select(EquipmentRow.id, EquipmentRow.type).where(
            EquipmentRow.site == run.site, EquipmentRow.id.in_({e for e, _ in route})
        )
    )
    kinds: dict[str, str] = {str(row[0]): str(row[1]) for row in rows}
    known: dict[tuple[str, str, datetime], dict[str, tuple[float, datetime]]] = {}
    for entry in batch:
        if not 0 <= entry.stop < len(route):
            continue
        equipment, items = route[entry.stop]
        points = [i.point for i in items if i.key == entry.item and i.point and i.tolerance]
        if points and equipment in kinds:
            known[(equipment, points[0], entry.recorded_at)] = live(
                kinds[equipment], equipment, points, entry.recorded_at
            )

    def read(
        _kind: str, equipment: str, points: list[str], at: datetime
    ) -> dict[str, tuple[float, datetime]]:
        found = {p: known.get((equipment, p, at), {}).get(p) for p in points}
        return {p: v for p, v in found.items() if v is not None}

    return read


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
    run go). The live values are read before the run is taken."""
    if live is not None:
        live = prefetch_live(session, run, batch, live)
    hold_run(session, run)
    return [
        _store(session, run, entry, policy=policy, at=at, actor=actor, live=live) for entry in batch
    ]
