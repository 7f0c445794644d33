"""Escalations in the store: start one per matching policy when an alarm activates, issue the
notices its plan makes due into the outbox (`alert_notifications`), stop it when the alarm
is acknowledged, shelved, suppressed or (per policy) cleared.

Every function works in the caller's transaction, so an alarm event's effects and its
outbox rows commit together (or not at all, and the redelivered event does it again).
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import ValidationError
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bldgwatch.alerts.documents import Contact, Policy, Rota
from bldgwatch.alerts.escalation import AlarmFacts, Occurrence, plan, policy_applies
from bldgwatch.alerts.models import (
    AlertContactRow,
    AlertPolicyRow,
    AlertRotaRow,
    EscalationRow,
    NotificationRow,
)
from bldgwatch.alerts.oncall import OnCall, on_call
from bldgwatch.core.models import AlarmEvent

logger = logging.getLogger(__name__)

ACTIVE, STOPPED = "active", "stopped"
PENDING, QUEUED, SENT, FAILED = "pending", "queued", "sent", "failed"
UNKNOWN, CANCELLED, UNRESOLVED = "unknown", "cancelled", "unresolved"


def facts_of(event: AlarmEvent) -> AlarmFacts:
    """The facts of an alarm from one of its events."""
    return AlarmFacts(
        alarm_id=event.alarm_id,
        site=event.site,
        building=event.building,
        equipment=event.equipment,
        equipment_type=event.equipment_type,
        rule=event.rule,
        fault_code=event.fault_code,
        family=event.family,
        severity=event.severity.value,
        priority=event.priority,
        message=event.message,
        value=event.value,
        raised_at=event.at,
    )


def facts_to_json(facts: AlarmFacts) -> dict[str, Any]:
    """JSON-ready facts (the escalation row keeps them)."""
    return {**asdict(facts), "raised_at": facts.raised_at.isoformat()}


def facts_from_json(data: dict[str, Any]) -> AlarmFacts:
    """Facts back from the escalation row."""
    return AlarmFacts(**{**data, "raised_at": datetime.fromisoformat(data["raised_at"])})


def _documents(session: Session, model: type[Any], site: str) -> list[Any]:
    return list(session.scalars(select(model).where(model.site == site)))


def load_policies(session: Session, site: str) -> list[Policy]:
    """The site's policies in listing order (a stored one that no longer validates is skipped)."""
    rows = sorted(_documents(session, AlertPolicyRow, site), key=lambda r: (r.position, r.id))
    out = []
    for row in rows:
        try:
            out.append(Policy.model_validate(row.document))
        except ValidationError as err:
            logger.error("policy %s/%s is not valid and is skipped: %s", site, row.id, err)
    return out


def load_rota(session: Session, site: str, rota_id: str) -> Rota | None:
    """One rota, or None."""
    row = session.get(AlertRotaRow, (site, rota_id))
    return None if row is None else Rota.model_validate(row.document)


def load_contact(session: Session, site: str, contact_id: str) -> Contact | None:
    """One contact, or None."""
    row = session.get(AlertContactRow, (site, contact_id))
    return None if row is None else Contact.model_validate(row.document)


def _first_levels(policy: Policy) -> dict[str, int]:
    """The level at which each target is first notified (its channels are that step's)."""
    first: dict[str, int] = {}
    for level, step in enumerate(policy.steps):
        for target in step.notify:
            first.setdefault(target, level)
    return first


def _resolve(target: str, who: OnCall | None) -> str | None:
    if target.startswith("contact:"):
        return target.split(":", 1)[1]
    return None if who is None else who.target(target)


IN_LINE = ("primary", "backup", "supervisor")
"""The rota's roles in escalation order: an unreachable one is stood in for by the next."""


def _stand_in(
    session: Session, site: str, target: str, who: OnCall | None, seen: set[str | None]
) -> tuple[str, str] | None:
    """The next reachable person in line after `target` (role, contact id), or None."""
    if who is None or target not in IN_LINE:
        return None
    for role in IN_LINE[IN_LINE.index(target) + 1 :]:
        contact_id = who.target(role)
        if contact_id is None or contact_id in seen:
            continue
        contact = load_contact(session, site, contact_id)
        if contact is not None and contact.active:
            return role, contact_id
    return None


def _issue(
    session: Session,
    row: EscalationRow,
    policy: Policy,
    occurrence: Occurrence,
    *,
    now: datetime,
    who: OnCall | None,
) -> int:
    first = _first_levels(policy)
    seen: set[str | None] = set()
    issued = 0
    for target in occurrence.targets:
        contact_id = _resolve(target, who)
        if contact_id is not None and contact_id in seen:
            continue  # one person in two roles gets one notice
        seen.add(contact_id)
        contact = None if contact_id is None else load_contact(session, row.site, contact_id)
        reachable = contact is not None and contact.active
        step = policy.steps[first.get(target, occurrence.level)]
        note = _Note(row, occurrence, list(step.channels or policy.channels), now)
        session.add(note.row(target, contact_id, PENDING if reachable else UNRESOLVED))
        if reachable:
            issued += 1
            continue
        stand_in = _stand_in(session, row.site, target, who, seen)
        logger.warning(
            "alarm %s policy %s: %s is %s; %s",
            row.alarm_id,
            row.policy_id,
            target,
            "nobody on call" if contact_id is None else f"contact {contact_id}, not reachable",
            "nobody reachable stands in"
            if stand_in is None
            else f"{stand_in[1]} ({stand_in[0]}) is told at once instead",
        )
        if stand_in is not None:
            seen.add(stand_in[1])
            session.add(note.row(stand_in[0], stand_in[1], PENDING))
            issued += 1
    return issued


@dataclass(frozen=True, slots=True)
class _Note:
    """What the notices of one occurrence of one escalation share."""

    esc: EscalationRow
    occurrence: Occurrence
    channels: list[str]
    now: datetime

    def row(self, target: str, contact_id: str | None, status: str) -> NotificationRow:
        esc, occurrence = self.esc, self.occurrence
        return NotificationRow(
            alarm_id=esc.alarm_id,
            policy_id=esc.policy_id,
            site=esc.site,
            round=esc.round,
            occurrence=occurrence.key,
            level=occurrence.level,
            repeat=occurrence.repeat,
            target=target,
            contact_id=contact_id,
            priority=int(esc.alarm["priority"]),
            channels=list(self.channels),
            due_at=occurrence.due,
            created_at=self.now,
            status=status,
        )


def advance(session: Session, row: EscalationRow, now: datetime, zone: ZoneInfo) -> int:
    """Issue what the escalation's plan makes due at `now`; how many notices went out."""
    policy = Policy.model_validate(row.policy)
    facts = facts_from_json(row.alarm)
    step = plan(
        policy, start=row.started_at, issued=row.issued, now=now, priority=facts.priority, zone=zone
    )
    issued = 0
    if step.issue:
        rota = load_rota(session, row.site, policy.rota) if policy.rota else None
        who = on_call(rota, now, zone) if rota is not None else None
        for occurrence in step.issue:
            issued += _issue(session, row, policy, occurrence, now=now, who=who)
    row.issued = step.issued
    row.next_at = step.next_at
    row.updated_at = now
    return issued


def _handled(row: EscalationRow, event: AlarmEvent) -> bool:
    """Whether `event` needs no new round of `row`: the alarm is escalating, or the event is
    the escalation's activation or an earlier one (a copy rules published again after a
    reconnect, `core.resend`): every activation escalates once, in any order of copies."""
    if row.status == ACTIVE or row.activation_event == event.event_id:
        return True
    return event.at <= row.started_at


def activate(session: Session, event: AlarmEvent, now: datetime, zone: ZoneInfo) -> int:
    """Start an escalation for each matching policy (once per activation); notices issued."""
    facts = facts_of(event)
    issued = 0
    for policy in load_policies(session, event.site):
        if not policy_applies(policy, facts, zone):
            continue
        row = session.get(EscalationRow, (event.alarm_id, policy.id))
        if row is not None and _handled(row, event):
            continue
        if row is None:
            row = EscalationRow(alarm_id=event.alarm_id, policy_id=policy.id, round=0)
            session.add(row)
        row.site = event.site
        row.round += 1
        row.status = ACTIVE
        row.activation_event = event.event_id
        row.started_at = min(event.at, now)
        row.issued = 0
        row.policy = policy.model_dump(mode="json")
        row.alarm = facts_to_json(facts)
        row.stop_reason = row.stopped_by = None
        row.stopped_at, row.next_at, row.updated_at = None, None, now
        issued += advance(session, row, now, zone)
    return issued


def stop(
    session: Session,
    alarm_id: str,
    *,
    reason: str,
    by: str | None,
    at: datetime,
    clear: bool = False,
) -> int:
    """Stop the alarm's active escalations (on a clear: those whose policy says so) and
    cancel their pending notices; how many stopped."""
    rows = session.scalars(
        select(EscalationRow).where(
            EscalationRow.alarm_id == alarm_id, EscalationRow.status == ACTIVE
        )
    ).all()
    stopped = 0
    for row in rows:
        if clear and not Policy.model_validate(row.policy).stop_on_clear:
            continue
        row.status, row.stop_reason, row.stopped_by = STOPPED, reason, (by or "")[:64] or None
        row.stopped_at, row.next_at, row.updated_at = at, None, at
        session.execute(
            update(NotificationRow)
            .where(
                NotificationRow.alarm_id == alarm_id,
                NotificationRow.policy_id == row.policy_id,
                NotificationRow.status == PENDING,
            )
            .values(status=CANCELLED)
        )
        stopped += 1
    return stopped


def due_escalations(session: Session, now: datetime, limit: int = 200) -> list[tuple[str, str]]:
    """(alarm, policy) of active escalations with a step due."""
    query = (
        select(EscalationRow.alarm_id, EscalationRow.policy_id)
        .where(EscalationRow.status == ACTIVE, EscalationRow.next_at <= now)
        .order_by(EscalationRow.next_at)
        .limit(limit)
    )
    return [(a, p) for a, p in session.execute(query)]
