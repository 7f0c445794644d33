"""Errors of the maintenance package; the console maps them to HTTP status codes."""

from __future__ import annotations

from bldgwatch.core.errors import BldgwatchError
from bldgwatch.core.i18n import Message
from bldgwatch.maintenance import i18n

Text = str | Message | i18n.Message
"""What an error says: a catalogue message (either kind), or English without one yet."""


def as_message(text: Message | i18n.Message) -> Message:
    """The catalogue message of either kind (maintenance's stored messages have plain params)."""
    return text if isinstance(text, Message) else Message(text.key, dict(text.params))


class MaintenanceError(BldgwatchError):
    """Base of maintenance errors: `message` is the text as a catalogue message (the console
    renders it in the reader's language), `str()` its English (for logs)."""

    def __init__(self, text: Text) -> None:
        self.message = None if isinstance(text, str) else as_message(text)
        super().__init__(text if self.message is None else self.message.render("en"))


class InvalidTransition(MaintenanceError):  # noqa: N818 - the domain's name for it
    """A work-order status change the state machine does not allow (HTTP 409)."""

    def __init__(self, from_status: str, to_status: str, *, order_id: int | None = None) -> None:
        names = {
            "from_name": Message(f"error.status_word.{from_status}"),
            "to_name": Message(f"error.status_word.{to_status}"),
        }
        if order_id is None:
            super().__init__(Message("error.status.transition", names))
        else:
            super().__init__(Message("error.work_order.transition", {"id": str(order_id), **names}))
        self.from_status = from_status
        self.to_status = to_status
        self.order_id = order_id


class AwaitingApproval(InvalidTransition):
    """An order resolved or closed while it holds spot purchases awaiting approval (HTTP 409,
    naming the lines): they are money a technician laid out, decided before the order is
    finished (review 19f M3: the order resolved with them pending and nobody ever decided)."""

    def __init__(self, order_id: int, to_status: str, lines: list[Message]) -> None:
        MaintenanceError.__init__(
            self,
            Message(
                "error.work_order.awaiting_approval",
                {
                    "id": str(order_id),
                    "lines": lines,
                    "to_name": Message(f"error.status_word.{to_status}"),
                },
            ),
        )
        self.from_status = ""
        self.to_status = to_status
        self.order_id = order_id


class BookingWouldWait(InvalidTransition):
    """An order resolved or closed with a booking whose line would wait for approval (HTTP
    409, before anything is kept): it names the line by kind and amount, not by a number that
    is never stored (review 19h H2), and says what to do: book it on the order, have it
    approved, then finish the order."""

    def __init__(self, order_id: int, to_status: str, line: Message) -> None:
        MaintenanceError.__init__(
            self,
            Message(
                "error.work_order.booking_would_wait",
                {
                    "id": str(order_id),
                    "line": line,
                    "to_name": Message(f"error.status_word.{to_status}"),
                },
            ),
        )
        self.from_status = ""
        self.to_status = to_status
        self.order_id = order_id


class WorkOrderNotFound(MaintenanceError):  # noqa: N818 - reads better at the call site
    """No work order with that id (HTTP 404)."""

    def __init__(self, order_id: int) -> None:
        super().__init__(Message("error.work_order.unknown", {"id": str(order_id)}))
        self.order_id = order_id


class UnknownSite(MaintenanceError):  # noqa: N818
    """No site with that id in the asset register (HTTP 404)."""

    def __init__(self, site: str) -> None:
        super().__init__(Message("error.site.unknown", {"site": site}))
        self.site = site


class UnknownEquipment(MaintenanceError):  # noqa: N818
    """No such equipment in the asset register (HTTP 404)."""

    def __init__(self, site: str, equipment: str) -> None:
        super().__init__(Message("error.equipment.unknown", {"equipment": equipment, "site": site}))
        self.site = site
        self.equipment = equipment


class HistoryError(MaintenanceError, ValueError):
    """A life-history CSV that cannot be read (the line and what is wrong)."""


class InvalidRecord(MaintenanceError, ValueError):  # noqa: N818
    """A value the record cannot take — a budget period, a KPI name, a part, a file — with
    the field it concerns (HTTP 422)."""

    def __init__(self, field: str, message: Text) -> None:
        detail = message if isinstance(message, str) else as_message(message)
        name = Message(f"field.{field}").to_json(default=field)
        params = {"field_name": name, "detail": detail}
        super().__init__(Message("error.record.field", params))
        self.field = field


class UnknownPart(MaintenanceError):  # noqa: N818
    """No part with that number in the parts list (HTTP 422 on a booking, 404 on the part)."""

    def __init__(self, part_no: str) -> None:
        super().__init__(Message("error.part.unknown", {"part_no": part_no}))
        self.part_no = part_no


class StoreNotFound(MaintenanceError):  # noqa: N818 - reads better at the call site
    """No store with that id (HTTP 404)."""

    def __init__(self, store_id: int) -> None:
        super().__init__(Message("error.stock.store_unknown", {"store": str(store_id)}))


def quantity_text(quantity: float) -> str:
    """A quantity as people write it: 1500000, not 1.5e+06; 0.3, not 0.30000000000000004
    (review 19s L4)."""
    return f"{round(quantity, 6):f}".rstrip("0").rstrip(".") or "0"


class StockShort(MaintenanceError):  # noqa: N818
    """Less of the part is available than asked for (HTTP 409), naming both."""

    def __init__(self, part_no: str, wanted: float, available: float) -> None:
        params = {
            "part_no": part_no,
            "wanted": quantity_text(wanted),
            "available": quantity_text(available),
        }
        super().__init__(Message("error.stock.short", params))
        self.available = available


class StockOverLimit(MaintenanceError):  # noqa: N818
    """Stock made by hand (a receipt not against a purchase request, a stocktake gain) above
    what the person may approve in the site-local day (HTTP 403; review 19h H1)."""


class StockRefused(MaintenanceError):  # noqa: N818
    """A stock change the order or its bookings do not allow (HTTP 409)."""
