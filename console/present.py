"""Server texts in the reader's language: alarm texts and values, work-order titles.

Alarms and work orders keep their texts as catalogue keys and parameters (`rules`,
`maintenance`); a response renders them for its reader (`console.locale`), and formats an
alarm's value with the unit and decimals of its point (`core.points`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from bldgwatch.console.schemas import AlarmSummary, WorkOrderSummary
from bldgwatch.core import i18n
from bldgwatch.core.points import point_info


class _AlarmText(Protocol):
    message: str
    message_key: str
    params: dict[str, Any]
    equipment_type: str
    value: float | None


class _OrderTitle(Protocol):
    title: str
    title_key: str | None
    title_params: dict[str, Any] | None


def alarm_text(row: _AlarmText, locale: str) -> str:
    """The alarm's text (its English `message` when it has no key: written before keys)."""
    if not row.message_key:
        return row.message
    return i18n.render(row.message_key, row.params or {}, locale, default=row.message)


def alarm_value(
    equipment_type: str, params: Mapping[str, Any], value: float | None, locale: str
) -> str | None:
    """The alarm's value with its point's unit and decimals (`87.3 °C`), None without one
    (or when its rule says the value means nothing: a condition over several points)."""
    if value is None or ("value" in params and params["value"] is None):
        return None
    point = params.get("point")
    info = point_info(equipment_type, str(point)) if point else None
    if info is None:  # a count, a silence in seconds (`unit`), or a point no profile names
        return i18n.format_quantity(value, str(params.get("unit", "")), None, locale)
    unit = f"{info.unit}/{params['per']}" if params.get("per") else info.unit
    if info.boolean and not params.get("per"):
        return i18n.format_quantity(value >= 0.5, "", None, locale)
    return i18n.format_quantity(value, unit, info.precision, locale)


def point_label(equipment_type: str, point: str | None, locale: str) -> str | None:
    """What people call the alarm's point, or None."""
    if not point:
        return None
    info = point_info(equipment_type, point)
    return point if info is None else info.label_in(locale, point)


def present_alarms(items: Sequence[AlarmSummary], locale: str) -> None:
    """Fill each alarm's text, value and point label in `locale` (in place)."""
    for item in items:
        item.text = alarm_text(item, locale)
        item.value_text = alarm_value(item.equipment_type, item.params, item.value, locale)
        item.point_label = point_label(item.equipment_type, item.params.get("point"), locale)


def order_title(row: _OrderTitle, locale: str) -> str:
    """The order's title (as written when it was not made from a message)."""
    if not row.title_key:
        return row.title
    return i18n.render(row.title_key, row.title_params or {}, locale, default=row.title)


def present_orders(items: Sequence[WorkOrderSummary], locale: str) -> None:
    """Fill each order's title in `locale` (in place)."""
    for item in items:
        item.title_text = order_title(item, locale)
