"""Missed rounds told: when a round's due point passes its missed time (due +
`missed_after_min`) without a completed run, the site's supervisors are told once, through the
work-order outbox and its relay (`maintenance.outbox`), like an escalation.

The service's housekeeping calls `flag_missed(session, now)` at each escalation check: each
point missed within the last `LOOKBACK` and not yet told is claimed by a `round_missed_notices`
row (two service instances never tell it twice) and its notice left in the outbox in the same
transaction; the relay claims the outbox row and sends the notice to the site's supervisors
(`notify.site_supervisors` and `notify.supervisors`), in the site's language, with the round's
name and the due time on the site's clock. A point missed longer ago (the service down for
days, or the feature new) is counted on the rounds page but not told late.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime, timedelta

from pydantic import BaseModel
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bldgwatch.core import i18n
from bldgwatch.maintenance.models import WorkOrderOutboxRow
from bldgwatch.maintenance.notices import site_voice
from bldgwatch.maintenance.notify import Notice
from bldgwatch.maintenance.roundmodels import InspectionRoundRow, RoundMissedRow
from bldgwatch.maintenance.rounds import clocks_at, history, longest_window, rounds_of

ROUND_MISSED = "round_missed"
OUTBOX_KIND = "round"
"""The outbox entry of a missed round's notice (`work_order_outbox.kind`)."""
LOOKBACK = timedelta(days=1)
"""A point missed longer ago than this is not told any more."""


class MissedPoint(BaseModel):
    """What the outbox holds of a missed round's notice."""

    round_id: int
    due_at: datetime
    missed_at: datetime


def flag_missed(session: Session, now: datetime) -> list[MissedPoint]:
    """Claim each due point missed in the last `LOOKBACK` and not yet told, and put its
    notice in the outbox; the caller commits."""
    found: list[MissedPoint] = []
    for row in rounds_of(session, None):
        window = longest_window(row)
        for point in history(session, row, now - window - LOOKBACK, now, now):
            told = session.get(RoundMissedRow, (row.id, point.due_at))
            if point.state != "missed" or told is not None:
                continue
            try:
                with session.begin_nested():
                    session.add(
                        RoundMissedRow(round_id=row.id, due_at=point.due_at, noticed_at=now)
                    )
            except IntegrityError:  # another instance claimed it meanwhile
                continue
            missed = MissedPoint(
                round_id=row.id,
                due_at=point.due_at,
                missed_at=point.due_at + clocks_at(row, point.due_at)[1],
            )
            session.add(
                WorkOrderOutboxRow(
                    kind=OUTBOX_KIND,
                    event_id=str(uuid.uuid4()),
                    topic="",
                    payload=missed.model_dump_json(),
                    created_at=now,
                )
            )
            found.append(missed)
    return found


def missed_notice(
    session: Session, missed: MissedPoint, supervisors_of: Callable[[str], list[str]]
) -> Notice | None:
    """The notice of a missed point as the outbox holds it, to the site's supervisors in its
    language (None when its round is gone)."""
    row = session.get(InspectionRoundRow, missed.round_id)
    if row is None:
        return None
    voice = site_voice(session, row.site)
    text = i18n.render(
        "notice.round_missed.text",
        {
            "name": row.name,
            "id": row.id,
            "site": row.site,
            "due": voice.time(missed.due_at),
            "missed": voice.time(missed.missed_at),
        },
        voice.language,
    )
    return Notice(
        kind=ROUND_MISSED,
        work_order_id=None,
        round_id=row.id,
        site=row.site,
        equipment="",
        title=row.name,
        priority=0,
        at=missed.missed_at,
        text=text,
        recipients=tuple(supervisors_of(row.site)),
        language=voice.language,
    )
