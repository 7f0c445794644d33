"""Building blocks of the printable documents (monthly report, history file): the page with
its style sheet, tables and bar charts as inline SVG (no plotting library). Pure."""

from __future__ import annotations

import html
from collections.abc import Sequence

BAR_W, CHART_H = 44, 140

STYLE = """
body { font-family: "Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "PingFang SC",
  "Microsoft YaHei", sans-serif; margin: 2em; color: #222; font-size: 11pt; }
h1 { font-size: 18pt; margin-bottom: 0.2em; } h2 { font-size: 13pt; border-bottom: 1px solid #999; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; }
td, th { border: 1px solid #ccc; padding: 3px 8px; text-align: left; vertical-align: top; }
td.num, th.num { text-align: right; }
tr.miss td { background: #fde2e2; }
p.meta { color: #555; }
section { page-break-inside: avoid; }
@page { size: A4; margin: 15mm; }
"""


def esc(value: object) -> str:
    """Text for HTML."""
    return html.escape(str(value))


def page(title: str, body: str, lang: str) -> str:
    """One self-contained HTML page."""
    return (
        f'<!doctype html>\n<html lang="{esc(lang)}"><head><meta charset="utf-8">'
        f"<title>{esc(title)}</title><style>{STYLE}</style></head><body>\n"
        f"<h1>{esc(title)}</h1>\n{body}\n</body></html>\n"
    )


def table(
    head: Sequence[str],
    rows: Sequence[Sequence[object]],
    *,
    numeric: Sequence[int] = (),
    classes: Sequence[str] = (),
) -> str:
    """A table; `numeric` columns right-aligned; `classes` per row (e.g. miss)."""
    cells = "".join(
        f"<th{' class=num' if i in numeric else ''}>{esc(h)}</th>" for i, h in enumerate(head)
    )
    out = [f"<table><tr>{cells}</tr>"]
    for r, row in enumerate(rows):
        cls = f' class="{classes[r]}"' if r < len(classes) and classes[r] else ""
        tds = "".join(
            f"<td{' class=num' if i in numeric else ''}>{esc(v)}</td>" for i, v in enumerate(row)
        )
        out.append(f"<tr{cls}>{tds}</tr>")
    out.append("</table>")
    return "".join(out)


def bars(values: Sequence[tuple[str, float]], *, title: str, fmt: str = "{:g}") -> str:
    """A bar chart as inline SVG, its axis fitted to the values."""
    top = max((v for _, v in values), default=0.0) or 1.0
    width = max(len(values), 1) * (BAR_W + 12) + 20
    parts = [f'<svg role="img" aria-label="{esc(title)}" width="{width}" height="{CHART_H + 40}">']
    for i, (label, value) in enumerate(values):
        h = value / top * CHART_H
        x, y = 10 + i * (BAR_W + 12), CHART_H - h + 15
        parts.append(f'<rect x="{x}" y="{y:.1f}" width="{BAR_W}" height="{h:.1f}" fill="#3b6ea5"/>')
        parts.append(
            f'<text x="{x + BAR_W / 2}" y="{y - 3:.1f}" font-size="10" text-anchor="middle">'
            f"{esc(fmt.format(value))}</text>"
        )
        parts.append(
            f'<text x="{x + BAR_W / 2}" y="{CHART_H + 30}" font-size="10" text-anchor="middle">'
            f"{esc(label[:10])}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


def pct(value: float | None) -> str:
    """A rate as a percentage; '–' for none."""
    return "–" if value is None else f"{value * 100:.1f} %"


def num(value: float | None, digits: int = 1) -> str:
    """A number with thousands separators; '–' for none."""
    return "–" if value is None else f"{value:,.{digits}f}"
