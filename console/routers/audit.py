"""The audit log for admins: who did what, when, from where, and what came of it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from sqlalchemy import or_, select

from bldgwatch.console.auth import Admin
from bldgwatch.console.deps import DbSession
from bldgwatch.console.errors import BadParameterError
from bldgwatch.console.models import AuditRow
from bldgwatch.console.paging import OnlySite, Page, Paging, When, page_of
from bldgwatch.console.problems import problem_docs
from bldgwatch.console.schemas_auth import AuditEntryOut
from bldgwatch.core.i18n import Message

router = APIRouter(prefix="/api", tags=["audit"])

SINCE_AFTER_UNTIL = Message("error.audit.since_after_until")


@router.get(
    "/audit",
    response_model=Page[AuditEntryOut],
    responses=problem_docs(400, 401, 403, 422, 503),
    summary="Read the audit log",
)
def audit_log(
    *,
    session: DbSession,
    user: Admin,
    paging: Paging,
    actor: Annotated[
        str | None, Query(max_length=100, description="Only this actor (user name, token:…).")
    ] = None,
    action: Annotated[
        str | None,
        Query(
            max_length=40,
            description="Only this action, or a family by its name ending in `.` "
            "(e.g. `login.`: login, login.failed, login.throttled; `work_order.`).",
        ),
    ] = None,
    target: Annotated[
        str | None, Query(max_length=200, description="Only this target, e.g. `work_order:12`.")
    ] = None,
    result: Annotated[
        str | None, Query(max_length=16, description="ok, denied, conflict, unauthorized, …")
    ] = None,
    site: OnlySite = None,
    since: Annotated[When | None, Query(description="From this time (ISO 8601, zone).")] = None,
    until: Annotated[When | None, Query(description="Before this time (ISO 8601, zone).")] = None,
) -> Page[AuditEntryOut]:
    """Audited events matching every given filter, newest first. An admin limited to some
    sites sees those sites' events and the events of no site (logins, users, tokens)."""
    if since is not None and until is not None and since >= until:
        raise BadParameterError(SINCE_AFTER_UNTIL, param="since")
    stmt = select(AuditRow)
    if action is not None and action.endswith("."):
        family = AuditRow.action.startswith(action, autoescape=True)
        stmt = stmt.where(or_(AuditRow.action == action[:-1], family))
    elif action is not None:
        stmt = stmt.where(AuditRow.action == action)
    for column, value in (
        (AuditRow.actor, actor),
        (AuditRow.target, target),
        (AuditRow.result, result),
        (AuditRow.site, site),
    ):
        if value is not None:
            stmt = stmt.where(column == value)
    if since is not None:
        stmt = stmt.where(AuditRow.at >= since)
    if until is not None:
        stmt = stmt.where(AuditRow.at < until)
    if user.sites is not None:
        sites = sorted(user.sites)
        stmt = stmt.where(or_(AuditRow.site.is_(None), AuditRow.site.in_(sites)))
    return page_of(session, stmt, (AuditRow.id.desc(),), paging, AuditEntryOut)
