"""Readings in, stored alarm transitions out: evaluator + state machine + store, no MQTT.

The service splits the work in two steps so a database outage can be retried without feeding
readings twice: `evaluate` (pure, advances condition state) and `commit` (one transaction per
change, safe to retry).
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from bldgwatch.core.clock import to_epoch_ms
from bldgwatch.core.models import AlarmEvent, Reading
from bldgwatch.rules import alarms
from bldgwatch.rules.alarms import new_uuid
from bldgwatch.rules.comms import CommsWatch
from bldgwatch.rules.evaluator import (
    AlarmKey,
    ChangeCause,
    ConditionChange,
    Equipment,
    Evaluator,
)
from bldgwatch.rules.flood import ChatterDetector, FloodChange, FloodDetector
from bldgwatch.rules.schema import Rule
from bldgwatch.rules.store import AlarmStore, Lesson

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class PendingChange:
    """An evaluator change waiting to be stored, with its chattering verdict."""

    change: ConditionChange
    chattering: bool


class RulesEngine:
    """Condition state in memory, alarm state in the store."""

    def __init__(
        self,
        rules: Sequence[Rule],
        equipment: Iterable[Equipment],
        store: AlarmStore,
        *,
        chatter: ChatterDetector | None = None,
        flood: FloodDetector | None = None,
        escalate_after: timedelta | None = None,
        horizon_s: float = 30.0,
    ) -> None:
        fleet = list(equipment)
        self.evaluator = Evaluator(rules, fleet, horizon_s=horizon_s)
        self.comms = CommsWatch(rules, fleet)
        self.store = store
        self.chatter = chatter or ChatterDetector()
        self.flood = flood or FloodDetector()
        self.escalate_after = escalate_after
        self.chattering = 0
        self.floods = 0
        self._flood_ids: dict[str, str] = {}

    def restore(self, sites: Collection[str]) -> int:
        """Rebuild condition state from the open alarms of `sites`; returns how many."""
        restored = 0
        for alarm in self.store.load_open(sites):
            if self.evaluator.restore(
                alarm.key, active=alarm.condition, suppressed=alarm.suppressed
            ) or self.comms.restore(alarm.key, active=alarm.condition):
                restored += 1
            else:
                logger.warning(
                    "open alarm %s of %s/%s: rule %s no longer applies",
                    alarm.alarm_id,
                    alarm.site,
                    alarm.equipment,
                    alarm.rule,
                )
        logger.info("restored %d open alarms", restored)
        recalled = sum(
            self.evaluator.recall(key, memory)
            for key, memory in self.store.load_memory(sites).items()
        )
        logger.info("recalled what %d learning rules had learned", recalled)
        self.renew(sites)
        return restored

    def renew(self, sites: Collection[str]) -> int:
        """Give the learning rules of `sites` their equipment's last overhaul (else install)
        date from the asset register: a pump overhauled or replaced since forgets its learned
        baseline and learns again (third review of issue 20, M3); how many forgot."""
        return sum(
            self.evaluator.renew(site, equipment, since)
            for (site, equipment), since in self.store.renewals(sites).items()
        )

    def keep_memory(self, now: datetime, *, everything: bool = False) -> int:
        """Store what learning rules learned since the last call (or all); how many."""
        memories = self.evaluator.memories(everything=everything)
        try:
            self.store.save_memory(memories, now)
        except SQLAlchemyError:
            self.evaluator.mark_unsaved(memories)  # to be saved at the next call
            raise
        return len(memories)

    def learn_lessons(self, sites: Collection[str], now: datetime) -> int:
        """Give the learning rules of `sites` the verdicts people gave since the last call
        ("not a leak": the level alarmed on is the new normal); how many were applied. What
        the rules then know is stored in the transaction that marks the lessons taken (fifth
        review of issue 20, M1: a crash before the periodic save lost a taken lesson)."""
        taught: list[AlarmKey] = []

        def learn(lessons: list[Lesson]) -> dict[AlarmKey, dict[str, Any]]:
            for key, withdraw, level in lessons:
                if self.evaluator.teach(key, withdraw=withdraw, level=level):
                    taught.append(key)
                else:
                    logger.warning("a verdict on %s/%s %s teaches nothing", *key)
            return self.evaluator.memories_of(taught)

        try:
            self.store.take_lessons(sites, now, learn)
        except SQLAlchemyError:
            self.evaluator.mark_unsaved(taught)  # the lessons stay untaken: offered again
            raise
        return len(taught)

    def evaluate(
        self,
        site: str,
        readings: Iterable[Reading],
        *,
        gateway: str | None = None,
        equipment: Collection[str] = (),
    ) -> list[PendingChange]:
        """Feed a batch's readings (source time); the changes to commit, in order. `gateway`
        (and the `equipment` its batch carries) tell the communication watch it is alive."""
        batch = list(readings)
        if gateway is not None:
            self.comms.saw_batch(site, gateway, equipment, batch)
        return self._verdicts(self.evaluator.feed_batch(site, batch))

    def gateway_status(
        self, site: str, gateway: str, *, online: bool, available: Mapping[str, bool]
    ) -> None:
        """A gateway's retained status (or last will) arrived."""
        self.comms.saw_status(site, gateway, online=online, available=available)

    def tick(self, now: datetime) -> list[PendingChange]:
        """Clock-driven condition changes (stale points, delays run out, communication lost
        or back); commit them."""
        now_ms = to_epoch_ms(now)
        comms = self.comms.tick(now_ms)
        for site, equipment, lost in self.comms.lost_gateways():
            self.evaluator.hold_silence(site, equipment, held=lost)
        return self._verdicts([*self.evaluator.tick(now_ms), *comms])

    def _verdicts(self, changes: Iterable[ConditionChange]) -> list[PendingChange]:
        pending = []
        for change in changes:
            chattering = False
            if change.cause is ChangeCause.CONDITION and change.active:
                chattering = self.chatter.record(change.key, change.at)
                self.chattering += chattering
            pending.append(PendingChange(change, chattering))
        return pending

    def commit(self, pending: PendingChange) -> AlarmEvent | None:
        """Store one change (one transaction); the event to publish, if any."""
        result = self.store.change_open(
            pending.change.key,
            lambda alarm: alarms.on_condition(alarm, pending.change, chattering=pending.chattering),
        )
        if result is None or result.event is None:
            return None
        event = result.event
        if event.transition == alarms.Transition.ACTIVATE:
            for flood in self.flood.record(event.site, event.at):
                self._flood(flood)
        logger.info(
            "alarm %s %s: %s/%s %s -> %s",
            event.rule,
            event.transition,
            event.site,
            event.equipment,
            event.previous_state,
            event.state,
        )
        return event

    def housekeeping(self, sites: Collection[str], now: datetime) -> list[AlarmEvent]:
        """Clock-driven alarm changes: shelves that expired, escalations, floods that ended.

        Each is its own transaction (safe to retry after a database error).
        """
        events: list[AlarmEvent] = []
        for alarm in self.store.open_where(sites, shelved=True):
            result = self.store.change(
                alarm.alarm_id, lambda a: alarms.expire_shelf(a, now) or alarms.AlarmUpdate(a, None)
            )
            if result.event is not None:
                events.append(result.event)
        if self.escalate_after is not None:
            after = self.escalate_after
            for alarm in self.store.open_where(sites, shelved=False):
                result = self.store.change(
                    alarm.alarm_id,
                    lambda a: alarms.escalate(a, now, after=after) or alarms.AlarmUpdate(a, None),
                )
                if result.event is not None:
                    logger.warning(
                        "alarm %s escalated: %s", result.event.rule, result.event.comment
                    )
                    events.append(result.event)
        for flood in self.flood.tick(now):
            self._flood(flood)
        return events

    def _flood(self, change: FloodChange) -> None:
        try:
            self._store_flood(change)
        except SQLAlchemyError as err:  # a KPI record: never fail an alarm transition for it
            logger.error("flood record of %s not stored: %s", change.view, err)

    def _store_flood(self, change: FloodChange) -> None:
        if change.started:
            self.floods += 1
            flood_id = new_uuid()
            self._flood_ids[change.view] = flood_id
            logger.warning("alarm flood at %s: %d alarms in the window", change.view, change.count)
            self.store.flood_started(flood_id, change.view, change.at, change.count)
            return
        flood_id = self._flood_ids.pop(change.view, "")
        logger.warning("alarm flood at %s ended", change.view)
        self.store.flood_ended(flood_id, change.at, self.flood.peak.get(change.view, 0))

    def process(self, site: str, readings: Iterable[Reading]) -> list[AlarmEvent]:
        """Evaluate and commit in one go (tests and simple callers)."""
        events = []
        for pending in self.evaluate(site, readings):
            event = self.commit(pending)
            if event is not None:
                events.append(event)
        return events
