"""The web console: the single-page application that Vite builds into `console/web/dist`
at install time (`make web`; never committed), served with the right caching.

- `/assets/…`: Vite's output, named by content hash, so browsers may keep it for a year.
- `/vendor/…`: npm packages the build copies unchanged (Swagger UI, ReDoc for `/docs`).
- any other GET outside the API: a file at the top of the build (the icon), else
  `index.html`, never cached, so a new build is picked up at the next load. The app's router
  then shows the page the path names (`/alarms`, `/work-orders/12`, …): client routes are
  bookmarkable and survive a reload.

The fallback's path pattern excludes the API (`/api/…`, `/openapi.json`, `/healthz`, `/metrics`,
`/docs`, `/redoc`) and the mounts, so an unknown API path still answers 404 (405 for a wrong
method on a known one) as a problem document.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path, PurePosixPath

from fastapi import APIRouter, Depends, FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles
from starlette.convertors import PathConvertor, register_url_convertor
from starlette.responses import Response
from starlette.types import Scope

from bldgwatch.console.auth import public
from bldgwatch.console.errors import NotFoundError, UnavailableError
from bldgwatch.core.i18n import Message

DIST_DIR = Path(str(resources.files("bldgwatch.console") / "web" / "dist"))
"""Where `make web` (Vite) puts the built application."""

IMMUTABLE = "public, max-age=31536000, immutable"
NO_CACHE = "no-cache"
APP_POLICY = (
    "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
)
"""Content-Security-Policy of the application: scripts, data and the live stream from the
console only (Element Plus and ECharts set inline styles)."""


class PagePathConvertor(PathConvertor):
    """A path of the application: anything but the API, the docs and the static mounts."""

    # `\b`, not `$`: FastAPI's included routers match with a regex in which `$` inside a
    # lookahead does not see the end of the path.
    regex = r"(?!(?:api|assets|vendor|docs|redoc|openapi\.json|healthz|metrics)\b).+"


class _CachedFiles(StaticFiles):
    """Static files with one `Cache-Control` header for all of them."""

    def __init__(self, *, directory: Path, cache_control: str) -> None:
        super().__init__(directory=directory, check_dir=False)
        self.cache_control = cache_control

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        if response.status_code < 400:
            response.headers["Cache-Control"] = self.cache_control
        return response


def _index(dist: Path) -> FileResponse:
    index = dist / "index.html"
    if not index.is_file():
        raise UnavailableError(Message("error.web.not_built", {"index": str(index)}))
    headers = {"Cache-Control": NO_CACHE, "Content-Security-Policy": APP_POLICY}
    return FileResponse(index, media_type="text/html", headers=headers)


def _router(dist: Path) -> APIRouter:
    router = APIRouter(include_in_schema=False, dependencies=[Depends(public)])

    @router.get("/")
    def index() -> FileResponse:
        """The console application."""
        return _index(dist)

    @router.get("/{path:page}")
    def application(path: str) -> FileResponse:
        """A file at the top of the build, else the application (it routes by the path)."""
        parts = PurePosixPath(path).parts
        if ".." not in parts:
            candidate = dist.joinpath(*parts)
            if candidate.is_file():
                return FileResponse(candidate, headers={"Cache-Control": NO_CACHE})
        if "." in parts[-1]:
            raise NotFoundError(
                Message("error.path.not_found", {"path": f"/{path}"})
            )  # a missing file, not a page
        return _index(dist)

    return router


def install(app: FastAPI, dist: Path | None = None) -> None:
    """Serve the built application from `dist` (default DIST_DIR): its hashed assets (cached
    for a year), the copied npm packages, and `index.html` for every page path. Call after
    the API routers."""
    dist = dist or DIST_DIR
    register_url_convertor("page", PagePathConvertor())
    app.mount(
        "/assets", _CachedFiles(directory=dist / "assets", cache_control=IMMUTABLE), name="assets"
    )
    app.mount(
        "/vendor", _CachedFiles(directory=dist / "vendor", cache_control=NO_CACHE), name="vendor"
    )
    app.include_router(_router(dist))
