"""The reads other packages (the console) make of alerts' tables: a site's documents, who is
on call, and an alarm's notification timeline — who was notified, when, by which channel,
how each attempt went, and how the escalation ended."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bldgwatch.alerts.admin import ChannelView, channel_view
from bldgwatch.alerts.documents import Contact, Policy, Rota
from bldgwatch.alerts.models import (
    AckTokenRow,
    AlertChannelRow,
    AlertContactRow,
    AlertPolicyRow,
    AlertRotaRow,
    AlertSiteRow,
    AttemptRow,
    EscalationRow,
    MessageRow,
    NotificationRow,
)
from bldgwatch.alerts.oncall import OnCall, on_call
from bldgwatch.alerts.secrets import SecretBox
from bldgwatch.alerts.sites import site_info

TABLES = frozenset(
    m.__tablename__
    for m in (
        AlertSiteRow,
        AlertContactRow,
        AlertRotaRow,
        AlertPolicyRow,
        AlertChannelRow,
        EscalationRow,
        NotificationRow,
        MessageRow,
        AttemptRow,
        AckTokenRow,
    )
)


def contacts(session: Session, site: str) -> list[Contact]:
    """The site's contacts by id."""
    rows = session.scalars(
        select(AlertContactRow).where(AlertContactRow.site == site).order_by(AlertContactRow.id)
    )
    return [Contact.model_validate(r.document) for r in rows]


def rotas(session: Session, site: str) -> list[Rota]:
    """The site's rotas by id."""
    rows = session.scalars(
        select(AlertRotaRow).where(AlertRotaRow.site == site).order_by(AlertRotaRow.id)
    )
    return [Rota.model_validate(r.document) for r in rows]


def policies(session: Session, site: str) -> list[Policy]:
    """The site's policies in listing order."""
    rows = session.scalars(
        select(AlertPolicyRow)
        .where(AlertPolicyRow.site == site)
        .order_by(AlertPolicyRow.position, AlertPolicyRow.id)
    )
    return [Policy.model_validate(r.document) for r in rows]


def channels(session: Session, site: str, box: SecretBox | None) -> list[ChannelView]:
    """The site's channels, without their secrets."""
    rows = session.scalars(
        select(AlertChannelRow).where(AlertChannelRow.site == site).order_by(AlertChannelRow.id)
    )
    return [channel_view(r, box) for r in rows]


def who_is_on_call(
    session: Session, site: str, rota_id: str, at: datetime, default_zone: str
) -> OnCall | None:
    """Who the rota puts on call at `at`, in the site's zone; None without such a rota."""
    row = session.get(AlertRotaRow, (site, rota_id))
    if row is None:
        return None
    zone = site_info(session, site, default_zone).zone
    return on_call(Rota.model_validate(row.document), at, zone)


@dataclass(frozen=True, slots=True)
class Attempt:
    """One delivery attempt."""

    at: datetime
    channel_id: str
    channel_kind: str
    status: str
    latency_ms: float | None
    response: str


@dataclass(frozen=True, slots=True)
class Notified:
    """One notice to one person, and what became of it."""

    policy_id: str
    round: int
    level: int
    repeat: int
    target: str
    contact_id: str | None
    contact_name: str | None
    due_at: datetime
    status: str
    message_id: int | None
    digest_of: int
    channel_id: str | None
    sent_at: datetime | None
    attempts: list[Attempt] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class EscalationState:
    """How one policy's escalation of the alarm stands."""

    policy_id: str
    round: int
    status: str
    started_at: datetime
    next_at: datetime | None
    stop_reason: str | None
    stopped_at: datetime | None
    stopped_by: str | None


@dataclass(frozen=True, slots=True)
class LinkUse:
    """An acknowledge link that was used: by whom, when, from where, with what outcome."""

    contact_id: str
    used_at: datetime
    used_from: str | None
    outcome: str | None


@dataclass(frozen=True, slots=True)
class Timeline:
    """Everything alerts did about one alarm."""

    alarm_id: str
    escalations: list[EscalationState]
    notifications: list[Notified]
    link_uses: list[LinkUse]


def _names(session: Session, site: str) -> dict[str, str]:
    rows = session.scalars(select(AlertContactRow).where(AlertContactRow.site == site))
    return {r.id: str(r.document.get("name", r.id)) for r in rows}


def _attempts(session: Session, message_ids: set[int]) -> dict[int, list[Attempt]]:
    out: dict[int, list[Attempt]] = {m: [] for m in message_ids}
    if not message_ids:
        return out
    rows = session.scalars(
        select(AttemptRow)
        .where(AttemptRow.message_id.in_(sorted(message_ids)))
        .order_by(AttemptRow.at, AttemptRow.id)
    )
    for r in rows:
        out[r.message_id].append(
            Attempt(r.at, r.channel_id, r.channel_kind, r.status, r.latency_ms, r.response)
        )
    return out


def _notified(session: Session, alarm_id: str, site: str) -> list[Notified]:
    notes = session.scalars(
        select(NotificationRow)
        .where(NotificationRow.alarm_id == alarm_id)
        .order_by(NotificationRow.due_at, NotificationRow.id)
    ).all()
    ids = {n.message_id for n in notes if n.message_id is not None}
    messages: dict[int, MessageRow] = {
        m.id: m for m in session.scalars(select(MessageRow).where(MessageRow.id.in_(sorted(ids))))
    }
    attempts = _attempts(session, ids)
    names = _names(session, site)
    out = []
    for n in notes:
        msg = messages.get(n.message_id) if n.message_id is not None else None
        out.append(
            Notified(
                policy_id=n.policy_id,
                round=n.round,
                level=n.level,
                repeat=n.repeat,
                target=n.target,
                contact_id=n.contact_id,
                contact_name=names.get(n.contact_id or ""),
                due_at=n.due_at,
                status=n.status,
                message_id=n.message_id,
                digest_of=msg.alarm_count if msg else 0,
                channel_id=msg.channel_id if msg else None,
                sent_at=msg.sent_at if msg else None,
                attempts=attempts.get(n.message_id, []) if n.message_id is not None else [],
            )
        )
    return out


def timeline(session: Session, alarm_id: str) -> Timeline | None:
    """The alarm's escalations, notices and used links; None when alerts never saw it."""
    escalations = session.scalars(
        select(EscalationRow)
        .where(EscalationRow.alarm_id == alarm_id)
        .order_by(EscalationRow.policy_id)
    ).all()
    if not escalations:
        return None
    site = escalations[0].site
    uses = session.scalars(
        select(AckTokenRow)
        .where(AckTokenRow.alarm_id == alarm_id, AckTokenRow.used_at.is_not(None))
        .order_by(AckTokenRow.used_at)
    ).all()
    return Timeline(
        alarm_id=alarm_id,
        escalations=[
            EscalationState(
                e.policy_id,
                e.round,
                e.status,
                e.started_at,
                e.next_at,
                e.stop_reason,
                e.stopped_at,
                e.stopped_by,
            )
            for e in escalations
        ],
        notifications=_notified(session, alarm_id, site),
        link_uses=[
            LinkUse(u.contact_id, u.used_at, u.used_from, u.outcome)
            for u in uses
            if u.used_at is not None
        ],
    )


def sites(session: Session) -> list[dict[str, Any]]:
    """The sites alerts knows (from their site files): id, name, zone."""
    rows = session.scalars(select(AlertSiteRow).order_by(AlertSiteRow.site))
    return [{"site": r.site, "name": r.name, "timezone": r.timezone} for r in rows]
