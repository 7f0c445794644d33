"""The equipment history file (设备档案/履历) as a document: identity, install and overhaul
dates, every work order with its repair class, downtime and cost, the parts, labour and
contractor charges booked on them, the alarms, the current life stage with its reason and
its trend over the last year — as data (`history_file`), as HTML (`render_history`, printed
to PDF by `maintenance.printing`) and as CSV (`history_csv`), in zh-CN or en.

The alarm list comes from the caller (the console reads the alarm store, which rules owns),
as `AlarmLine`s; maintenance itself knows only the alarm transitions attached to orders.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from bldgwatch.core import i18n
from bldgwatch.core.site import DEFAULT_TIMEZONE
from bldgwatch.maintenance.assets import EquipmentHistory, equipment_history
from bldgwatch.maintenance.config import StageConfig
from bldgwatch.maintenance.csvcells import spreadsheet_safe
from bldgwatch.maintenance.errors import UnknownEquipment
from bldgwatch.maintenance.htmldoc import esc, num, page, table
from bldgwatch.maintenance.models import SiteRow
from bldgwatch.maintenance.recordmodels import WorkOrderChargeRow, counted_charge
from bldgwatch.maintenance.scoring import StageScore
from bldgwatch.maintenance.stage import FitCache, assess_stage
from bldgwatch.maintenance.texts import order_title, text

TREND_POINTS = 4  # quarter ends over the last year


@dataclass(frozen=True, slots=True)
class AlarmLine:
    """One alarm occurrence of the equipment, as the alarm store has it."""

    raised_at: datetime
    fault_code: str
    severity: str
    state: str
    cleared_at: datetime | None = None
    activations: int = 1


@dataclass(frozen=True, slots=True)
class StagePoint:
    """The life stage at one time."""

    at: datetime
    stage: str
    p_late: float


@dataclass(slots=True)
class HistoryFile:
    """Everything the history file shows."""

    site: str
    tz: str
    record: EquipmentHistory
    charges: list[WorkOrderChargeRow]
    stage: StageScore
    trend: list[StagePoint]
    alarms: list[AlarmLine] = field(default_factory=list)
    generated_at: datetime | None = None
    alarm_total: int | None = None  # every alarm of its life (`alarms` may be one page)

    def totals(self) -> dict[str, float | int]:
        """Life totals: orders, alarms, labour hours, costs by category, downtime."""
        base = self.record.totals()
        contractors = round(sum(c.amount for c in self.charges), 2)
        return {
            "orders": base["orders"],
            "alarms": len(self.alarms) if self.alarm_total is None else self.alarm_total,
            "labour_hours": base["labour_hours"],
            "labour_cost": base["labour_cost"],
            "parts_cost": base["parts_cost"],
            "contractor_cost": contractors,
            "cost": base["cost"],
            "downtime_h": base["downtime_h"],
        }


def history_file(
    session: Session,
    site: str,
    equipment: str,
    *,
    as_of: datetime,
    alarms: Sequence[AlarmLine] = (),
    alarm_total: int | None = None,
    config: StageConfig | None = None,
    fits: FitCache | None = None,
) -> HistoryFile:
    """The equipment's history file (UnknownEquipment when it is not registered); `alarms`
    may be one page of them, `alarm_total` counts them all (default: those given)."""
    record = equipment_history(session, site, equipment)
    if record.asset is None:
        raise UnknownEquipment(site, equipment)
    config, fits = config or StageConfig(), fits or FitCache()
    asset = record.asset

    def stage_at(when: datetime) -> StageScore:
        return assess_stage(
            session,
            site=site,
            equipment=equipment,
            equipment_type=asset.type,
            as_of=when,
            config=config,
            fits=fits,
        )

    now = stage_at(as_of)
    trend = []
    for quarters in range(TREND_POINTS - 1, -1, -1):
        when = as_of - timedelta(days=91 * quarters)
        score = now if quarters == 0 else stage_at(when)
        trend.append(StagePoint(when, score.stage.value, round(score.p_late, 4)))
    ids = [o.id for o in record.work_orders]
    charges = (
        list(
            session.scalars(
                select(WorkOrderChargeRow)
                .where(WorkOrderChargeRow.work_order_id.in_(ids), counted_charge())
                .order_by(WorkOrderChargeRow.at, WorkOrderChargeRow.id)
            )
        )
        if ids
        else []
    )
    row = session.get(SiteRow, site)
    return HistoryFile(
        site=site,
        tz=row.timezone if row is not None else DEFAULT_TIMEZONE,
        record=record,
        charges=charges,
        stage=now,
        trend=trend,
        alarms=sorted(alarms, key=lambda a: a.raised_at),
        generated_at=as_of,
        alarm_total=alarm_total,
    )


def _local(when: datetime | None, tz: str) -> str:
    return "–" if when is None else when.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M")


def _t(key: str, lang: str) -> str:
    return text(key, lang)


def _identity(h: HistoryFile, lang: str) -> str:
    a = h.record.asset
    assert a is not None
    renewals = sorted(
        {
            o.resolved_at or o.updated_at
            for o in h.record.work_orders
            if o.repair_class in {"major", "replacement"}
        }
    )
    rows = [
        [_t("history.field.id", lang), a.id],
        [_t("history.field.name", lang), a.name],
        [_t("history.field.type", lang), text(f"equipment_type.{a.type}", lang)],
        [_t("history.field.building", lang), a.building],
        [_t("history.field.location", lang), a.location],
        [_t("history.field.model", lang), a.model],
        [_t("history.field.installed", lang), a.installed.isoformat() if a.installed else "–"],
        [
            _t("history.field.last_overhaul", lang),
            a.last_overhaul.isoformat() if a.last_overhaul else "–",
        ],
        [
            _t("history.field.renewals", lang),
            ", ".join(_local(r, h.tz)[:10] for r in renewals) or "–",
        ],
    ]
    return table(["", ""], rows)


def _named(prefix: str, code: str | None, lang: str) -> str:
    return "–" if code is None else text(f"{prefix}.{code}", lang)


def _orders(h: HistoryFile, lang: str) -> str:
    rows = [
        [
            f"#{o.id}",
            _local(o.created_at, h.tz),
            order_title(o, lang),
            _named("kind", o.kind, lang),
            _named("repair_class", o.repair_class, lang),
            _named("cause", o.cause_code, lang),
            num(o.downtime_h),
            num(o.cost, 2),
            _named("status", o.status, lang),
        ]
        for o in h.record.work_orders
    ]
    cols = (
        "order",
        "opened",
        "title",
        "",
        "repair_class",
        "cause",
        "downtime",
        "cost",
        "status_now",
    )
    head = [text(f"report.col.{c}", lang) if c else "" for c in cols]
    return table(head, rows, numeric=(6, 7))


def _bookings(h: HistoryFile, lang: str) -> str:
    parts = [
        [
            _local(p.at, h.tz),
            f"#{p.work_order_id}",
            f"{p.part_no} {p.description}",
            f"{p.quantity:g} {p.unit or ''}",
            num(p.unit_cost, 2),
            num(p.quantity * p.unit_cost, 2),
        ]
        for p in h.record.parts
    ]
    labour = [
        [
            _local(r.at, h.tz),
            f"#{r.work_order_id}",
            r.technician,
            num(r.hours),
            num(r.rate, 2),
            num(r.hours * r.rate, 2),
        ]
        for r in h.record.labour
    ]

    def c(key: str) -> str:
        return text(f"history.col.{key}", lang)

    cost = text("report.col.cost", lang)
    order = text("report.col.order", lang)
    return (
        f"<h3>{esc(_t('history.parts', lang))}</h3>"
        + table(
            [c("at"), order, c("part"), c("quantity"), c("unit_cost"), cost], parts, numeric=(4, 5)
        )
        + f"<h3>{esc(_t('history.labour', lang))}</h3>"
        + table(
            [c("at"), order, c("technician"), c("hours"), c("rate"), cost],
            labour,
            numeric=(3, 4, 5),
        )
    )


def _severity(a: AlarmLine, lang: str) -> str:
    return i18n.render(f"alarm.severity.{a.severity}", {}, lang, default=a.severity)


def _state(a: AlarmLine, lang: str) -> str:
    return i18n.render(f"alarm.state.{a.state}", {}, lang, default=a.state)


def _alarm_line(a: AlarmLine, lang: str) -> str:
    """What the CSV says of an alarm: the fault, its code, severity and state."""
    fault = f"{text('fault', lang, code=a.fault_code)} ({a.fault_code})"
    return f"{fault} {_severity(a, lang)} {_state(a, lang)}"


def _alarms(h: HistoryFile, lang: str) -> str:
    rows = [
        [
            _local(a.raised_at, h.tz),
            f"{text('fault', lang, code=a.fault_code)} ({a.fault_code})",
            _severity(a, lang),
            _state(a, lang),
            _local(a.cleared_at, h.tz),
            a.activations,
        ]
        for a in h.alarms
    ]
    head = [
        text("history.col.at", lang),
        text("history.col.fault", lang),
        "",
        text("report.col.status_now", lang),
        "",
        "×",
    ]
    return table(head, rows, numeric=(5,))


def _stage(h: HistoryFile, lang: str) -> str:
    now = h.stage
    reason = now.texts.get(lang, now.reason)
    head = f"<p><b>{esc(text(f'stage.{now.stage.value}', lang))}</b> — {esc(reason)}</p>"
    rows = [
        [_local(p.at, h.tz)[:10], text(f"stage.{p.stage}", lang), f"{p.p_late * 100:.0f} %"]
        for p in h.trend
    ]
    return head + table([text("history.col.at", lang), "", text("history.col.p_late", lang)], rows)


def render_history(h: HistoryFile, lang: str = "zh-CN") -> str:
    """The history file as one printable HTML page."""
    a = h.record.asset
    assert a is not None
    title = text("history.title", lang, equipment=f"{a.id} {a.name}".strip(), site=h.site)
    totals = [
        [text(f"history.total.{k}", lang), num(v, 2) if isinstance(v, float) else v]
        for k, v in h.totals().items()
    ]

    def section(key: str, body: str) -> str:
        return f"<section><h2>{esc(text(key, lang))}</h2>{body}</section>\n"

    body = (
        section("history.identity", _identity(h, lang))
        + section("history.stage", _stage(h, lang))
        + section("history.totals", table(["", ""], totals, numeric=(1,)))
        + section("history.orders", _orders(h, lang))
        + section("history.parts", _bookings(h, lang))
        + section("history.alarms", _alarms(h, lang))
        + f'<p class="meta">{esc(_local(h.generated_at, h.tz))} ({esc(h.tz)})</p>'
    )
    return page(title, body, lang)


CSV_COLUMNS = (
    "at",
    "kind",
    "order",
    "what",
    "quantity",
    "unit",
    "amount",
    "repair_class",
    "downtime_h",
)


def history_csv(h: HistoryFile, lang: str = "zh-CN") -> str:
    """Every dated fact of the file, one row each, oldest first (times in the site's zone)."""
    rows: list[tuple[datetime, list[object]]] = []
    for o in h.record.work_orders:
        what = order_title(o, lang)
        rows.append(
            (
                o.created_at,
                [
                    "order",
                    o.id,
                    what,
                    "",
                    "",
                    round(o.cost, 2),
                    text(f"repair_class.{o.repair_class}", lang) if o.repair_class else "",
                    o.downtime_h or "",
                ],
            )
        )
    for p in h.record.parts:
        rows.append(
            (
                p.at,
                [
                    "part",
                    p.work_order_id,
                    f"{p.part_no} {p.description}".strip(),
                    p.quantity,
                    p.unit or "",
                    round(p.quantity * p.unit_cost, 2),
                    "",
                    "",
                ],
            )
        )
    for r in h.record.labour:
        rows.append(
            (
                r.at,
                [
                    "labour",
                    r.work_order_id,
                    r.technician,
                    r.hours,
                    text("history.csv.hours_unit", lang),
                    round(r.hours * r.rate, 2),
                    "",
                    "",
                ],
            )
        )
    for c in h.charges:
        rows.append(
            (
                c.at,
                ["contractor", c.work_order_id, c.contractor, "", "", round(c.amount, 2), "", ""],
            )
        )
    for a in h.alarms:
        rows.append(
            (
                a.raised_at,
                [
                    "alarm",
                    "",
                    _alarm_line(a, lang),
                    a.activations,
                    "",
                    "",
                    "",
                    "",
                ],
            )
        )
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([text(f"history.csv.{c}", lang) for c in CSV_COLUMNS])
    for at, values in sorted(rows, key=lambda r: r[0]):
        kind = text(f"history.row.{values[0]}", lang)
        cells = [spreadsheet_safe(v) for v in values[1:]]
        writer.writerow([at.astimezone(ZoneInfo(h.tz)).isoformat(), kind, *cells])
    return out.getvalue()
