"""The web dashboard: one static page, its local assets, and the charting library installed
by npm into `console/web/node_modules` (never committed, never from a CDN)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from fastapi import APIRouter, Depends
from fastapi.responses import FileResponse

from bldgwatch.console.auth import public
from bldgwatch.console.errors import NotFoundError

STATIC_DIR = Path(str(resources.files("bldgwatch.console") / "static"))
WEB_DIR = Path(str(resources.files("bldgwatch.console") / "web"))

VENDOR_FILES = {
    "uPlot.iife.min.js": WEB_DIR / "node_modules" / "uplot" / "dist" / "uPlot.iife.min.js",
    "uPlot.min.css": WEB_DIR / "node_modules" / "uplot" / "dist" / "uPlot.min.css",
}
"""Files of npm packages the page loads, by the name it asks for."""

router = APIRouter(include_in_schema=False, dependencies=[Depends(public)])


@router.get("/")
def index() -> FileResponse:
    """The dashboard page."""
    return FileResponse(STATIC_DIR / "index.html", media_type="text/html")


@router.get("/vendor/{name}")
def vendor(name: str) -> FileResponse:
    """A file of an npm package (run `npm ci` in console/web to install them)."""
    path = VENDOR_FILES.get(name)
    if path is None or not path.is_file():
        raise NotFoundError(f"vendor file {name} is not installed (run `npm ci` in console/web)")
    return FileResponse(path)
