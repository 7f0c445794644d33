"""The printable sheet of a site's request points: one QR code per point (segno, as a PNG
image) with its label and the site, printed to PDF by headless Chromium
(`maintenance.printing`), in zh-CN or en."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import segno
from sqlalchemy.orm import Session

from bldgwatch.maintenance.errors import UnknownSite
from bldgwatch.maintenance.htmldoc import esc, page
from bldgwatch.maintenance.models import SiteRow
from bldgwatch.maintenance.printing import pdf_bytes
from bldgwatch.maintenance.texts import text

_NUMBERS = re.compile(r"([0-9]+)")

CARD_STYLE = """
<style>
.cards { display: flex; flex-wrap: wrap; gap: 8mm; }
.card { width: 56mm; border: 1px dashed #999; padding: 4mm; text-align: center;
  page-break-inside: avoid; }
.card img { width: 44mm; height: 44mm; image-rendering: pixelated; }
.card .label { font-size: 12pt; font-weight: bold; margin: 2mm 0 1mm; }
.card .site, .card .hint { font-size: 9pt; color: #444; }
</style>
"""


@dataclass(frozen=True, slots=True)
class SheetPoint:
    """One point on the sheet: its label and the URL its QR code carries."""

    label: str
    url: str


def qr_data_uri(url: str) -> str:
    """The URL as a QR code (error correction M), a PNG data URI."""
    return str(segno.make(url, error="m", micro=False).png_data_uri(scale=8, border=4))


def sheet_html(site_name: str, points: Sequence[SheetPoint], *, lang: str) -> str:
    """The sheet as one self-contained HTML page."""
    hint = esc(text("sheet.hint", lang))
    cards = "".join(
        f'<div class="card"><img alt="{esc(p.label)}" src="{qr_data_uri(p.url)}">'
        f'<div class="label">{esc(p.label)}</div><div class="site">{esc(site_name)}</div>'
        f'<div class="hint">{hint}</div></div>'
        for p in points
    )
    body = CARD_STYLE + (
        f'<div class="cards">{cards}</div>'
        if points
        else f"<p>{esc(text('sheet.empty', lang))}</p>"
    )
    return page(text("sheet.title", lang, site=site_name), body, lang)


def natural_key(label: str) -> tuple[tuple[int, int | str], ...]:
    """Sort labels as people number floors and rooms: "2层" before "10层", "B2" after "B1"."""
    return tuple(
        (0, int(piece)) if _NUMBERS.fullmatch(piece) else (1, piece.casefold())
        for piece in _NUMBERS.split(label)
        if piece
    )


def sheet_pdf(session: Session, site: str, points: Sequence[SheetPoint], *, lang: str) -> bytes:
    """The site's sheet as PDF (UnknownSite; ReportError when Chromium cannot print)."""
    row = session.get(SiteRow, site)
    if row is None:
        raise UnknownSite(site)
    return pdf_bytes(sheet_html(row.name or row.id, points, lang=lang))
