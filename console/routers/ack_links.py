"""One-time acknowledge links from notices. The token is the credential (no login: the
person woken at 3 a.m. has a phone, not a session): signed, expiring, single-use.

- `GET /ack/{token}`: a small page in the recipient's language saying what will be
  acknowledged, with one button. Opening it changes nothing (chat apps fetch links to show a
  preview; that must not acknowledge the alarm). A used link says when it was used instead.
- `POST /ack/{token}`: the button; `POST /api/ack-links/{token}`: the same for programs.

Using a link: alerts claims it and stops the escalation (`alerts.acklinks.redeem`), then
the console acknowledges the alarm through its owner (`rules.operator`), as a console user
would, with the recipient as the actor; the rules service publishes the acknowledgement.
Each use — and each refused try: forged, expired, used — goes into the console's audit log
(`alarm.acknowledge_link`: the recipient, the address, the outcome), and alerts keeps it
with the link's row.
"""

from __future__ import annotations

import html
import logging
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from bldgwatch.alerts import acklinks
from bldgwatch.alerts.errors import LinkError
from bldgwatch.console import audit
from bldgwatch.console.audit import AuditEntry, client_address
from bldgwatch.console.auth import public
from bldgwatch.console.deps import AlertsBox, AppClock, DbEngine, DbSession
from bldgwatch.console.errors import (
    ConflictError,
    GoneError,
    NotFoundError,
    ProblemError,
    UnavailableError,
)
from bldgwatch.console.problems import problem_docs
from bldgwatch.console.schemas_alerts import AckLinkResult
from bldgwatch.core import i18n
from bldgwatch.core.clock import Clock
from bldgwatch.core.i18n import Message
from bldgwatch.rules import queries as alarm_queries
from bldgwatch.rules.errors import InvalidTransitionError, UnknownAlarmError
from bldgwatch.rules.operator import AlarmActions

logger = logging.getLogger(__name__)

router = APIRouter(tags=["alarms"], dependencies=[Depends(public)])

Token = Annotated[str, Path(max_length=64, description="The link's token.")]

REFUSALS = frozenset({"malformed", "forged", "unknown", "used", "expired", "superseded"})
"""Refusals the page explains in the recipient's language (`acklink.<reason>`)."""
PLAIN_REFUSALS = frozenset({"malformed", "forged", "unknown", "superseded"})
"""Refusals whose problem detail needs nothing of the link (`error.ack_link.<reason>`)."""


def _t(language: str, text: str, /, **params: str) -> str:
    """A text of the page in the recipient's language (`acklink.<text>` in the catalogue)."""
    return i18n.render(f"acklink.{text}", params, language)


def _problem(err: LinkError) -> ProblemError:
    detail: str | Message = err.detail  # expired/used name their time in UTC: English
    if err.reason in PLAIN_REFUSALS:
        detail = Message(f"error.ack_link.{err.reason}")
    if err.reason == "expired":
        return GoneError(detail)
    if err.reason in ("used", "superseded"):
        return ConflictError(detail)
    return NotFoundError(detail)


def _box_key(box: AlertsBox) -> bytes:
    if box is None:
        raise UnavailableError(Message("error.ack_link.no_key"))
    return box.link_key


def _audit(request: Request, entry: AuditEntry, *, result: str, status: int) -> None:
    state = request.app.state
    audit.append(state.sessions, entry, state.clock.now(), result=result, status=status)


def _redeem(
    request: Request, session: Session, entry: AuditEntry, *, key: bytes, now: datetime, token: str
) -> acklinks.LinkInfo:
    """The link claimed (a refusal audited and raised as its problem)."""
    try:
        info = acklinks.redeem(
            session,
            key,
            token,
            now=now,
            used_from=entry.address,
            agent=request.headers.get("user-agent", ""),
        )
    except LinkError as err:
        logger.info("acknowledge link refused (%s) from %s", err.reason, entry.address)
        problem = _problem(err)
        entry.detail = {"reason": err.reason}
        _audit(request, entry, result=audit.RESULT_OF_STATUS[problem.status], status=problem.status)
        raise problem from err
    entry.actor, entry.target, entry.site = info.actor, f"alarm:{info.alarm_id}", info.site
    entry.detail = {"contact": info.contact_id, "link": info.token_id}
    return info


def use_link(
    request: Request, session: Session, *, engine: Engine, key: bytes, clock: Clock, token: str
) -> tuple[AckLinkResult, acklinks.LinkInfo]:
    """Redeem the link and acknowledge its alarm through the rules owner (audited)."""
    now = clock.now()
    client = client_address(request) or "-"
    entry = AuditEntry(action=audit.ALARM_ACK_LINK, actor="(acknowledge link)", address=client)
    info = _redeem(request, session, entry, key=key, now=now, token=token)
    try:
        AlarmActions(engine).acknowledge(
            info.alarm_id, at=now, actor=info.actor, comment="acknowledged with a notice's link"
        )
        outcome = "acknowledged"
    except InvalidTransitionError:
        outcome = "already_acknowledged"
    except UnknownAlarmError as err:
        acklinks.record_outcome(session, info.token_id, "unknown_alarm")
        _audit(request, entry, result="not_found", status=404)
        raise NotFoundError(Message("error.alarm.not_found", {"id": str(info.alarm_id)})) from err
    acklinks.record_outcome(session, info.token_id, outcome)
    entry.detail["outcome"] = outcome
    _audit(request, entry, result=audit.OK, status=200)
    logger.info(
        "acknowledge link of %s for alarm %s used from %s: %s",
        info.contact_id,
        info.alarm_id,
        client,
        outcome,
    )
    session.rollback()  # read the alarm as the acknowledgement left it
    alarm = alarm_queries.alarm(session, info.alarm_id)
    result = AckLinkResult(
        alarm_id=info.alarm_id,
        outcome=outcome,
        state=alarm.state if alarm else "unknown",
        acknowledged_by=alarm.acked_by if alarm else None,
    )
    return result, info


@router.post(
    "/api/ack-links/{token}",
    response_model=AckLinkResult,
    responses=problem_docs(404, 409, 410, 422, 503),
    summary="Use a one-time acknowledge link",
)
def use_ack_link(
    *,
    request: Request,
    session: DbSession,
    engine: DbEngine,
    box: AlertsBox,
    clock: AppClock,
    token: Token,
) -> AckLinkResult:
    """Acknowledge the link's alarm as its recipient: 404 unknown or forged, 410 expired,
    409 already used."""
    result, _ = use_link(
        request, session, engine=engine, key=_box_key(box), clock=clock, token=token
    )
    return result


def _html(language: str, body: str, status: int = 200) -> HTMLResponse:
    title = _t(language, "title")
    doc = (
        f'<!doctype html><html lang="{language}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{title}</title></head><body><main><h1>{title}</h1>{body}</main></body></html>"
    )
    return HTMLResponse(doc, status_code=status, headers={"Cache-Control": "no-store"})


def _refusal(session: Session, box: AlertsBox, token: str, err: Exception) -> HTMLResponse:
    """The refusal page: in the recipient's language with times in the site's zone when the
    link is genuine (its row names the recipient), else in zh-CN with the detail."""
    link = err if isinstance(err, LinkError) else err.__cause__
    problem = _problem(link) if isinstance(link, LinkError) else err
    status = problem.status if isinstance(problem, ProblemError) else 400
    session.rollback()
    who = acklinks.reader(session, box.link_key, token) if box is not None else None
    if who is None or not isinstance(link, LinkError) or link.reason not in REFUSALS:
        language = who.language if who else "zh-CN"
        if isinstance(link, LinkError) and link.reason in PLAIN_REFUSALS:  # no recipient
            return _html(language, f"<p>{html.escape(_t(language, link.reason))}</p>", status)
        why = problem.detail_in(language) if isinstance(problem, ProblemError) else str(err)
        return _html(language, f"<p>{_t(language, 'bad', why=html.escape(why))}</p>", status)
    said = _t(who.language, link.reason, used=who.used_text or "-", expires=who.expires_text)
    return _html(who.language, f"<p>{html.escape(said)}</p>", status)


@router.get("/ack/{token}", include_in_schema=False)
def ack_page(*, session: DbSession, box: AlertsBox, clock: AppClock, token: Token) -> HTMLResponse:
    """What the link acknowledges, and the button; opening it changes nothing. A used link
    says when it was used (no button that could only be refused)."""
    try:
        info = acklinks.describe(session, _box_key(box), token, clock.now())
        if info.used_at is not None:
            raise LinkError("used", "this acknowledge link was already used")
    except (LinkError, ProblemError) as err:
        return _refusal(session, box, token, err)
    lang = info.language
    rows = [
        (_t(lang, "equipment"), info.equipment),
        (_t(lang, "fault"), info.fault),
        (_t(lang, "raised"), info.raised_text),
        (_t(lang, "valid"), info.expires_text),
    ]
    table = "".join(f"<p>{k}: {html.escape(v)}</p>" for k, v in rows)
    form = (
        f'<form method="post" action="/ack/{html.escape(token)}">'
        f'<button type="submit">{_t(lang, "button")}</button></form>'
    )
    lead = _t(lang, "lead", name=html.escape(info.contact_name))
    return _html(info.language, f"<p>{lead}</p>{table}{form}")


@router.post("/ack/{token}", include_in_schema=False)
def ack_page_submit(
    *,
    request: Request,
    session: DbSession,
    engine: DbEngine,
    box: AlertsBox,
    clock: AppClock,
    token: Token,
) -> HTMLResponse:
    """The button: acknowledge, and say so in the recipient's language."""
    try:
        result, info = use_link(
            request, session, engine=engine, key=_box_key(box), clock=clock, token=token
        )
    except ProblemError as err:
        return _refusal(session, box, token, err)
    said = _t(info.language, result.outcome, by=html.escape(result.acknowledged_by or "-"))
    link = f'<p><a href="/alarms/{html.escape(info.alarm_id)}">{_t(info.language, "open")}</a></p>'
    return _html(info.language, f"<p>{said}</p>{link}")
