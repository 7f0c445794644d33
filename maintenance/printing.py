"""Printing HTML documents (the monthly report, the equipment history file) to PDF with
headless Chromium, which renders the Chinese text with the system's CJK fonts
(fonts-noto-cjk)."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from bldgwatch.core.i18n import Message
from bldgwatch.maintenance.errors import MaintenanceError


class ReportError(MaintenanceError):
    """The PDF could not be made (no Chromium, or it failed)."""


def render_pdf(
    page: str, target: Path, *, chromium: str | None = None, timeout_s: float = 60
) -> Path:
    """Print the HTML to `target` with headless Chromium; ReportError when that is not possible."""
    exe = chromium or shutil.which("chromium") or shutil.which("chromium-browser")
    if exe is None:
        raise ReportError(Message("error.pdf.no_chromium"))
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
            raise ReportError(Message("error.pdf.failed", {"detail": str(err)})) from err
    if not target.exists() or target.stat().st_size == 0:
        raise ReportError(Message("error.pdf.empty"))
    return target


def pdf_bytes(page: str, *, chromium: str | None = None, timeout_s: float = 60) -> bytes:
    """The HTML printed to PDF, as bytes."""
    with tempfile.TemporaryDirectory() as tmp:
        return render_pdf(
            page, Path(tmp) / "out.pdf", chromium=chromium, timeout_s=timeout_s
        ).read_bytes()
