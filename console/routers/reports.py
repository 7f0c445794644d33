"""The monthly report of a site at a stable address, in zh-CN or en:
`/api/reports/{site}/{yyyy-mm}.html` and `.pdf` (`?lang=zh-CN|en`; without a suffix, HTML).
Any month the site has figures for; made on request from `maintenance.report`, the same
document the maintenance service e-mails on the first of each month."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Path
from fastapi.responses import HTMLResponse, Response

from bldgwatch.console.auth import Supervisor
from bldgwatch.console.deps import AppClock, DbSession, Store
from bldgwatch.console.errors import NotFoundError, UnavailableError, said
from bldgwatch.console.language import Lang
from bldgwatch.console.paging import YEARS
from bldgwatch.console.problems import problem_docs
from bldgwatch.console.routers.kpis import visible_site
from bldgwatch.maintenance.kpis import Period
from bldgwatch.maintenance.kpistore import NoFigures
from bldgwatch.maintenance.policy import load as load_policy
from bldgwatch.maintenance.printing import ReportError, pdf_bytes
from bldgwatch.maintenance.report import render_html, report_data

router = APIRouter(prefix="/api", tags=["kpis"])

NAME = re.compile(rf"^{YEARS}-(0[1-9]|1[0-2])(\.(html|pdf))?$")
"""YYYY-MM (1970-01 … 2199-12) with an optional .html or .pdf."""


@router.get(
    "/reports/{site}/{month}",
    responses={
        **problem_docs(401, 403, 404, 422, 503),
        200: {"content": {"text/html": {}, "application/pdf": {}}},
    },
    summary="Monthly maintenance report (HTML or PDF)",
)
def monthly_report(
    *,
    session: DbSession,
    store: Store,
    user: Supervisor,
    clock: AppClock,
    lang: Lang,
    site: Annotated[str, Path(max_length=64, description="Site id.")],
    month: Annotated[
        str,
        Path(
            pattern=NAME.pattern,
            description="YYYY-MM (the site's month, 1970-01 … 2199-12), with .html or .pdf; "
            "e.g. 2026-03.pdf.",
        ),
    ],
) -> Response:
    """KPIs against targets, costs against budget, trend, the month's repairs, the Pareto of
    failures, the fleet's life stages and the orders still open; 404 for a month the site
    has no figures for."""
    visible_site(session, user, site)
    found = NAME.match(month)
    assert found is not None  # the path pattern checked it
    period = Period(int(found.group(1)), int(found.group(2)))
    try:
        stage = load_policy(session).stage
        data = report_data(
            session, site, period, as_of=clock.now(), stage_config=stage, store=store
        )
        page = render_html(data, lang)
    except NoFigures as err:
        raise NotFoundError(said(err)) from err
    stem = f"{site}-{found.group(1)}-{found.group(2)}-{lang}"
    if found.group(4) != "pdf":
        return HTMLResponse(
            page, headers={"Content-Disposition": f'inline; filename="{stem}.html"'}
        )
    try:
        pdf = pdf_bytes(page)  # a sync route: FastAPI runs it on a worker thread
    except ReportError as err:
        raise UnavailableError(said(err)) from err
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{stem}.pdf"'},
    )
