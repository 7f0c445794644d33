"""The alarm store: alarms and their transitions in SQL (SQLite or PostgreSQL).

The database, not process memory, holds the alarm state, so the rules service and an
operator (through the console, `rules.operator`) can both change an alarm: every change is
read-lock-modify-write in one transaction — lock the alarm row, load it, apply a pure
`rules.alarms` operation, write the alarm row, its event row and the event's outbox row,
commit. Only the rules service publishes events (from the outbox, under its own broker
identity); whoever made the change gets its errors (unknown alarm, already acknowledged)
synchronously, which a fire-and-forget command topic could not give.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Date,
    Engine,
    String,
    and_,
    column,
    delete,
    select,
    table,
    update,
)
from sqlalchemy.orm import Session

from bldgwatch.core import topics
from bldgwatch.core.db import session_factory
from bldgwatch.core.models import AlarmEvent, AlarmState, MaintenanceAction, Severity
from bldgwatch.rules import alarms
from bldgwatch.rules.alarms import Alarm, AlarmUpdate
from bldgwatch.rules.errors import UnknownAlarmError
from bldgwatch.rules.evaluator import AlarmKey
from bldgwatch.rules.models import (
    AlarmEventRow,
    AlarmFloodRow,
    AlarmOutboxRow,
    AlarmRow,
    RuleLessonRow,
    RuleMemoryRow,
)

logger = logging.getLogger(__name__)

_EQUIPMENT = table(
    "equipment",
    column("site", String),
    column("id", String),
    column("type", String),
    column("installed", Date),
    column("last_overhaul", Date),
)
"""The columns of the asset register (`maintenance.models.EquipmentRow`) the rules read: the
rules do not depend on the maintenance package."""

Lesson = tuple[AlarmKey, bool, float | None]
"""A verdict that teaches a learning rule: its alarm's key, whether it withdraws an earlier
lesson, and the level the person judged (None: not known)."""


@dataclass(frozen=True, slots=True)
class StoredTransition:
    """One stored transition of an alarm."""

    event_id: str
    alarm_id: str
    at: datetime
    transition: str
    state: AlarmState
    previous_state: AlarmState
    value: float | None
    actor: str | None
    comment: str | None


def row_to_alarm(row: AlarmRow) -> Alarm:
    """The pure alarm of a stored row."""
    return Alarm(
        alarm_id=row.id,
        site=row.site,
        building=row.building,
        equipment=row.equipment,
        equipment_type=row.equipment_type,
        rule=row.rule,
        fault_code=row.fault_code,
        family=row.family,
        severity=Severity(row.severity),
        priority=row.priority,
        maintenance=MaintenanceAction(row.maintenance),
        message=row.message,
        raised_at=row.raised_at,
        updated_at=row.updated_at,
        state=AlarmState(row.state),
        condition=row.condition_active,
        acked=row.acked,
        suppressed=row.suppressed,
        out_of_service=row.out_of_service,
        shelved_until=row.shelved_until,
        cleared_at=row.cleared_at,
        acked_at=row.acked_at,
        acked_by=row.acked_by,
        value=row.value,
        activations=row.activations,
        chatter_count=row.chatter_count,
        escalated_at=row.escalated_at,
        incident=row.incident,
        message_key=row.message_key,
        params=dict(row.params or {}),
    )


def _write_alarm(row: AlarmRow, a: Alarm) -> None:
    fields: dict[str, Any] = {
        "site": a.site,
        "building": a.building,
        "equipment": a.equipment,
        "equipment_type": a.equipment_type,
        "rule": a.rule,
        "fault_code": a.fault_code,
        "family": a.family,
        "incident": a.incident,
        "severity": a.severity.value,
        "priority": a.priority,
        "state": a.state.value,
        "is_open": a.is_open,
        "raised_at": a.raised_at,
        "cleared_at": a.cleared_at,
        "acked_at": a.acked_at,
        "acked_by": a.acked_by,
        "shelved_until": a.shelved_until,
        "value": a.value,
        "message": a.message,
        "maintenance": a.maintenance.value,
        "activations": a.activations,
        "updated_at": a.updated_at,
        "condition_active": a.condition,
        "acked": a.acked,
        "suppressed": a.suppressed,
        "out_of_service": a.out_of_service,
        "chatter_count": a.chatter_count,
        "escalated_at": a.escalated_at,
        "message_key": a.message_key,
        "params": dict(a.params),
    }
    for name, value in fields.items():
        setattr(row, name, value)


def _event_row(event: AlarmEvent) -> AlarmEventRow:
    return AlarmEventRow(
        id=event.event_id,
        alarm_id=event.alarm_id,
        at=event.at,
        transition=event.transition,
        state=event.state.value,
        previous_state=event.previous_state.value,
        value=event.value,
        actor=event.actor,
        comment=event.comment,
        comment_key=event.comment_key,
        comment_params=dict(event.comment_params),
    )


def _open_key(key: AlarmKey) -> ColumnElement[bool]:
    site, equipment, rule = key
    return and_(
        AlarmRow.site == site,
        AlarmRow.equipment == equipment,
        AlarmRow.rule == rule,
        AlarmRow.is_open.is_(True),
    )


class AlarmStore:
    """Alarms and transitions in the relational store."""

    def __init__(self, engine: Engine) -> None:
        self._sessions = session_factory(engine)

    # -- reads ----------------------------------------------------------------------------
    def load_open(self, sites: Collection[str] | None = None) -> list[Alarm]:
        """Every open alarm (of the given sites), to continue after a restart."""
        query = select(AlarmRow).where(AlarmRow.is_open.is_(True))
        if sites is not None:
            query = query.where(AlarmRow.site.in_(list(sites)))
        with self._sessions() as session:
            return [row_to_alarm(r) for r in session.scalars(query.order_by(AlarmRow.raised_at))]

    def load_memory(self, sites: Collection[str]) -> dict[AlarmKey, dict[str, Any]]:
        """What the learning rules of `sites` learned before a restart."""
        query = select(RuleMemoryRow).where(RuleMemoryRow.site.in_(list(sites)))
        with self._sessions() as session:
            return {(r.site, r.equipment, r.rule): dict(r.memory) for r in session.scalars(query)}

    def save_memory(self, memories: dict[AlarmKey, dict[str, Any]], at: datetime) -> None:
        """Keep what learning rules learned (one transaction, safe to retry)."""
        if not memories:
            return
        with self._sessions.begin() as session:
            for (site, equipment, rule), memory in memories.items():
                session.merge(
                    RuleMemoryRow(
                        site=site, equipment=equipment, rule=rule, memory=memory, updated_at=at
                    )
                )

    def renewals(self, sites: Collection[str]) -> dict[tuple[str, str], date | None]:
        """Per pump of `sites` in the asset register, its last overhaul, else its install date
        (None: neither known): what a pump's learned baseline belongs to (the maintenance
        service moves it when a repair overhauls the pump)."""
        query = select(
            _EQUIPMENT.c.site, _EQUIPMENT.c.id, _EQUIPMENT.c.last_overhaul, _EQUIPMENT.c.installed
        ).where(_EQUIPMENT.c.site.in_(list(sites)), _EQUIPMENT.c.type == "pump")
        with self._sessions() as session:
            return {(r.site, r.id): r.last_overhaul or r.installed for r in session.execute(query)}

    def take_lessons(
        self,
        sites: Collection[str],
        at: datetime,
        learn: Callable[[list[Lesson]], dict[AlarmKey, dict[str, Any]]] | None = None,
    ) -> list[Lesson]:
        """The verdicts not yet taken that teach the learning rules of `sites` (oldest first),
        each with whether it withdraws an earlier lesson and the level the person judged (None:
        not known); marked taken at `at` in the same transaction. `learn`, given the lessons,
        applies them and answers what the logic then knows: stored in that same transaction,
        so a crash before the next periodic save neither loses a lesson nor its effect (fifth
        review of issue 20, M1)."""
        query = (
            select(RuleLessonRow)
            .where(RuleLessonRow.site.in_(list(sites)), RuleLessonRow.applied_at.is_(None))
            .order_by(RuleLessonRow.id)
            .with_for_update()
        )
        with self._sessions.begin() as session:
            rows = list(session.scalars(query))
            lessons = [((r.site, r.equipment, r.rule), bool(r.withdraw), r.level) for r in rows]
            for row in rows:
                row.applied_at = at
            if learn is not None and lessons:
                for (site, equipment, rule), memory in learn(lessons).items():
                    session.merge(
                        RuleMemoryRow(
                            site=site, equipment=equipment, rule=rule, memory=memory, updated_at=at
                        )
                    )
            return lessons

    def get(self, alarm_id: str) -> Alarm | None:
        """One alarm by id."""
        with self._sessions() as session:
            row = session.get(AlarmRow, alarm_id)
            return None if row is None else row_to_alarm(row)

    def transitions(self, alarm_id: str) -> list[StoredTransition]:
        """The stored transitions of an alarm, oldest first."""
        query = (
            select(AlarmEventRow)
            .where(AlarmEventRow.alarm_id == alarm_id)
            .order_by(AlarmEventRow.at, AlarmEventRow.id)
        )
        with self._sessions() as session:
            return [
                StoredTransition(
                    r.id,
                    r.alarm_id,
                    r.at,
                    r.transition,
                    AlarmState(r.state),
                    AlarmState(r.previous_state),
                    r.value,
                    r.actor,
                    r.comment,
                )
                for r in session.scalars(query)
            ]

    def open_where(self, sites: Collection[str], *, shelved: bool) -> list[Alarm]:
        """Open alarms of `sites`: the shelved ones, or the unacknowledged active ones."""
        query = select(AlarmRow).where(AlarmRow.is_open.is_(True), AlarmRow.site.in_(list(sites)))
        if shelved:
            query = query.where(AlarmRow.shelved_until.is_not(None))
        else:
            query = query.where(
                AlarmRow.state == AlarmState.ACTIVE_UNACK.value, AlarmRow.escalated_at.is_(None)
            )
        with self._sessions() as session:
            return [row_to_alarm(r) for r in session.scalars(query)]

    # -- outbox ---------------------------------------------------------------------------
    def outbox(self, limit: int = 1000) -> list[OutboxEntry]:
        """Events not yet confirmed published, oldest first."""
        query = select(AlarmOutboxRow).order_by(AlarmOutboxRow.created_at).limit(limit)
        with self._sessions() as session:
            return [
                OutboxEntry(r.event_id, r.topic, r.payload.encode()) for r in session.scalars(query)
            ]

    def published(self, event_ids: Collection[str]) -> None:
        """Forget outbox entries the broker has confirmed."""
        if not event_ids:
            return
        with self._sessions.begin() as session:
            session.execute(
                delete(AlarmOutboxRow).where(AlarmOutboxRow.event_id.in_(list(event_ids)))
            )

    # -- floods ---------------------------------------------------------------------------
    def flood_started(self, flood_id: str, site: str, at: datetime, count: int) -> None:
        """Record the start of an alarm flood."""
        with self._sessions.begin() as session:
            session.add(AlarmFloodRow(id=flood_id, site=site, started_at=at, peak=count))

    def flood_ended(self, flood_id: str, at: datetime, peak: int) -> None:
        """Record the end of an alarm flood."""
        with self._sessions.begin() as session:
            session.execute(
                update(AlarmFloodRow)
                .where(AlarmFloodRow.id == flood_id)
                .values(ended_at=at, peak=peak)
            )

    # -- changes --------------------------------------------------------------------------
    def change_open(
        self, key: AlarmKey, operation: Callable[[Alarm | None], AlarmUpdate | None]
    ) -> AlarmUpdate | None:
        """Apply `operation` to the open alarm of `key` (or None) and store the result."""
        with self._sessions.begin() as session:
            self._lock(session, _open_key(key))
            row = session.scalars(select(AlarmRow).where(_open_key(key))).one_or_none()
            result = operation(None if row is None else row_to_alarm(row))
            if result is not None:
                self._save(session, row, result)
        return result

    def change(self, alarm_id: str, operation: Callable[[Alarm], AlarmUpdate]) -> AlarmUpdate:
        """Apply `operation` to an alarm by id and store the result; UnknownAlarmError if absent."""
        with self._sessions.begin() as session:
            return self.change_in(session, alarm_id, operation)

    def change_in(
        self, session: Session, alarm_id: str, operation: Callable[[Alarm], AlarmUpdate]
    ) -> AlarmUpdate:
        """`change` inside the caller's transaction (which commits it), so what the caller
        writes alongside commits with the change or not at all."""
        row = self.locked(session, alarm_id)
        result = operation(row_to_alarm(row))
        self._save(session, row, result)
        return result

    def locked(self, session: Session, alarm_id: str) -> AlarmRow:
        """The alarm row, locked for the caller's transaction and read afresh;
        UnknownAlarmError if absent."""
        self._lock(session, AlarmRow.id == alarm_id)
        row = session.get(AlarmRow, alarm_id, populate_existing=True)
        if row is None:
            raise UnknownAlarmError(alarm_id)
        return row

    def acknowledge(
        self, alarm_id: str, *, actor: str, at: datetime, comment: str | None = None
    ) -> AlarmEvent:
        """Acknowledge an alarm; returns the event (also in the outbox)."""
        result = self.change(
            alarm_id, lambda a: alarms.acknowledge(a, at=at, actor=actor, comment=comment)
        )
        assert result.event is not None  # acknowledge always moves the state
        return result.event

    @staticmethod
    def _lock(session: Session, where: ColumnElement[bool]) -> None:
        # A no-op UPDATE takes the row lock on PostgreSQL and the write lock on SQLite before
        # the read, so a concurrent writer waits instead of deciding on a stale row.
        session.execute(
            update(AlarmRow)
            .where(where)
            .values(updated_at=AlarmRow.updated_at)
            .execution_options(synchronize_session=False)
        )

    @staticmethod
    def _save(session: Session, row: AlarmRow | None, result: AlarmUpdate) -> None:
        if row is None or row.id != result.alarm.alarm_id:
            row = AlarmRow(id=result.alarm.alarm_id)
            _write_alarm(row, result.alarm)
            session.add(row)
            session.flush()  # the event's foreign key needs the alarm row first
        else:
            _write_alarm(row, result.alarm)
        if result.event is not None:
            session.add(_event_row(result.event))
            session.add(outbox_row(result.event))


def outbox_row(event: AlarmEvent) -> AlarmOutboxRow:
    """The outbox entry of an event: its topic and wire payload."""
    return AlarmOutboxRow(
        event_id=event.event_id,
        topic=topics.alarms(event.site, event.equipment),
        payload=event.model_dump_json(by_alias=True),
        created_at=event.at,
    )


@dataclass(frozen=True, slots=True)
class OutboxEntry:
    """An event committed but not yet confirmed published."""

    event_id: str
    topic: str
    payload: bytes


def acknowledge(
    engine: Engine, alarm_id: str, *, actor: str, at: datetime, comment: str | None = None
) -> AlarmEvent:
    """Acknowledge an alarm in the store; its event waits in the outbox for the rules service.

    Raises UnknownAlarmError or InvalidTransitionError (e.g. already acknowledged).
    """
    return AlarmStore(engine).acknowledge(alarm_id, actor=actor, at=at, comment=comment)
