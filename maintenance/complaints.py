"""Complaints (投诉): the one writer of the complaint tables.

`ComplaintDesk` logs a complaint, assigns its handler, records the first response and the
outcome; each change is one transaction with its timeline row (who, when, which fields from
what to what), written only if the complaint is still the version it read (the row's
`version`, a compare-and-set: PostgreSQL also locks the row, SQLite has no row lock). The
clocks are pure (`due`, `overdue`): they start at the complaint's receipt, never at the wall
clock, with the allowances of `ComplaintSettings` for its site. Reads are
`maintenance.complaintqueries`.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from bldgwatch.core.i18n import Message
from bldgwatch.core.plaintext import blank, first_hidden
from bldgwatch.maintenance.complaintmodels import (
    Category,
    Channel,
    ComplaintEventRow,
    ComplaintRow,
    Outcome,
)
from bldgwatch.maintenance.config import ComplaintSettings
from bldgwatch.maintenance.errors import InvalidRecord, MaintenanceError, UnknownSite
from bldgwatch.maintenance.models import EquipmentRow, SiteRow, WorkOrderRow
from bldgwatch.maintenance.policy import load as load_policy

MAX_TEXT = 4000
"""Longest description or note accepted."""
PHONE = re.compile(r"^\+?[0-9][0-9 -]{2,30}$")
"""A phone number once NFKC-normalised (full-width digits become ASCII)."""
PHONE_DIGITS = 5
"""Fewest digits a phone number has."""
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
"""No complaint was received before this."""
SEPARATOR = "\x00"
"""Joins building and room in the household key; no accepted text contains it."""
LOGGED, ASSIGNED, RESPONDED, RESOLVED = "logged", "assigned", "responded", "resolved"


class ComplaintNotFound(MaintenanceError):  # noqa: N818 - reads better at the call site
    """No complaint with that id (HTTP 404)."""

    def __init__(self, complaint_id: int) -> None:
        super().__init__(Message("error.complaint.unknown", {"id": str(complaint_id)}))
        self.complaint_id = complaint_id


class ComplaintClosed(MaintenanceError):  # noqa: N818
    """The complaint already has what the change would record, or another change came
    first (`what`: responded, resolved, changed; HTTP 409)."""

    def __init__(self, complaint_id: int, what: str) -> None:
        super().__init__(Message(f"error.complaint.already_{what}", {"id": str(complaint_id)}))
        self.complaint_id = complaint_id


def _folded(text: str) -> str:
    """NFKC (full-width digits and letters become plain), no white space, case-folded."""
    return "".join(unicodedata.normalize("NFKC", text).split()).casefold()


def household_key(building: str, room: str) -> str:
    """The key one household's complaints share: SHA-256 (hex, 64 characters whatever the
    input) of building and room folded (`_folded`) and joined by a character no accepted
    text contains, so "3/1"+"502" and "3"+"1/502" are two households."""
    joined = _folded(building) + SEPARATOR + _folded(room)
    return hashlib.sha256(joined.encode()).hexdigest()


def building_key(building: str) -> str:
    """The key of a building's complaints (SHA-256 hex of the folded building)."""
    return hashlib.sha256(_folded(building).encode()).hexdigest()


def phone_number(raw: str) -> str:
    """The number as stored: NFKC-normalised (a Chinese IME's full-width digits become
    ASCII) and trimmed; InvalidRecord (`phone`) unless it looks like a phone number with at
    least `PHONE_DIGITS` digits."""
    phone = unicodedata.normalize("NFKC", raw).strip()
    if not PHONE.fullmatch(phone) or sum(c.isdigit() for c in phone) < PHONE_DIGITS:
        raise InvalidRecord("phone", Message("error.complaint.phone", {"phone": raw[:40]}))
    return phone


def due(settings: ComplaintSettings, site: str, received_at: datetime) -> tuple[datetime, datetime]:
    """(response due, resolution due) of a complaint received at `received_at`. Pure."""
    if received_at.tzinfo is None:
        raise ValueError("complaint clocks need a timezone-aware receipt time")
    response_h, resolution_days = settings.clock(site)
    return (
        received_at + timedelta(hours=response_h),
        received_at + timedelta(days=resolution_days),
    )


def overdue(row: ComplaintRow, now: datetime) -> list[str]:
    """Which clocks of the complaint have run out unanswered at `now`: `response`,
    `resolution`, both or none. Pure."""
    late = []
    if row.responded_at is None and row.resolved_at is None and row.response_due <= now:
        late.append("response")
    if row.resolved_at is None and row.resolution_due <= now:
        late.append("resolution")
    return late


@dataclass(frozen=True, slots=True)
class NewComplaint:
    """What the desk writes down when a complaint comes in."""

    site: str
    building: str
    room: str
    channel: str
    category: str
    description: str
    received_at: datetime
    complainant: str | None = None
    phone: str | None = None
    handler: str | None = None
    work_order_id: int | None = None
    equipment: str | None = None


def _one_of(field: str, value: str, allowed: type[Channel | Category | Outcome]) -> None:
    known = [str(v) for v in allowed]
    if value not in known:
        params = {"value": value[:40], "known": ", ".join(known)}
        raise InvalidRecord(field, Message("error.record.one_of", params))


def _text(field: str, value: str | None, *, most: int, least: int = 0, lines: bool = False) -> None:
    """InvalidRecord naming `field`: blank where text is needed (white space and hidden
    characters only), a hidden character (`core.plaintext`), or too long."""
    if value is None:
        return
    if least and blank(value):
        raise InvalidRecord(field, Message("error.text.blank"))
    code = first_hidden(value, lines=lines)
    if code is not None:
        raise InvalidRecord(field, Message("error.text.hidden", {"code": code}))
    if len(value) > most:
        params = {"least": least, "most": most, "n": len(value)}
        raise InvalidRecord(field, Message("error.complaint.length", params))


def _check(session: Session, new: NewComplaint, now: datetime) -> None:
    _one_of("channel", new.channel, Channel)
    _one_of("category", new.category, Category)
    _text("building", new.building, least=1, most=64)
    _text("room", new.room, least=1, most=64)
    _text("description", new.description, least=1, most=MAX_TEXT, lines=True)
    _text("complainant", new.complainant, most=100)
    if new.received_at.tzinfo is None or new.received_at > now + timedelta(minutes=5):
        raise InvalidRecord("received_at", Message("error.complaint.received_later"))
    if new.received_at < EARLIEST:
        raise InvalidRecord("received_at", Message("error.complaint.received_early"))
    if session.get(SiteRow, new.site) is None:
        raise UnknownSite(new.site)
    if new.work_order_id is not None:
        order = session.get(WorkOrderRow, new.work_order_id)
        if order is None or order.site != new.site:
            params = {"id": str(new.work_order_id), "site": new.site}
            raise InvalidRecord("work_order_id", Message("error.complaint.no_order", params))
    if new.equipment is not None and session.get(EquipmentRow, (new.site, new.equipment)) is None:
        params = {"equipment": new.equipment, "site": new.site}
        raise InvalidRecord("equipment", Message("error.equipment.unknown", params))


def _stamp(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def _note(
    session: Session,
    row: ComplaintRow,
    kind: str,
    *,
    actor: str,
    at: datetime,
    before: dict[str, Any],
    note: str = "",
) -> None:
    changes = {
        k: [_stamp(v), _stamp(getattr(row, k))] for k, v in before.items() if v != getattr(row, k)
    }
    row.updated_at = at
    session.add(
        ComplaintEventRow(
            complaint_id=row.id, at=at, actor=actor, kind=kind, changes=changes, note=note
        )
    )


class ComplaintDesk:
    """Changes complaints, each change one transaction with its timeline row."""

    def __init__(
        self, sessions: Callable[[], Session], settings: ComplaintSettings | None = None
    ) -> None:
        self._sessions = sessions
        self.settings = settings or ComplaintSettings()

    @classmethod
    def from_store(cls, sessions: Callable[[], Session]) -> ComplaintDesk:
        """A desk with the clocks the maintenance service runs with (its stored policy)."""
        with sessions() as session:
            return cls(sessions, load_policy(session).complaints)

    def log(self, new: NewComplaint, *, at: datetime, actor: str) -> ComplaintRow:
        """Record a complaint received at `new.received_at` (InvalidRecord naming the field,
        UnknownSite)."""
        with self._sessions() as session:
            _check(session, new, at)
            if new.phone is not None:
                new = replace(new, phone=phone_number(new.phone))
            response_due, resolution_due = due(self.settings, new.site, new.received_at)
            row = ComplaintRow(
                **{k: getattr(new, k) for k in NewComplaint.__slots__},
                household=household_key(new.building, new.room),
                building_key=building_key(new.building),
                logged_at=at,
                logged_by=actor,
                response_due=response_due,
                resolution_due=resolution_due,
                updated_at=at,
            )
            session.add(row)
            session.flush()
            before = {"handler": None, "outcome": None}
            _note(session, row, LOGGED, actor=actor, at=at, before=before)
            session.commit()
        return row

    def _change(
        self,
        complaint_id: int,
        kind: str,
        apply: Callable[[ComplaintRow], str | None],
        actor: str,
        version: int | None,
    ) -> ComplaintRow:
        """Apply a change and its timeline row; `apply` returns the event's note, or None when
        nothing changes (no event, nothing written). `version`: the one the caller saw
        (ComplaintClosed "changed" when someone else changed the complaint since)."""
        with self._sessions() as session:
            row = session.get(ComplaintRow, complaint_id, with_for_update=True)
            if row is None:
                raise ComplaintNotFound(complaint_id)
            if version is not None and version != row.version:
                raise ComplaintClosed(complaint_id, "changed")
            before = {
                k: getattr(row, k)
                for k in ("handler", "responded_at", "resolved_at", "outcome", "accepted")
            }
            note = apply(row)
            if note is None:  # closing the session ends its transaction, writing nothing
                return row
            _note(session, row, kind, actor=actor, at=row.updated_at, before=before, note=note)
            try:
                session.commit()  # UPDATE … WHERE id = … AND version = the one read
            except StaleDataError as err:  # another change came between the read and now
                raise ComplaintClosed(complaint_id, "changed") from err
        return row

    def assign(
        self,
        complaint_id: int,
        handler: str,
        *,
        at: datetime,
        actor: str,
        note: str = "",
        version: int | None = None,
    ) -> ComplaintRow:
        """Hand the complaint to `handler` (a console user the caller has checked); the
        handler it already has changes nothing."""
        _text("note", note, most=MAX_TEXT, lines=True)

        def apply(row: ComplaintRow) -> str | None:
            if row.resolved_at is not None:
                raise ComplaintClosed(row.id, "resolved")
            if row.handler == handler:
                return None
            row.handler, row.updated_at = handler, at
            return note

        return self._change(complaint_id, ASSIGNED, apply, actor, version)

    def respond(
        self,
        complaint_id: int,
        note: str,
        *,
        at: datetime,
        actor: str,
        handler: str | None = None,
        version: int | None = None,
    ) -> ComplaintRow:
        """Record the first response (ComplaintClosed once responded or resolved); `handler`
        (the person answering; None for an API token) becomes the handler when none was
        named."""
        _text("note", note, least=1, most=MAX_TEXT, lines=True)

        def apply(row: ComplaintRow) -> str:
            if row.responded_at is not None or row.resolved_at is not None:
                raise ComplaintClosed(row.id, "responded")
            row.responded_at, row.updated_at = at, at
            row.handler = row.handler or handler
            return note

        return self._change(complaint_id, RESPONDED, apply, actor, version)

    def resolve(
        self,
        complaint_id: int,
        outcome: str,
        *,
        note: str,
        accepted: bool | None,
        at: datetime,
        actor: str,
        handler: str | None = None,
        version: int | None = None,
    ) -> ComplaintRow:
        """Record the outcome (办结); a complaint never answered is answered by it, and
        `handler` (as for `respond`) becomes the handler when none was named."""
        _one_of("outcome", outcome, Outcome)
        _text("note", note, least=1, most=MAX_TEXT, lines=True)

        def apply(row: ComplaintRow) -> str:
            if row.resolved_at is not None:
                raise ComplaintClosed(row.id, "resolved")
            row.outcome, row.outcome_note, row.accepted = outcome, note, accepted
            row.resolved_at, row.updated_at = at, at
            row.responded_at = row.responded_at or at
            row.handler = row.handler or handler
            return note

        return self._change(complaint_id, RESOLVED, apply, actor, version)
