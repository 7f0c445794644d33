"""Per alarm: who was notified, when, by which channel, how each attempt went, how the
escalation ended, and who acknowledged (the alarm is rules', the notices are alerts')."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from bldgwatch.alerts import queries as alert_queries
from bldgwatch.console.auth import CurrentUser
from bldgwatch.console.deps import DbSession
from bldgwatch.console.problems import problem_docs
from bldgwatch.console.routers.alarm_actions import visible_alarm
from bldgwatch.console.schemas_alerts import (
    AlarmNotifications,
    AttemptOut,
    EscalationOut,
    LinkUseOut,
    NotifiedOut,
    Person,
)

router = APIRouter(prefix="/api/alarms", tags=["alarms"])


def _notified(n: alert_queries.Notified) -> NotifiedOut:
    recipient = None if n.contact_id is None else Person(id=n.contact_id, name=n.contact_name)
    return NotifiedOut(
        policy=n.policy_id,
        round=n.round,
        level=n.level,
        repeat=n.repeat,
        target=n.target,
        recipient=recipient,
        due_at=n.due_at,
        status=n.status,
        channel=n.channel_id,
        sent_at=n.sent_at,
        digest_of=n.digest_of,
        attempts=[
            AttemptOut(
                at=a.at,
                channel=a.channel_id,
                kind=a.channel_kind,
                status=a.status,
                latency_ms=a.latency_ms,
                response=a.response,
            )
            for a in n.attempts
        ],
    )


@router.get(
    "/{alarm_id}/notifications",
    response_model=AlarmNotifications,
    responses=problem_docs(401, 404, 422, 503),
    summary="Who was notified of an alarm, and who acknowledged",
)
def notifications(
    *,
    session: DbSession,
    user: CurrentUser,
    alarm_id: Annotated[str, Path(max_length=36, description="Alarm id.")],
) -> AlarmNotifications:
    """Every notice of the alarm (recipient, channel, attempts), its escalations and how they
    ended, the acknowledge links used, and the acknowledgement itself."""
    alarm = visible_alarm(session, user, alarm_id)
    timeline = alert_queries.timeline(session, alarm_id)
    names = {n.contact_id: n.contact_name for n in timeline.notifications} if timeline else {}
    return AlarmNotifications(
        alarm_id=alarm_id,
        state=alarm.state,
        acknowledged_by=alarm.acked_by,
        acknowledged_at=alarm.acked_at,
        escalations=[
            EscalationOut(
                policy=e.policy_id,
                round=e.round,
                status=e.status,
                started_at=e.started_at,
                next_at=e.next_at,
                stop_reason=e.stop_reason,
                stopped_at=e.stopped_at,
                stopped_by=e.stopped_by,
            )
            for e in (timeline.escalations if timeline else [])
        ],
        notifications=[_notified(n) for n in (timeline.notifications if timeline else [])],
        link_uses=[
            LinkUseOut(
                recipient=Person(id=u.contact_id, name=names.get(u.contact_id)),
                used_at=u.used_at,
                used_from=u.used_from,
                outcome=u.outcome,
            )
            for u in (timeline.link_uses if timeline else [])
        ],
    )
