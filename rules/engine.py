"""Readings in, stored alarm transitions out: evaluator + state machine + store, no MQTT.

The service splits the work in two steps so a database outage can be retried without feeding
readings twice: `evaluate` (pure, advances condition state) and `commit` (one transaction per
change, safe to retry).
"""

from __future__ import annotations

import logging
import zlib
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass

from core.models import AlarmEvent, Reading
from rules import alarms
from rules.alarms import ChatterDetector
from rules.evaluator import ChangeCause, ConditionChange, Equipment, Evaluator
from rules.schema import Rule
from rules.store import AlarmStore

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Shard:
    """`i/N`: this worker owns the sites whose crc32 modulo N is i."""

    index: int
    count: int

    @classmethod
    def parse(cls, text: str) -> Shard:
        """Parse `i/N` (0 <= i < N); ValueError otherwise."""
        parts = text.split("/")
        if len(parts) != 2 or not all(p.strip().isdigit() for p in parts):
            raise ValueError(f"shard {text!r} is not i/N")
        index, count = int(parts[0]), int(parts[1])
        if count < 1 or not 0 <= index < count:
            raise ValueError(f"shard {text!r}: need 0 <= i < N")
        return cls(index, count)

    def owns(self, site: str) -> bool:
        """Stable across processes and machines (unlike hash())."""
        return zlib.crc32(site.encode("utf-8")) % self.count == self.index


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
    ) -> None:
        self.evaluator = Evaluator(rules, equipment)
        self.store = store
        self.chatter = chatter or ChatterDetector()
        self.chattering = 0

    def restore(self, sites: Collection[str]) -> int:
        """Rebuild condition state from the open alarms of `sites`; returns how many."""
        restored = 0
        for alarm in self.store.load_open(sites):
            if self.evaluator.restore(
                alarm.key, active=alarm.condition, suppressed=alarm.suppressed
            ):
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
        return restored

    def evaluate(self, site: str, readings: Iterable[Reading]) -> list[PendingChange]:
        """Feed readings (source time); the changes to commit, in order."""
        pending = []
        for change in self.evaluator.feed_batch(site, readings):
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

    def process(self, site: str, readings: Iterable[Reading]) -> list[AlarmEvent]:
        """Evaluate and commit in one go (tests and simple callers)."""
        events = []
        for pending in self.evaluate(site, readings):
            event = self.commit(pending)
            if event is not None:
                events.append(event)
        return events
