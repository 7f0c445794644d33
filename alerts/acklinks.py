"""One-time acknowledge links: signed, expiring, single-use, audited.

A link's token is `ID.EXPIRY.MAC`: a random id (the row in `alert_ack_tokens` that records
whom it was sent to and its one use), the expiry in base-36 epoch seconds, and the first 80
bits of HMAC-SHA256 over both with the link key (`alerts.secrets.SecretBox.link_key`),
URL-safe Base64. It is short enough for an SMS template variable. The signature lets the
console refuse forged or altered links before touching the store; the row makes a link work
once: redeeming claims it with a conditional UPDATE, so two clicks cannot both win.

Redeeming also stops the alarm's escalations at once (in the same transaction), so no
reminder goes out while the rules service publishes the acknowledgement. The console then
acknowledges the alarm through the rules owner and records how that went (`record_outcome`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, select, update
from sqlalchemy.orm import Session

from bldgwatch.alerts import store
from bldgwatch.alerts.errors import LinkError
from bldgwatch.alerts.models import AckTokenRow, EscalationRow
from bldgwatch.alerts.render import fault_name, local_time
from bldgwatch.alerts.sites import site_info
from bldgwatch.alerts.store import facts_from_json
from bldgwatch.core.site import DEFAULT_TIMEZONE

MAC_BYTES = 10
ACK_PATH = "/ack/"


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _b36(number: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        number, rest = divmod(number, 36)
        out = digits[rest] + out
        if number == 0:
            return out


def _mac(link_key: bytes, token_id: str, expiry: str) -> str:
    return _b64(
        hmac.new(link_key, f"{token_id}.{expiry}".encode(), hashlib.sha256).digest()[:MAC_BYTES]
    )


def make_token(link_key: bytes, token_id: str, expires_at: datetime) -> str:
    """The signed token of a link row."""
    expiry = _b36(int(expires_at.timestamp()))
    return f"{token_id}.{expiry}.{_mac(link_key, token_id, expiry)}"


@dataclass(frozen=True, slots=True)
class CheckedToken:
    """A token whose signature and expiry are good: its row id and expiry."""

    token_id: str
    expires_at: datetime


def check_token(link_key: bytes, token: str, now: datetime) -> CheckedToken:
    """Check a token's form, signature and expiry (no store); LinkError naming the fault."""
    parts = token.split(".")
    if len(parts) != 3 or not all(parts) or len(token) > 64:
        raise LinkError("malformed", "this is not an acknowledge link")
    token_id, expiry, mac = parts
    if not hmac.compare_digest(mac, _mac(link_key, token_id, expiry)):
        raise LinkError("forged", "this acknowledge link is not genuine")
    try:
        expires_at = datetime.fromtimestamp(int(expiry, 36), tz=UTC)
    except (ValueError, OverflowError) as err:
        raise LinkError("malformed", "this is not an acknowledge link") from err
    if expires_at <= now:
        raise LinkError("expired", f"this acknowledge link expired at {expires_at.isoformat()}")
    return CheckedToken(token_id, expires_at)


def issue(
    session: Session,
    link_key: bytes,
    *,
    alarm_id: str,
    site: str,
    contact_id: str,
    message_id: int | None,
    now: datetime,
    ttl: timedelta,
) -> str:
    """Record a new link for a recipient (in the caller's transaction); its token."""
    row = AckTokenRow(
        id=secrets.token_urlsafe(9),
        alarm_id=alarm_id,
        site=site,
        contact_id=contact_id,
        message_id=message_id,
        issued_at=now,
        expires_at=(now + ttl).replace(microsecond=0),
    )
    session.add(row)
    return make_token(link_key, row.id, row.expires_at)


@dataclass(frozen=True, slots=True)
class LinkInfo:
    """What a link is for: the alarm and the recipient it was sent to."""

    token_id: str
    alarm_id: str
    site: str
    contact_id: str
    contact_name: str
    language: str
    expires_at: datetime
    used_at: datetime | None
    equipment: str
    fault_code: str
    priority: int
    raised_at: datetime | None
    fault: str
    """The fault's name in the recipient's language."""
    raised_text: str
    """When the alarm was raised, in the site's zone (24-hour, zone named)."""
    expires_text: str
    """Until when the link works, in the site's zone."""

    @property
    def actor(self) -> str:
        """Who acknowledges through it, as the alarm's history shows (64 characters)."""
        return f"{self.contact_id} (notice link)"[:64]


def _info(session: Session, row: AckTokenRow, default_zone: str = DEFAULT_TIMEZONE) -> LinkInfo:
    escalation = session.scalars(
        select(EscalationRow).where(EscalationRow.alarm_id == row.alarm_id).limit(1)
    ).first()
    facts = None if escalation is None else facts_from_json(escalation.alarm)
    contact = store.load_contact(session, row.site, row.contact_id)
    language = contact.language if contact else "zh-CN"
    zone = site_info(session, row.site, default_zone).zone
    return LinkInfo(
        token_id=row.id,
        alarm_id=row.alarm_id,
        site=row.site,
        contact_id=row.contact_id,
        contact_name=contact.name if contact else row.contact_id,
        language=language,
        expires_at=row.expires_at,
        used_at=row.used_at,
        equipment=facts.equipment if facts else "",
        fault_code=facts.fault_code if facts else "",
        priority=facts.priority if facts else 0,
        raised_at=facts.raised_at if facts else None,
        fault=fault_name(language, facts.fault_code, facts.fault_code) if facts else "",
        raised_text=local_time(facts.raised_at, zone) if facts else "-",
        expires_text=local_time(row.expires_at, zone),
    )


def describe(session: Session, link_key: bytes, token: str, now: datetime) -> LinkInfo:
    """What a link acknowledges, without using it (for the confirmation page)."""
    checked = check_token(link_key, token, now)
    row = session.get(AckTokenRow, checked.token_id)
    if row is None:
        raise LinkError("unknown", "this acknowledge link is not known here")
    _check_activation(session, row)
    return _info(session, row)


def _check_activation(session: Session, row: AckTokenRow) -> None:
    """Refuse a link sent for an earlier activation of its alarm.

    An alarm keeps its id when it activates again; a link belongs to the activation it was
    sent for: it was issued after that activation started, so an escalation round that
    started after the link was issued is a later activation the recipient never heard of
    through this link (LinkError `superseded`).
    """
    later = session.scalars(
        select(EscalationRow.started_at).where(
            EscalationRow.alarm_id == row.alarm_id,
            EscalationRow.status == store.ACTIVE,
            EscalationRow.started_at > row.issued_at,
        )
    ).first()
    if later is not None:
        raise LinkError(
            "superseded",
            "this acknowledge link was sent for an earlier activation of the alarm; "
            "the alarm was raised again since",
        )


def redeem(
    session: Session,
    link_key: bytes,
    token: str,
    *,
    now: datetime,
    used_from: str,
    agent: str,
) -> LinkInfo:
    """Use a link once: claim it, stop the alarm's escalations; commits. LinkError when it
    is malformed, forged, expired, unknown or already used (naming when)."""
    checked = check_token(link_key, token, now)
    unclaimed = session.get(AckTokenRow, checked.token_id)
    if unclaimed is not None:
        _check_activation(session, unclaimed)
    claim = session.execute(
        update(AckTokenRow)
        .where(AckTokenRow.id == checked.token_id, AckTokenRow.used_at.is_(None))
        .values(used_at=now, used_from=used_from[:64], used_agent=agent[:200], outcome="claimed")
    )
    row = session.get(AckTokenRow, checked.token_id)
    if row is None:
        session.rollback()
        raise LinkError("unknown", "this acknowledge link is not known here")
    if cast("CursorResult[Any]", claim).rowcount != 1:
        session.rollback()
        used = row.used_at.isoformat() if row.used_at else "before"
        raise LinkError("used", f"this acknowledge link was already used at {used}")
    session.refresh(row)
    info = _info(session, row)
    store.stop(session, row.alarm_id, reason="ack_link", by=info.actor, at=now)
    session.commit()
    return info


@dataclass(frozen=True, slots=True)
class LinkReader:
    """Whom a genuine link was sent to, for pages that refuse it: their language and the
    link's times in the site's zone."""

    language: str
    used_text: str | None
    expires_text: str


def reader(session: Session, link_key: bytes, token: str) -> LinkReader | None:
    """The reader of a genuine link (used or expired ones too); None when forged/unknown."""
    parts = token.split(".")
    if len(parts) != 3 or len(token) > 64:
        return None
    token_id, expiry, mac = parts
    if not hmac.compare_digest(mac, _mac(link_key, token_id, expiry)):
        return None
    row = session.get(AckTokenRow, token_id)
    if row is None:
        return None
    contact = store.load_contact(session, row.site, row.contact_id)
    zone = site_info(session, row.site, DEFAULT_TIMEZONE).zone
    return LinkReader(
        language=contact.language if contact else "zh-CN",
        used_text=local_time(row.used_at, zone) if row.used_at else None,
        expires_text=local_time(row.expires_at, zone),
    )


def record_outcome(session: Session, token_id: str, outcome: str) -> None:
    """How the acknowledgement through a used link went (acknowledged, already_acknowledged,
    unknown_alarm); commits."""
    session.execute(
        update(AckTokenRow).where(AckTokenRow.id == token_id).values(outcome=outcome[:24])
    )
    session.commit()
