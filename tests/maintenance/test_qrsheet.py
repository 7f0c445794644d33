"""The QR sheet of request points, printed by the real headless Chromium: read back from the
PDF, it holds the labels, the site and the hint in the chosen language, and one image per point
whose modules are exactly the QR code of that point's URL (so any reader scans that URL)."""

from __future__ import annotations

import io
import unicodedata

import pypdf
import pytest
import segno
from PIL import Image

from bldgwatch.maintenance.printing import pdf_bytes
from bldgwatch.maintenance.qrsheet import SheetPoint, natural_key, sheet_html

SCALE, BORDER = 8, 4  # as qrsheet.qr_data_uri draws them

POINTS = [
    SheetPoint("1号楼 水泵房", "https://desk.example/r/AbCdEfGhIjKlMnOp"),
    SheetPoint("2号楼 大堂", "https://desk.example/r/qRsTuVwXyZ012345"),
    SheetPoint("3#电梯 E-01", "https://desk.example/r/-_-_-_-_-_-_-_-_"),
]


def modules(image: Image.Image) -> tuple[tuple[int, ...], ...]:
    """The dark (1) and light (0) modules of a QR image drawn at SCALE with BORDER."""
    grey = image.convert("L")
    n = grey.width // SCALE - 2 * BORDER
    assert grey.width == grey.height == (n + 2 * BORDER) * SCALE
    centre = SCALE // 2
    return tuple(
        tuple(
            int(grey.getpixel(((c + BORDER) * SCALE + centre, (r + BORDER) * SCALE + centre)) < 128)  # type: ignore[operator]
            for c in range(n)
        )
        for r in range(n)
    )


def expected(url: str) -> tuple[tuple[int, ...], ...]:
    return tuple(tuple(int(bool(v)) for v in row) for row in segno.make(url, error="m").matrix)


@pytest.mark.parametrize(
    ("lang", "title", "hint"),
    [
        ("zh-CN", "报修二维码 · Demo Plaza", "扫码报修"),
        ("en", "Repair request QR codes", "Scan to"),
    ],
)
def test_the_sheet_holds_each_points_qr_code_and_label(lang: str, title: str, hint: str) -> None:
    pdf = pdf_bytes(sheet_html("Demo Plaza", POINTS, lang=lang))
    assert pdf.startswith(b"%PDF")
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    text = unicodedata.normalize("NFKC", "\n".join(p.extract_text() for p in reader.pages))
    assert title in text and text.count(hint) == len(POINTS)
    for point in POINTS:
        assert point.label in text
    images = [img.image for page in reader.pages for img in page.images]
    assert len(images) == len(POINTS)
    assert [modules(img) for img in images if img is not None] == [expected(p.url) for p in POINTS]


def test_a_sheet_without_points_says_so() -> None:
    reader = pypdf.PdfReader(io.BytesIO(pdf_bytes(sheet_html("Demo Plaza", [], lang="en"))))
    assert "no request points in use" in reader.pages[0].extract_text()
    assert len(reader.pages[0].images) == 0


def test_labels_sort_as_floors_and_rooms_are_numbered() -> None:
    labels = ["10层", "2层", "B2 车库", "1层 101", "1层 20", "b1 车库", "大堂"]
    assert sorted(labels, key=natural_key) == [
        "1层 20",
        "1层 101",
        "2层",
        "10层",
        "b1 车库",
        "B2 车库",
        "大堂",
    ]
