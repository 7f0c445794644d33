"""The monthly maintenance report of a site, in zh-CN or en: HTML with inline SVG charts, and
PDF (`maintenance.printing`).

`report_data` gathers the month's KPIs (with last month's and the site's targets), the trend
over the previous months the site was managed, the month's repairs and the orders still open,
the costs against the budget per category, the Pareto of failures and the fleet's stage mix;
`render_html` is pure and writes a document a property manager can hand on.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from bldgwatch.core.tsdb import TimeSeriesStore
from bldgwatch.core.tsdb.base import TsdbError
from bldgwatch.maintenance.budgets import CATEGORIES, meets, targets
from bldgwatch.maintenance.complaintqueries import complaints_by_category
from bldgwatch.maintenance.config import StageConfig
from bldgwatch.maintenance.contractorkpis import Scorecard, scorecards
from bldgwatch.maintenance.emergencyreport import (
    EmergencySection,
    emergency_section,
    render_emergency,
)
from bldgwatch.maintenance.energysavestore import BuildingSaving, SiteSaving, site_saving
from bldgwatch.maintenance.htmldoc import bars, esc, num, page, pct, table
from bldgwatch.maintenance.i18n import known
from bldgwatch.maintenance.kpis import Period, SiteKpis
from bldgwatch.maintenance.kpistore import (
    NoFigures,
    Pareto,
    failure_pareto,
    kpis_for,
    site_clock,
    stage_mix,
)
from bldgwatch.maintenance.models import TERMINAL_STATUSES, SiteRow, WorkOrderRow
from bldgwatch.maintenance.stage import FitCache
from bldgwatch.maintenance.texts import named, order_title, render, text

KEY_FIGURES = (
    "good_condition",
    "availability",
    "emergency_timeliness",
    "minor_timeliness",
    "minor_pass_rate",
    "first_time_fix",
    "follow_up_rate",
    "satisfaction",
    "complaint_resolution_rate",
    "complaint_response_on_time",
    "complaint_resolution_on_time",
    "complaints",
    "pm_compliance",
    "pm_item_compliance",
    "rounds_late",
    "rounds_missed",
    "failures",
    "mtbf_h",
    "mttr_h",
    "downtime_h",
    "backlog",
    "cost",
    "budget",
    "cost_vs_budget",
)
RATES = frozenset(
    {
        "good_condition",
        "availability",
        "emergency_timeliness",
        "minor_timeliness",
        "minor_pass_rate",
        "first_time_fix",
        "follow_up_rate",
        "satisfaction",
        "complaint_resolution_rate",
        "complaint_response_on_time",
        "complaint_resolution_on_time",
        "pm_compliance",
        "pm_item_compliance",
        "cost_vs_budget",
    }
)

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ReportData:
    """Everything one monthly report shows."""

    site: str
    site_name: str
    tz: str
    month: SiteKpis
    previous: SiteKpis | None
    trend: list[SiteKpis]  # oldest first, ending with `month`; only months the site was managed
    pareto: Pareto
    stages: dict[str, int]
    generated_at: datetime
    targets: dict[str, float]
    orders: list[WorkOrderRow]  # reactive orders and requests opened in the month
    backlog: list[WorkOrderRow]  # orders open at the month's end (or now)
    period: Period
    as_of: datetime
    since: datetime | None = None  # when the site came under management
    complaints: dict[str, int] = field(default_factory=dict)  # received in the month, by category
    contractors: list[Scorecard] = field(default_factory=list)  # dispatched in the month
    emergency: EmergencySection | None = None  # the month's entrapments and drills
    energy: list[SiteSaving] | None = None  # the month's saving per kind; None: not read


def _orders(
    session: Session, site: str, period: Period, as_of: datetime
) -> tuple[list[WorkOrderRow], list[WorkOrderRow]]:
    rows = session.scalars(
        select(WorkOrderRow)
        .where(WorkOrderRow.site == site, WorkOrderRow.created_at < min(as_of, period.end))
        .order_by(WorkOrderRow.created_at, WorkOrderRow.id)
    ).all()
    opened = [
        o for o in rows if period.contains(o.created_at) and o.kind in {"reactive", "request"}
    ]
    end = min(as_of, period.end)
    finished = {s.value for s in TERMINAL_STATUSES}
    backlog = [
        o
        for o in rows
        if (o.resolved_at is None or o.resolved_at >= end)
        and (o.closed_at is None or o.closed_at >= end)
        and not (o.status in finished and o.closed_at is None)
    ]
    return opened, backlog


def report_data(
    session: Session,
    site: str,
    period: Period,
    *,
    as_of: datetime,
    stage_config: StageConfig | None = None,
    months: int = 6,
    fits: FitCache | None = None,
    store: TimeSeriesStore | None = None,
) -> ReportData:
    """Gather one site's monthly report (UnknownSite; NoFigures for a month outside the
    site's managed life)."""
    clock = site_clock(session, site)
    month = clock.period(period)
    current = kpis_for(session, site, month, as_of)
    periods = [month]
    while len(periods) < months:
        periods.insert(0, periods[0].previous())
    trend = []
    for p in periods:
        try:
            trend.append(kpis_for(session, site, p, as_of))
        except NoFigures:
            continue
    previous = trend[-2] if len(trend) > 1 and trend[-2].month == month.previous().label else None
    row = session.get(SiteRow, site)
    opened, backlog = _orders(session, site, month, as_of)
    return ReportData(
        site=site,
        site_name=row.name if row is not None and row.name else site,
        tz=clock.tz,
        month=current,
        previous=previous,
        trend=trend,
        pareto=failure_pareto(session, site, month),
        stages=stage_mix(session, site, min(as_of, month.end), stage_config or StageConfig(), fits),
        generated_at=as_of,
        targets=targets(session, site),
        orders=opened,
        backlog=backlog,
        period=month,
        as_of=as_of,
        since=clock.since,
        complaints=complaints_by_category(session, site, month),
        contractors=scorecards(session, site, month, as_of),
        emergency=emergency_section(session, site, month, as_of),
        energy=_energy(session, store, site=site, month=month, as_of=as_of, tz=clock.tz)
        if store
        else None,
    )


def _energy(
    session: Session, store: TimeSeriesStore, *, site: str, month: Period, as_of: datetime, tz: str
) -> list[SiteSaving] | None:
    """The month's saving of electricity and water (None when InfluxDB does not answer: the
    rest of the report goes out without it)."""
    zone = ZoneInfo(tz)
    start = month.start.astimezone(zone).date()
    end = month.end.astimezone(zone).date()
    today = as_of.astimezone(zone).date()
    try:
        return [
            site_saving(session, store, site=site, kind=kind, start=start, end=end, today=today)
            for kind in ("electricity", "water")
        ]
    except TsdbError:
        logger.warning("monthly report %s %s: no energy figures (InfluxDB)", site, month.label)
        return None
    except Exception:  # the energy section never takes the rest of the report with it
        logger.exception("monthly report %s %s: no energy figures", site, month.label)
        return None


def _figure(kpi: str, k: SiteKpis | None) -> str:
    if k is None:
        return "–"
    value = getattr(k, kpi)
    if kpi in RATES:
        return pct(value)
    if kpi in {"failures", "backlog", "complaints", "rounds_late", "rounds_missed"}:
        return "–" if value is None else str(value)
    return num(value)


def _key_figures(data: ReportData, lang: str) -> str:
    rows, classes = [], []
    for kpi in KEY_FIGURES:
        target = data.targets.get(kpi)
        value = getattr(data.month, kpi)
        met = meets(kpi, value, target) if target is not None else None
        goal = ""
        if target is not None:
            goal = ("≤ " if kpi == "cost_vs_budget" else "≥ ") + pct(target)
        status = "" if met is None else text("report.met" if met else "report.missed", lang)
        classes.append("miss" if met is False else "")
        name = text(f"kpi.{kpi}", lang)
        rows.append([name, _figure(kpi, data.month), _figure(kpi, data.previous), goal, status])
    head = [text(f"report.col.{c}", lang) for c in ("kpi", "month", "previous", "target", "status")]
    return table(head, rows, numeric=(1, 2), classes=classes)


def _costs(data: ReportData, lang: str) -> str:
    k = data.month
    budgets = k.budget_by_category or {}
    rows = []
    for category in CATEGORIES:
        cost, budget = k.cost_by_category.get(category, 0.0), budgets.get(category)
        share = pct(cost / budget) if budget else "–"
        rows.append([text(f"category.{category}", lang), num(cost, 2), num(budget, 2), share])
    rows.append(
        [text("report.total", lang), num(k.cost, 2), num(k.budget, 2), pct(k.cost_vs_budget)]
    )
    head = [text(f"report.col.{c}", lang) for c in ("category", "cost", "budget", "share")]
    return table(head, rows, numeric=(1, 2, 3))


def cause_name(code: str, lang: str) -> str:
    """A Pareto cause: a cause code's name, or a fault code's name with the code."""
    if known(f"cause.{code}"):
        return _named("cause", code, lang)
    if known(f"fault.{code}"):
        return f"{text('fault', lang, code=code)} ({code})"
    return code


def _local(when: datetime | None, tz: str) -> str:
    return "–" if when is None else when.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M")


def _named(prefix: str, code: str | None, lang: str) -> str:
    found = named(prefix, code)
    return found if isinstance(found, str) else render(found, lang)


def _order_rows(data: ReportData, lang: str) -> str:
    if not data.orders:
        return f"<p>{esc(text('report.none', lang))}</p>"
    rows = [
        [
            f"#{o.id}",
            o.equipment,
            order_title(o, lang),
            _named("repair_class", o.repair_class, lang),
            _named("cause", o.cause_code, lang),
            num(o.downtime_h),
            num(o.cost, 2),
            _named("status", o.status, lang),
        ]
        for o in data.orders
    ]
    cols = (
        "order",
        "equipment",
        "title",
        "repair_class",
        "cause",
        "downtime",
        "cost",
        "status_now",
    )
    return table([text(f"report.col.{c}", lang) for c in cols], rows, numeric=(5, 6))


def _backlog(data: ReportData, lang: str) -> str:
    if not data.backlog:
        return f"<p>{esc(text('report.none', lang))}</p>"
    rows = [
        [
            f"#{o.id}",
            o.equipment,
            order_title(o, lang),
            _local(o.created_at, data.tz),
            _local(o.resolution_due, data.tz),
            _named("status", o.status, lang),
        ]
        for o in data.backlog
    ]
    cols = ("order", "equipment", "title", "opened", "due", "status_now")
    return table([text(f"report.col.{c}", lang) for c in cols], rows)


def _pareto_table(rows: list[tuple[str, int]], what: str, lang: str, causes: bool = False) -> str:
    total = sum(n for _, n in rows) or 1
    cumulative, body = 0, []
    for name, n in rows:
        cumulative += n
        label = cause_name(name, lang) if causes else name
        body.append([label, n, f"{cumulative / total * 100:.0f} %"])
    head = [what, text("report.col.failures", lang), text("report.col.cumulative", lang)]
    return table(head, body, numeric=(1, 2))


def _summary(data: ReportData, lang: str) -> str:
    k = data.month
    resolved = sum(1 for o in data.orders if o.resolved_at is not None)
    intro = text(
        "report.intro",
        lang,
        site_id=data.site,
        units=k.units,
        start=_local(max(data.period.start, data.since or data.period.start), data.tz)[:10],
        end=_local(min(data.period.end, data.as_of) - timedelta(microseconds=1), data.tz)[:10],
        tz=data.tz,
        generated=_local(data.generated_at, data.tz),
    )
    summary = text(
        "report.summary",
        lang,
        failures=len(data.orders),
        resolved=resolved,
        open=k.backlog,
        good=pct(k.good_condition),
        good_target=pct(data.targets.get("good_condition")),
        cost=num(k.cost, 2),
        budget=num(k.budget, 2) if k.budget is not None else text("report.no_budget", lang),
    )
    partial = ""
    if data.as_of < data.period.end:
        partial = f"<p>{esc(text('report.partial', lang, as_of=_local(data.as_of, data.tz)))}</p>"
    return f'<p class="meta">{esc(intro)}</p><p>{esc(summary)}</p>{partial}'


def _complaints(data: ReportData, lang: str) -> str:
    k = data.month
    summary = text(
        "report.complaints_summary",
        lang,
        received=k.complaints or 0,
        valid=k.valid_complaints or 0,
        rate=pct(k.complaint_resolution_rate),
        response=pct(k.complaint_response_on_time),
        resolution=pct(k.complaint_resolution_on_time),
    )
    if not data.complaints:
        return f"<p>{esc(summary)}</p>"
    rows = [
        [text(f"complaint_category.{c}", lang), n]
        for c, n in sorted(data.complaints.items(), key=lambda item: -item[1])
    ]
    head = [text("report.col.category", lang), text("report.col.complaints", lang)]
    return f"<p>{esc(summary)}</p>" + table(head, rows, numeric=(1,))


def _contractors(data: ReportData, lang: str) -> str:
    """Each contractor's scorecard: its orders, on-time rates, repeat failures and cost."""
    if not data.contractors:
        return f"<p>{esc(text('report.contractors_none', lang))}</p>"
    cols = "contractor dispatched preventive response_on_time resolution_on_time"
    head = [text(f"report.col.{c}", lang) for c in (*cols.split(), "repeat_failures", "cost")]
    rows = [
        [
            c.name or c.contractor,
            c.dispatched,
            c.preventive,
            pct(c.as_dict()["response_on_time_rate"]),
            pct(c.as_dict()["resolution_on_time_rate"]),
            c.repeat_failures,
            num(c.cost),
        ]
        for c in data.contractors
    ]
    return table(head, rows, numeric=(1, 2, 3, 4, 5, 6))


def _energy_section(data: ReportData, lang: str) -> str:
    """Each building's use of the month per kind (and per m²), its saving where a baseline
    fits (else why not), and the year's target line whenever a target is set."""
    lines = []
    for found in data.energy or []:
        kind = text(f"report.energy.kind.{found.kind}", lang)
        shown = False
        for b in found.buildings:
            line = _energy_line(b, found, kind, lang)
            if line:
                lines.append(line)
                shown = True
        p = found.progress
        achieved = pct(p.achieved)
        if p.target is not None:
            verdict = (
                text("report.energy.on_track" if p.on_track else "report.energy.behind", lang)
                if p.on_track is not None
                else text("report.energy.unknown", lang)
            )
            lines.append(
                text(
                    "report.energy.target",
                    lang,
                    kind=kind,
                    year=p.year,
                    target=pct(p.target),
                    achieved=achieved,
                    verdict=verdict,
                )
            )
        elif shown:
            lines.append(
                text("report.energy.no_target", lang, kind=kind, year=p.year, achieved=achieved)
            )
    if not lines:
        return f"<p>{esc(text('report.energy.none', lang))}</p>"
    return "<ul>" + "".join(f"<li>{esc(line)}</li>" for line in lines) + "</ul>"


def _energy_line(b: BuildingSaving, found: SiteSaving, kind: str, lang: str) -> str | None:
    """One building's line: its saving, or its use and why there is no saving."""
    s = b.savings
    name = b.name or b.building
    if s is None:
        if b.used is None:
            return None
        line = text(
            "report.energy.used",
            lang,
            building=name,
            kind=kind,
            used=num(b.used, 1),
            unit=found.unit,
            why=text(f"report.energy.{b.missing or 'no_baseline'}", lang),
        )
        per_m2 = b.used / b.area_m2 if b.area_m2 else None
    else:
        money = (
            text("report.energy.money", lang, money=num(s.money, 0), currency=found.currency)
            if s.money is not None
            else ""
        )
        line = text(
            "report.energy.line",
            lang,
            building=name,
            kind=kind,
            used=num(s.used, 1),
            expected=num(s.expected, 1),
            saved=num(s.saved, 1),
            unit=found.unit,
            share=pct(s.share),
            money=money,
        )
        per_m2 = s.per_m2
        if s.left_out:  # days whose figure is no measurement (review 20b, N1 and N8)
            stuck = sum(1 for _, why in s.left_out if why == "stuck")
            line += "; " + text(
                "report.energy.left_out",
                lang,
                days=len(s.left_out),
                stuck=stuck,
                estimated=len(s.left_out) - stuck,
            )
    if per_m2 is not None:
        line += "; " + text("report.energy.per_m2", lang, per_m2=num(per_m2, 3), unit=found.unit)
    return line


def _section(key: str, content: str, lang: str) -> str:
    return f"<section><h2>{esc(text(key, lang))}</h2>{content}</section>\n"


def _chart(key: str, values: list[tuple[str, float]], lang: str, fmt: str = "{:g}") -> str:
    name = text(key, lang)
    return f"<h3>{esc(name)}</h3>{bars(values, title=name, fmt=fmt)}"


def _pareto(data: ReportData, lang: str) -> str:
    by_equipment = [(n, float(c)) for n, c in data.pareto.by_equipment]
    equipment = text("report.col.equipment", lang)
    cause = text("report.col.cause", lang)
    return (
        _chart("report.by_equipment", by_equipment, lang)
        + _pareto_table(data.pareto.by_equipment, equipment, lang)
        + f"<h3>{esc(text('report.by_cause', lang))}</h3>"
        + _pareto_table(data.pareto.by_cause, cause, lang, causes=True)
    )


def render_html(data: ReportData, lang: str = "zh-CN") -> str:
    """The report as one self-contained HTML page in `lang` (zh-CN or en)."""
    label = text("report.month", lang, year=data.period.year, month=data.period.month)
    title = text("report.title", lang, month=label, site=data.site_name)
    trend_good = [(t.month[2:], (t.good_condition or 0.0) * 100) for t in data.trend]
    trend_fail = [(t.month[2:], float(t.failures)) for t in data.trend]
    stage_bars = [(text(f"stage_short.{s}", lang), float(n)) for s, n in data.stages.items()]
    trends = _chart("report.trend_good", trend_good, lang, "{:.1f}") + _chart(
        "report.trend_failures", trend_fail, lang
    )
    body = (
        _summary(data, lang)
        + _section("report.key_figures", _key_figures(data, lang), lang)
        + _section("report.costs", _costs(data, lang), lang)
        + _section("report.trends", trends, lang)
        + _section("report.orders", _order_rows(data, lang), lang)
        + _section("report.complaints", _complaints(data, lang), lang)
        + _section("report.contractors", _contractors(data, lang), lang)
        + _section("report.emergency", render_emergency(data.emergency, data.tz, lang), lang)
        + _section("report.energy.title", _energy_section(data, lang), lang)
        + _section("report.pareto", _pareto(data, lang), lang)
        + _section("report.stages", bars(stage_bars, title=text("report.stages", lang)), lang)
        + _section("report.backlog", _backlog(data, lang), lang)
        + f'<p class="meta">{esc(text("report.definitions", lang, tz=data.tz))}</p>'
        + f"<p>{esc(text('report.signoff', lang))}</p>"
    )
    return page(title, body, lang)
