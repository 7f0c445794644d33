"""The monthly report's emergency section: the month's real entrapments timed against the
site's plan and the rescue target, and its drills (held, cancelled, overdue), each step's
minutes against its target."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from bldgwatch.maintenance.drills import corrections_of, overdue, timings
from bldgwatch.maintenance.emergencymodels import (
    DrillCorrectionRow,
    DrillRow,
    DrillStatus,
    EmergencyPlanRow,
)
from bldgwatch.maintenance.entrapments import Entrapment, entrapments
from bldgwatch.maintenance.htmldoc import esc, num, table
from bldgwatch.maintenance.kpis import Period
from bldgwatch.maintenance.texts import text


@dataclass(frozen=True, slots=True)
class EmergencySection:
    """What the section shows: the month's entrapments and drills, and when it was made."""

    entrapments: list[Entrapment]
    drills: list[DrillRow]
    as_of: datetime
    plan_steps: dict[int, list[dict[str, Any]]]
    """The steps of the drills' plans (the grace of a drill not yet started)."""
    corrections: dict[int, list[DrillCorrectionRow]] = field(default_factory=dict)
    """Each drill's corrections and voiding (review 19c-d M13): the report says so."""


def emergency_section(
    session: Session, site: str, period: Period, as_of: datetime
) -> EmergencySection:
    """The rescues whose alarm came in the month (each entrapment alarm on its own), and the
    drills of the month: those held in it (a recorded drill counts in the month it was held,
    not the one it was scheduled for, review 19c-d H1) and the others scheduled in it."""
    end = min(period.end, as_of)
    found = entrapments(session, {site}, since=period.start, until=end, now=as_of)
    query = select(DrillRow).where(
        DrillRow.site == site,
        or_(
            and_(
                DrillRow.status == DrillStatus.RECORDED,
                DrillRow.held_at >= period.start,
                DrillRow.held_at < period.end,
            ),
            and_(
                DrillRow.status != DrillStatus.RECORDED,
                DrillRow.scheduled_at >= period.start,
                DrillRow.scheduled_at < period.end,
            ),
        ),
    )
    held = sorted(session.scalars(query), key=lambda d: (when(d), d.id))
    plans = select(EmergencyPlanRow).where(EmergencyPlanRow.id.in_({d.plan_id for d in held}))
    steps = {p.id: list(p.steps) for p in session.scalars(plans)}
    fixed = corrections_of(session, [d.id for d in held if d.corrections])
    return EmergencySection(found, held, as_of, steps, fixed)


def when(drill: DrillRow) -> datetime:
    """A drill's time in the report: when it was held if recorded, else its schedule."""
    return drill.held_at or drill.scheduled_at


def _minutes(value: float | None, target: int | None) -> str:
    shown = num(value)
    return shown if target is None else f"{shown} / ≤{target}"


def _verdict(found: Entrapment) -> str:
    """Late, on time, or — nobody on site yet — under way, or called off (a false alarm):
    not "on time" before anyone has arrived (review 19c-d L14)."""
    if found.arrival_late:
        return "late"
    arrived = {m.milestone: m.at for m in found.moments}
    if arrived.get("on_site") is None and arrived.get("released") is None:
        return "called_off" if found.order.status == "cancelled" else "under_way"
    return "on_time"


def _entrapment_rows(section: EmergencySection, tz: str, lang: str) -> str:
    if not section.entrapments:
        return f"<p>{esc(text('report.entrapments_none', lang))}</p>"
    zone = ZoneInfo(tz)
    head = [text(f"report.col.{c}", lang) for c in ("order", "equipment", "alarm_at")]
    head += [  # the alarm's own column is the time: its minutes (0 after itself) are not shown
        text(f"report.col.milestone_{m.milestone}", lang)
        for m in section.entrapments[0].moments[1:]
    ]
    head.append(text("report.col.rescue_target", lang))
    rows, classes = [], []
    for found in section.entrapments:
        alarm = found.moments[0].at
        started = "–" if alarm is None else alarm.astimezone(zone).strftime("%Y-%m-%d %H:%M")
        order = f"#{found.order.id}"
        if found.rescue > 1:
            order = text("report.rescue_of", lang, id=found.order.id, n=found.rescue)
        if found.reported_by:  # no alarm: the duty desk recorded the call (review 19c-d M5)
            order = text("report.reported_by_phone", lang, order=order, who=found.reported_by)
        cells: list[object] = [order, found.order.equipment, started]
        cells += [_minutes(m.minutes, m.target_min) for m in found.moments[1:]]
        verdict = text(f"report.{_verdict(found)}", lang)
        target = num(found.rescue_target_min, 0)
        cells.append(text("report.rescue_verdict", lang, target=target, verdict=verdict))
        rows.append(cells)
        late = found.arrival_late or any(m.over for m in found.moments)
        classes.append("miss" if late else "")
    return table(head, rows, classes=classes)


def _drill_rows(section: EmergencySection, tz: str, lang: str) -> str:
    if not section.drills:
        return f"<p>{esc(text('report.drills_none', lang))}</p>"
    zone = ZoneInfo(tz)
    head = [text(f"report.col.{c}", lang) for c in ("plan_kind", "drill_time", "status_now")]
    head += [text(f"report.col.{c}", lang) for c in ("steps_over", "findings", "actions")]
    rows, classes = [], []
    plans = section.plan_steps
    for drill in section.drills:
        steps = timings(drill.steps)
        over = [f"{i}. {s.text}" for i, s in enumerate(steps, 1) if s.over]
        late = overdue(drill, section.as_of, zone, plans.get(drill.plan_id))
        status = text(f"drill_status.{'overdue' if late else drill.status}", lang)
        fixes = section.corrections.get(drill.id, [])
        if fixes and fixes[-1].kind == "voided":  # the record as corrected (19c-d M13)
            status = _fixed(status, "report.drill_voided", fixes, zone, lang)
        elif fixes:  # step re-times said as such, counted apart (review 19e L4)
            changed = [f for f in fixes if f.kind != "retimed"]
            retimed = [f for f in fixes if f.kind == "retimed"]
            if changed:
                status = _fixed(status, "report.drill_corrected", changed, zone, lang)
            if retimed:
                status = _fixed(status, "report.drill_retimed", retimed, zone, lang)
        rows.append(
            [
                text(f"plan_kind.{drill.kind}", lang),
                when(drill).astimezone(zone).strftime("%Y-%m-%d %H:%M"),
                status,
                "; ".join(over) or "–",
                drill.findings or "–",
                "; ".join(drill.actions) or "–",  # review 19c-d M3
            ]
        )
        voided = drill.status == DrillStatus.VOIDED
        classes.append("miss" if (late or over) and not voided else "")
    return table(head, rows, classes=classes)


def render_emergency(section: EmergencySection | None, tz: str, lang: str) -> str:
    """The section's HTML in `lang` (times in the site's zone `tz`)."""
    if section is None:
        return ""
    return (
        f"<h3>{esc(text('report.entrapments', lang))}</h3>"
        + _entrapment_rows(section, tz, lang)
        + f"<h3>{esc(text('report.drills', lang))}</h3>"
        + _drill_rows(section, tz, lang)
    )


def _fixed(
    status: str, key: str, fixes: list[DrillCorrectionRow], zone: ZoneInfo, lang: str
) -> str:
    """The drill's status with how often it was changed this way, and the last change."""
    last = fixes[-1]
    return text(
        key,
        lang,
        status=status,
        n=len(fixes),
        who=last.actor,
        at=last.at.astimezone(zone).strftime("%Y-%m-%d %H:%M"),
        reason=last.reason,
    )
