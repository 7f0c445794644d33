"""The rules every change of a work order keeps, whichever way it comes in (`maintenance.desk`).

- A move records what its dedicated change records: resolving says what was done (a
  summary), cancelling says why (a reason), and only a follow-up (回访) verifies an order —
  a bare move to `verified` would leave a verified order with no follow-up behind it.
- Labour is booked for a person the desk knows: the booking person themself, or a technician
  of the order's site (a contractor's work is a contractor charge, with the contractor's name).
- Attachments are kept on any order but a cancelled one.

Bookings and the completion record on an order nobody has taken on yet are refused in
`maintenance.worklog`; state moves by the state machine (`maintenance.workorders`).
"""

from __future__ import annotations

from bldgwatch.core.i18n import Message
from bldgwatch.maintenance.errors import InvalidRecord, InvalidTransition
from bldgwatch.maintenance.models import WorkOrderRow, WorkOrderStatus
from bldgwatch.maintenance.roster import TechnicianDirectory, TechnicianNotAtSite, UnknownTechnician
from bldgwatch.maintenance.worklog import WorkDone


class IncompleteMove(InvalidRecord):
    """A move that lacks what its dedicated change records (HTTP 422); `needs` says what:
    `summary` (resolve), `reason` (cancel) or `follow_up` (verify)."""

    def __init__(self, field: str, needs: str, message: str) -> None:
        super().__init__(field, message)
        self.needs = needs


def check_move(to_status: WorkOrderStatus | str, note: str) -> None:
    """IncompleteMove when a move to `to_status` with `note` skips what the state needs."""
    if to_status == WorkOrderStatus.RESOLVED and not note.strip():
        raise IncompleteMove("note", "summary", "resolving needs a summary of what was done")
    if to_status == WorkOrderStatus.CANCELLED and not note.strip():
        raise IncompleteMove("note", "reason", "a cancellation needs a reason")
    if to_status == WorkOrderStatus.VERIFIED:
        raise IncompleteMove(
            "to", "follow_up", "only a follow-up (回访) with its outcome verifies an order"
        )


def check_workers(directory: TechnicianDirectory, work: WorkDone, actor: str, site: str) -> None:
    """UnknownTechnician or TechnicianNotAtSite (409) for labour of anyone but `actor` who is
    not a technician of `site` (disabled ones included: their past hours stay bookable);
    InvalidRecord `technician` (422) for `actor`'s own labour when they are no technician
    (review 19i M4: a supervisor booked himself 4 h at ¥240/h)."""
    for entry in work.labour:
        if entry.technician == actor:
            if directory.technician(actor) is None:
                params = {"worker": actor}
                raise InvalidRecord("technician", Message("error.work_log.not_a_worker", params))
            continue
        tech = directory.technician(entry.technician)
        if tech is None:
            raise UnknownTechnician(entry.technician)
        if not tech.serves(site):
            raise TechnicianNotAtSite(entry.technician, site)


def check_attachable(order: WorkOrderRow) -> None:
    """InvalidTransition (409) on a cancelled order: nothing more is kept with it."""
    if order.status == WorkOrderStatus.CANCELLED.value:
        raise InvalidTransition(order.status, "attach", order_id=order.id)
