"""API documentation pages (`/docs`: Swagger UI, `/redoc`: ReDoc) that load nothing from the
internet: the scripts and styles come from the npm packages `swagger-ui-dist` and `redoc`,
which the web build copies into `console/web/dist/vendor/`, and the icon is the console's.
FastAPI's own pages would load them from a CDN, blank in a plant room without internet."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse

from bldgwatch.console.auth import public

DOCS_POLICY = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; worker-src 'self' blob:; connect-src 'self'; frame-ancestors 'self'"
)
"""Content-Security-Policy of the docs pages: the browser fetches nothing from elsewhere
(ReDoc's sidebar shows a logo from cdn.redoc.ly; the policy keeps that request from being
made). Inline script and style: FastAPI's page starts Swagger UI inline, ReDoc styles inline."""

SWAGGER_UI = "/vendor/swagger-ui"
REDOC = "/vendor/redoc"
ICON = "/favicon.svg"

router = APIRouter(include_in_schema=False, dependencies=[Depends(public)])


def _openapi_url(request: Request) -> str:
    return request.app.openapi_url or "/openapi.json"


@router.get("/docs")
def swagger_ui(request: Request) -> HTMLResponse:
    """Swagger UI for trying the API (log in with the padlock: OAuth2 password flow)."""
    page = get_swagger_ui_html(
        openapi_url=_openapi_url(request),
        title=f"{request.app.title} – Swagger UI",
        swagger_js_url=f"{SWAGGER_UI}/swagger-ui-bundle.js",
        swagger_css_url=f"{SWAGGER_UI}/swagger-ui.css",
        swagger_favicon_url=ICON,
        # null: no validator badge, which would load an image from swagger.io
        swagger_ui_parameters={"validatorUrl": None, "persistAuthorization": True},
    )
    page.headers["Content-Security-Policy"] = DOCS_POLICY
    return page


@router.get("/redoc")
def redoc(request: Request) -> HTMLResponse:
    """ReDoc: the API reference as one readable page."""
    page = get_redoc_html(
        openapi_url=_openapi_url(request),
        title=f"{request.app.title} – ReDoc",
        redoc_js_url=f"{REDOC}/redoc.standalone.js",
        redoc_favicon_url=ICON,
        with_google_fonts=False,
    )
    page.headers["Content-Security-Policy"] = DOCS_POLICY
    return page
