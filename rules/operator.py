"""Operator actions on alarms — acknowledge, shelve, unshelve, comment, take out of service
and return to service — for the console.

Each action is one locked transaction in the alarm store: the alarm row, its transition row
and the event's `alarm_outbox` row commit together. The caller gets the outcome at once
(UnknownAlarmError; InvalidTransitionError, e.g. "already acknowledged") and publishes
nothing: the rules service sends the event from the outbox under its own broker identity
(`RulesService`, every `outbox_poll_s`). A comment changes no state and has no event.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine

from bldgwatch.core.db import session_factory
from bldgwatch.rules import alarms
from bldgwatch.rules.alarms import Alarm
from bldgwatch.rules.errors import UnknownAlarmError
from bldgwatch.rules.models import AlarmCommentRow, AlarmRow
from bldgwatch.rules.store import AlarmStore


@dataclass(frozen=True, slots=True)
class AlarmComment:
    """A stored comment."""

    alarm_id: str
    at: datetime
    actor: str
    text: str


class AlarmActions:
    """What an operator may do to an alarm; each method returns the alarm as stored after it."""

    def __init__(self, engine: Engine) -> None:
        self._store = AlarmStore(engine)
        self._sessions = session_factory(engine)

    def acknowledge(
        self, alarm_id: str, *, at: datetime, actor: str, comment: str | None = None
    ) -> Alarm:
        """active_unack → active_ack, rtn_unack → normal."""
        return self._store.change(
            alarm_id, lambda a: alarms.acknowledge(a, at=at, actor=actor, comment=comment)
        ).alarm

    def shelve(
        self,
        alarm_id: str,
        *,
        at: datetime,
        until: datetime,
        actor: str,
        comment: str | None = None,
    ) -> Alarm:
        """Hide the alarm until `until`; it comes back by itself then."""
        return self._store.change(
            alarm_id,
            lambda a: alarms.shelve(a, at=at, until=until, actor=actor, comment=comment),
        ).alarm

    def unshelve(
        self, alarm_id: str, *, at: datetime, actor: str, comment: str | None = None
    ) -> Alarm:
        """End a shelf early; an alarm still active needs acknowledging again."""
        return self._store.change(
            alarm_id, lambda a: alarms.unshelve(a, at=at, actor=actor, comment=comment)
        ).alarm

    def remove_from_service(self, alarm_id: str, *, at: datetime, actor: str, reason: str) -> Alarm:
        """Take the alarm out of service (its sensor is being replaced, the equipment is
        decommissioned): it stays hidden, whatever its condition, until returned."""
        return self._store.change(
            alarm_id,
            lambda a: alarms.remove_from_service(a, at=at, actor=actor, comment=reason),
        ).alarm

    def return_to_service(
        self, alarm_id: str, *, at: datetime, actor: str, comment: str | None = None
    ) -> Alarm:
        """Put an out-of-service alarm back; its state follows its condition again."""
        return self._store.change(
            alarm_id,
            lambda a: alarms.return_to_service(a, at=at, actor=actor, comment=comment),
        ).alarm

    def comment(self, alarm_id: str, *, at: datetime, actor: str, text: str) -> AlarmComment:
        """A note in the alarm's history."""
        with self._sessions.begin() as session:
            if session.get(AlarmRow, alarm_id) is None:
                raise UnknownAlarmError(alarm_id)
            session.add(AlarmCommentRow(alarm_id=alarm_id, at=at, actor=actor[:64], text=text))
        return AlarmComment(alarm_id=alarm_id, at=at, actor=actor[:64], text=text)
