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
from bldgwatch.core.clock import Clock
from bldgwatch.rules import queries as alarm_queries
from bldgwatch.rules.errors import InvalidTransitionError, UnknownAlarmError
from bldgwatch.rules.operator import AlarmActions

logger = logging.getLogger(__name__)

router = APIRouter(tags=["alarms"], dependencies=[Depends(public)])

Token = Annotated[str, Path(max_length=64, description="The link's token.")]

PAGE: dict[str, dict[str, str]] = {
    "zh-CN": {
        "title": "确认报警",
        "lead": "{name}，您将确认以下报警：",
        "equipment": "设备",
        "fault": "故障",
        "raised": "报警时间",
        "valid": "链接有效至",
        "button": "确认报警",
        "acknowledged": "已确认，谢谢。升级通知已停止。",
        "already_acknowledged": "此报警已被确认（{by}），升级通知已停止。",
        "open": "在控制台查看",
        "bad": "无法使用此链接：{why}",
        "malformed": "无法使用此链接：这不是确认链接。",
        "forged": "无法使用此链接：此确认链接无效（签名不符）。",
        "unknown": "无法使用此链接：本系统没有此确认链接。",
        "used": "此链接已于 {used} 使用过，不能再次使用。",
        "expired": "此链接已于 {expires} 过期。",
        "superseded": "此链接属于该报警的上一次触发；报警此后再次触发，请在控制台查看。",
    },
    "en": {
        "title": "Acknowledge alarm",
        "lead": "{name}, you are acknowledging this alarm:",
        "equipment": "Equipment",
        "fault": "Fault",
        "raised": "Raised",
        "valid": "Link valid until",
        "button": "Acknowledge",
        "acknowledged": "Acknowledged, thank you. The escalation has stopped.",
        "already_acknowledged": "Already acknowledged ({by}); the escalation has stopped.",
        "open": "Open in the console",
        "bad": "This link cannot be used: {why}",
        "malformed": "This link cannot be used: it is not an acknowledge link.",
        "forged": "This link cannot be used: it is not genuine.",
        "unknown": "This link cannot be used: it is not known here.",
        "used": "This link was already used at {used}; it works only once.",
        "expired": "This link expired at {expires}.",
        "superseded": "This link was sent for an earlier activation of the alarm, which has "
        "been raised again since; please open it in the console.",
    },
}
"""The page's texts; the notices' own texts are alerts' (`alerts.*` keys of the catalogue)."""


def _problem(err: LinkError) -> ProblemError:
    if err.reason == "expired":
        return GoneError(err.detail)
    if err.reason in ("used", "superseded"):
        return ConflictError(err.detail)
    return NotFoundError(err.detail)


def _box_key(box: AlertsBox) -> bytes:
    if box is None:
        raise UnavailableError("acknowledge links need the alerts key (console alerts_key_file)")
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
        raise NotFoundError(f"alarm {info.alarm_id} does not exist") from err
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
    t = PAGE.get(language, PAGE["en"])
    doc = (
        f'<!doctype html><html lang="{language}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{t['title']}</title></head><body><main><h1>{t['title']}</h1>{body}</main></body></html>"
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
    if who is None or not isinstance(link, LinkError) or link.reason not in PAGE["en"]:
        language = who.language if who else "zh-CN"
        page = PAGE.get(language, PAGE["en"])
        if isinstance(link, LinkError) and link.reason in page:  # no recipient: no details
            return _html(language, f"<p>{html.escape(page[link.reason])}</p>", status)
        why = html.escape(link.detail if isinstance(link, LinkError) else str(err))
        return _html(language, f"<p>{page['bad'].format(why=why)}</p>", status)
    page = PAGE.get(who.language, PAGE["en"])
    said = page[link.reason].format(used=who.used_text or "-", expires=who.expires_text)
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
    t = PAGE.get(info.language, PAGE["en"])
    rows = [
        (t["equipment"], info.equipment),
        (t["fault"], info.fault),
        (t["raised"], info.raised_text),
        (t["valid"], info.expires_text),
    ]
    table = "".join(f"<p>{k}: {html.escape(v)}</p>" for k, v in rows)
    form = (
        f'<form method="post" action="/ack/{html.escape(token)}">'
        f'<button type="submit">{t["button"]}</button></form>'
    )
    lead = t["lead"].format(name=html.escape(info.contact_name))
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
    t = PAGE.get(info.language, PAGE["en"])
    said = t[result.outcome].format(by=html.escape(result.acknowledged_by or "-"))
    link = f'<p><a href="/alarms/{html.escape(info.alarm_id)}">{t["open"]}</a></p>'
    return _html(info.language, f"<p>{said}</p>{link}")
