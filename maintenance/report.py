"""The monthly maintenance report of a site: HTML with inline SVG charts, and PDF.

`report_data` gathers the month's KPIs, the trend over the previous months, the Pareto of
failures by equipment and by cause and the fleet's stage mix; `render_html` is pure (the
charts are drawn as SVG here, no plotting library); `render_pdf` prints the HTML with headless
Chromium when it is installed.
"""

from __future__ import annotations

import html
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy.orm import Session

from bldgwatch.maintenance.config import StageConfig
from bldgwatch.maintenance.errors import MaintenanceError
from bldgwatch.maintenance.kpis import Period, SiteKpis
from bldgwatch.maintenance.kpistore import Pareto, failure_pareto, kpis_for, stage_mix
from bldgwatch.maintenance.models import SiteRow
from bldgwatch.maintenance.stage import FitCache

BAR_W, CHART_H = 36, 140
TARGETS = {
    "availability": 0.98,
    "emergency_timeliness": 0.92,
    "minor_timeliness": 0.92,
    "first_time_fix": 0.98,
    "follow_up_rate": 1.0,
}


class ReportError(MaintenanceError):
    """The PDF could not be made (no Chromium, or it failed)."""


@dataclass(frozen=True, slots=True)
class ReportData:
    """Everything one monthly report shows."""

    site: str
    site_name: str
    month: SiteKpis
    trend: list[SiteKpis]  # oldest first, ending with `month`
    pareto: Pareto
    stages: dict[str, int]
    generated_at: datetime


def report_data(
    session: Session,
    site: str,
    period: Period,
    *,
    as_of: datetime,
    stage_config: StageConfig | None = None,
    months: int = 6,
    fits: FitCache | None = None,
) -> ReportData:
    """Gather one site's monthly report from the store (UnknownSite if not registered)."""
    periods = [period]
    while len(periods) < months:
        periods.insert(0, periods[0].previous())
    trend = [kpis_for(session, site, p, as_of) for p in periods]
    row = session.get(SiteRow, site)
    return ReportData(
        site=site,
        site_name=row.name if row is not None else site,
        month=trend[-1],
        trend=trend,
        pareto=failure_pareto(session, site, period),
        stages=stage_mix(
            session, site, min(as_of, period.end), stage_config or StageConfig(), fits
        ),
        generated_at=as_of,
    )


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.1f} %"


def _num(value: float | None, unit: str = "") -> str:
    return "–" if value is None else f"{value:,.1f}{unit}"


def _bars(values: list[tuple[str, float]], *, fmt: str = "{:g}", title: str) -> str:
    """A bar chart as inline SVG."""
    top = max((v for _, v in values), default=0.0) or 1.0
    width = max(len(values), 1) * (BAR_W + 12) + 20
    label = html.escape(title)
    parts = [f'<svg role="img" aria-label="{label}" width="{width}" height="{CHART_H + 40}">']
    for i, (label, value) in enumerate(values):
        h = value / top * CHART_H
        x, y = 10 + i * (BAR_W + 12), CHART_H - h + 15
        parts.append(f'<rect x="{x}" y="{y:.1f}" width="{BAR_W}" height="{h:.1f}" fill="#3b6ea5"/>')
        parts.append(
            f'<text x="{x + BAR_W / 2}" y="{y - 3:.1f}" font-size="10" text-anchor="middle">'
            f"{html.escape(fmt.format(value))}</text>"
        )
        parts.append(
            f'<text x="{x + BAR_W / 2}" y="{CHART_H + 30}" font-size="10" text-anchor="middle">'
            f"{html.escape(label[:10])}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


def _pareto_table(rows: list[tuple[str, int]], what: str) -> str:
    total = sum(n for _, n in rows) or 1
    cumulative = 0
    body = []
    for name, n in rows:
        cumulative += n
        body.append(
            f"<tr><td>{html.escape(name)}</td><td>{n}</td>"
            f"<td>{cumulative / total * 100:.0f} %</td></tr>"
        )
    head = f"<tr><th>{what}</th><th>failures</th><th>cumulative</th></tr>"
    return f"<table>{head}{''.join(body)}</table>"


def _kpi_rows(k: SiteKpis) -> str:
    rows = [
        ("Equipment availability (设备完好率)", _pct(k.availability), "availability"),
        (
            "Emergency repairs on time (急修及时率)",
            _pct(k.emergency_timeliness),
            "emergency_timeliness",
        ),
        ("Minor repairs on time (零修及时率)", _pct(k.minor_timeliness), "minor_timeliness"),
        ("First-time fix", _pct(k.first_time_fix), "first_time_fix"),
        ("Follow-up rate (回访率)", _pct(k.follow_up_rate), "follow_up_rate"),
        ("PM compliance", _pct(k.pm_compliance), ""),
        ("Failures", str(k.failures), ""),
        ("MTBF", _num(k.mtbf_h, " h"), ""),
        ("MTTR", _num(k.mttr_h, " h"), ""),
        ("Backlog (open orders)", str(k.backlog), ""),
        ("Cost", _num(k.cost), ""),
        ("Budget", _num(k.budget), ""),
        ("Cost against budget", _pct(k.cost_vs_budget), ""),
    ]
    out = []
    for label, value, key in rows:
        target = TARGETS.get(key)
        actual = getattr(k, key) if key else None
        miss = target is not None and actual is not None and actual < target
        cls = ' class="miss"' if miss else ""
        goal = f"≥ {target * 100:g} %" if target is not None else ""
        out.append(f"<tr{cls}><td>{label}</td><td>{value}</td><td>{goal}</td></tr>")
    return "".join(out)


def render_html(data: ReportData) -> str:
    """The report as one self-contained HTML page."""
    k = data.month
    trend_av = [(t.month[2:], (t.availability or 0.0) * 100) for t in data.trend]
    trend_fail = [(t.month[2:], float(t.failures)) for t in data.trend]
    stage_bars = [(s, float(n)) for s, n in data.stages.items()]
    by_equipment = [(n, float(c)) for n, c in data.pareto.by_equipment]
    title = f"Maintenance report {k.month} — {html.escape(data.site_name)}"
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>
body {{ font-family: sans-serif; margin: 2em; color: #222; }}
table {{ border-collapse: collapse; margin: 0.5em 0 1.5em; }}
td, th {{ border: 1px solid #ccc; padding: 3px 8px; text-align: left; }}
tr.miss td {{ background: #fde2e2; }}
section {{ page-break-inside: avoid; }}
</style></head><body>
<h1>{title}</h1>
<p>Site {html.escape(data.site)}, {k.units} units. Generated {data.generated_at.isoformat()}.</p>
<section><h2>Key figures</h2><table><tr><th>KPI</th><th>{k.month}</th><th>target</th></tr>
{_kpi_rows(k)}</table></section>
<section><h2>Trends</h2>
<h3>Availability (%)</h3>{_bars(trend_av, fmt="{:.1f}", title="availability")}
<h3>Failures</h3>{_bars(trend_fail, title="failures")}</section>
<section><h2>Pareto of failures</h2>
<h3>By equipment</h3>{_bars(by_equipment, title="by equipment")}
{_pareto_table(data.pareto.by_equipment, "equipment")}
<h3>By cause</h3>{_pareto_table(data.pareto.by_cause, "cause")}</section>
<section><h2>Life-stage mix of the fleet</h2>{_bars(stage_bars, title="stage mix")}</section>
</body></html>
"""


def render_pdf(
    page: str, target: Path, *, chromium: str | None = None, timeout_s: float = 60
) -> Path:
    """Print the HTML to `target` with headless Chromium; ReportError when that is not possible."""
    exe = chromium or shutil.which("chromium") or shutil.which("chromium-browser")
    if exe is None:
        raise ReportError("PDF needs Chromium (not found on PATH)")
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "report.html"
        source.write_text(page, encoding="utf-8")
        cmd = [
            exe,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            f"--user-data-dir={tmp}/profile",
            "--no-pdf-header-footer",
            f"--print-to-pdf={target}",
            source.as_uri(),
        ]
        try:
            subprocess.run(cmd, check=True, capture_output=True, timeout=timeout_s)
        except (subprocess.SubprocessError, OSError) as err:
            raise ReportError(f"Chromium could not print the report: {err}") from err
    if not target.exists() or target.stat().st_size == 0:
        raise ReportError("Chromium wrote no PDF")
    return target
