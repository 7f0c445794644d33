"""Idempotent bookings (review 19g L7): a phone that retries a timed-out "登记" sends the same
key, and the booking is made once.

A booking may carry a key (the console's `Idempotency-Key` header); the first booking under it
stores the key with a hash of what was booked, in the booking's transaction. The same key from
the same booker on the same order again books nothing (the caller answers the order as it is);
another booking under the same key is refused (KeyReused, 409 naming the key). Keys are kept
with the order, so a repeat after a restart is still a repeat.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from bldgwatch.core.i18n import Message
from bldgwatch.maintenance.errors import MaintenanceError
from bldgwatch.maintenance.recordmodels import BookingKeyRow


@dataclass(frozen=True, slots=True)
class BookingKey:
    """The booker's key and a hash of the booking it was sent with."""

    key: str
    body_hash: str


class KeyReused(MaintenanceError):  # noqa: N818
    """Another booking under a key already used on the order (HTTP 409)."""

    def __init__(self, key: str) -> None:
        super().__init__(Message("error.work_log.key_reused", {"key": key}))


def _stored(session: Session, order_id: int, actor: str, key: str) -> BookingKeyRow | None:
    return session.scalars(
        select(BookingKeyRow).where(
            BookingKeyRow.work_order_id == order_id,
            BookingKeyRow.actor == actor[:64],
            BookingKeyRow.key == key,
        )
    ).first()


def seen(session: Session, order_id: int, actor: str, key: BookingKey) -> bool:
    """Whether the booking under `key` was made already (KeyReused for another booking)."""
    found = _stored(session, order_id, actor, key.key)
    if found is None:
        return False
    if found.body_hash != key.body_hash:
        raise KeyReused(key.key)
    return True


def first_use(session: Session, order_id: int, actor: str, key: BookingKey, at: datetime) -> bool:
    """Store `key` for the booking about to be made and say True; False for a repeat (nothing
    to book); KeyReused for another booking under it. The caller holds the order's lock."""
    if seen(session, order_id, actor, key):
        return False
    session.add(
        BookingKeyRow(
            work_order_id=order_id,
            actor=actor[:64],
            key=key.key,
            body_hash=key.body_hash,
            at=at,
        )
    )
    session.flush()
    return True
