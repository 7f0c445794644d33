"""Rule evaluation on the readings stream (pure: no I/O, time is the readings' source time).

Each (site, equipment, rule) has a condition slot. A reading touches only the slots of its
equipment and point (rules are indexed by equipment type and point). The raw condition comes
from the rule kind's logic (`rules.logic.LOGICS`); this module adds what every kind shares:
on-/off-delays in source time and suppression by design.

`tick(now)` is driven by a clock because some conditions change without a reading: a point
that stops reporting (stale rules), and a delay that runs out while the condition is held
and no newer reading arrives ("held as far as we know", up to `horizon` past the last one).
"""

from __future__ import annotations

import logging
import operator
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from enum import StrEnum
from typing import Any, cast

from bldgwatch.core.clock import from_epoch_ms
from bldgwatch.core.models import Quality, Reading
from bldgwatch.core.site import primary_factor
from bldgwatch.rules.equipment import Equipment, equipment_of
from bldgwatch.rules.errors import ParameterMissingError
from bldgwatch.rules.logic import (
    LOGICS,
    ConditionLogic,
    LearningLogic,
    StaleLogic,
    ThresholdLogic,
    window_ms,
)
from bldgwatch.rules.schema import Rule

__all__ = [
    "AlarmKey",
    "ChangeCause",
    "ConditionChange",
    "Equipment",
    "Evaluator",
    "EvaluatorCounters",
    "RuleIndex",
    "equipment_of",
]

logger = logging.getLogger(__name__)

AlarmKey = tuple[str, str, str]
"""(site, equipment, rule id): one condition, and at most one open alarm, per key."""


_BY_TS = operator.attrgetter("ts_ms")


class ChangeCause(StrEnum):
    """What moved: the debounced condition, or the suppression-by-design point."""

    CONDITION = "condition"
    SUPPRESSION = "suppression"


@dataclass(frozen=True, slots=True)
class ConditionChange:
    """A debounced condition became true/false, or its suppression started/ended."""

    equipment: Equipment
    rule: Rule
    at: datetime
    cause: ChangeCause
    active: bool
    suppressed: bool
    value: float | None
    limit: float | None
    detail: Mapping[str, Any] | None = None
    """Parameters a kind adds to the alarm text (a communication loss's cause)."""

    @property
    def key(self) -> AlarmKey:
        """(site, equipment, rule id)."""
        return (self.equipment.site, self.equipment.id, self.rule.id)


class RuleIndex:
    """Rules by equipment type (the evaluator indexes its slots by point)."""

    def __init__(self, rules: Sequence[Rule]) -> None:
        self.rules = list(rules)
        self._by_type: dict[str, list[Rule]] = {}
        for rule in self.rules:
            self._by_type.setdefault(rule.equipment_type, []).append(rule)

    def for_type(self, equipment_type: str) -> list[Rule]:
        """Every rule of an equipment type."""
        return self._by_type.get(equipment_type, [])


@dataclass(slots=True)
class _Slot:
    key: AlarmKey
    equipment: Equipment
    rule: Rule
    logic: ConditionLogic
    limit: float | None
    active: bool = False
    suppressed: bool = False
    pending_since_ms: int | None = None
    pending_value: float | None = None  # the last value that satisfied the pending condition
    last_ts_ms: int = -1
    watch_since_ms: int | None = None  # stale rules: silence counted from here (clock)
    warmup_ms: int = 0  # restored window kinds: no clear until their window has refilled
    warm_until_ms: int | None = None
    # A threshold's test (rules.logic.ThresholdLogic.bounds) worked out in the hot loop as
    # `value * sign > at` (or >=): its bounds held here, not behind a call (fewer objects
    # touched per reading). `sign` 0.0: not a threshold.
    sign: float = 0.0
    strict: bool = True
    enter_at: float = 0.0
    hold_at: float = 0.0


WATCHED_ELSEWHERE = frozenset({"comms_loss"})
"""Kinds judged on the clock by `rules.comms`, not from readings here."""

# Kinds whose condition is a function of the latest values only: a repeated value changes
# nothing unless a delay is running (then its time matters).
_VALUE_ONLY = frozenset({"threshold", "expression"})


@dataclass(slots=True)
class _Point:
    """What one (site, equipment, point) touches, and its last value."""

    suppressing: tuple[_Slot, ...]
    slots: tuple[_Slot, ...]  # tuples: their items inline, one object fewer to fetch
    last: float | None = None
    last_ts_ms: int = -(2**62)
    """The source time of `last`: a late (older) reading must not become the value newer
    readings are compared with, or an equal live value is skipped as a repeat."""
    value_only: bool = False
    factor: float = 1.0
    """What its readings are multiplied by: a CT/PT-connected meter's to the primary side
    (`core.site.primary_factor`)."""

    def __post_init__(self) -> None:
        self.value_only = all(s.rule.kind in _VALUE_ONLY for s in self.slots)


@dataclass(slots=True)
class EvaluatorCounters:
    """What the evaluator saw; exported in the service status."""

    readings: int = 0
    evaluated: int = 0
    unknown_equipment: int = 0
    bad_quality: int = 0
    out_of_order: int = 0
    changes: int = 0
    repeats: int = 0  # repeated values of value-only rules, skipped


class Evaluator:
    """Condition state of every (site, equipment, rule); feed it readings in source time."""

    def __init__(
        self, rules: Sequence[Rule], equipment: Iterable[Equipment], *, horizon_s: float = 30.0
    ) -> None:
        self.index = RuleIndex(rules)
        self.counters = EvaluatorCounters()
        self.horizon_ms = int(horizon_s * 1000)
        self.skipped: list[tuple[AlarmKey, str]] = []
        self._equipment: dict[tuple[str, str], Equipment] = {}
        self._slots: dict[AlarmKey, _Slot] = {}
        self._by_point: dict[tuple[str, str, str], list[_Slot]] = {}
        self._by_suppress: dict[tuple[str, str, str], list[_Slot]] = {}
        self._stale: list[_Slot] = []
        self._pending: dict[AlarmKey, _Slot] = {}
        self._held: set[tuple[str, str]] = set()
        self._learning: list[_Slot] = []  # slots whose logic learns (memory / recall)
        for eq in equipment:
            self._add_equipment(eq)
        self._suppression_points = frozenset(p for _, _, p in self._by_suppress)
        # site → equipment → point → what a reading of it touches: nested look-ups of the
        # reading's own strings, no key tuple built per reading.
        self._touched: dict[str, dict[str, dict[str, _Point]]] = {}
        for where in dict.fromkeys([*self._by_point, *self._by_suppress]):
            site, eq_id, point = where
            eq = self._equipment[(site, eq_id)]
            self._touched.setdefault(site, {}).setdefault(eq_id, {})[point] = _Point(
                tuple(self._by_suppress.get(where, ())),
                tuple(self._by_point.get(where, ())),
                factor=primary_factor(eq.type, eq.meter, point),
            )

    def _add_equipment(self, eq: Equipment) -> None:
        self._equipment[(eq.site, eq.id)] = eq
        for rule in self.index.for_type(eq.type):
            if rule.kind in WATCHED_ELSEWHERE:
                continue
            key = (eq.site, eq.id, rule.id)
            try:
                logic, limit = LOGICS[rule.kind](rule, eq)
            except ParameterMissingError as err:
                logger.warning("%s: rule not applied to %s/%s", err, eq.site, eq.id)
                self.skipped.append((key, str(err)))
                continue
            slot = _Slot(key, eq, rule, logic, limit)
            if isinstance(logic, ThresholdLogic):
                op, enter, hold = logic.bounds()
                # `v < x` is `-v > -x` exactly (a float's sign flip is exact, NaN stays false).
                slot.sign = 1.0 if op in (">", ">=") else -1.0
                slot.strict = op in (">", "<")
                slot.enter_at, slot.hold_at = enter * slot.sign, hold * slot.sign
            self._slots[key] = slot
            for point in rule.points():
                self._by_point.setdefault((eq.site, eq.id, point), []).append(slot)
            if rule.suppress_when is not None:
                self._by_suppress.setdefault((eq.site, eq.id, rule.suppress_when), []).append(slot)
            if isinstance(logic, StaleLogic):
                self._stale.append(slot)
            if isinstance(logic, LearningLogic):
                self._learning.append(slot)

    # -- queries ------------------------------------------------------------------------
    def knows(self, site: str, equipment: str) -> bool:
        """True when the equipment is in the site files."""
        return (site, equipment) in self._equipment

    def equipment(self, site: str, equipment: str) -> Equipment | None:
        """The equipment entry, or None."""
        return self._equipment.get((site, equipment))

    def limit(self, key: AlarmKey) -> float | None:
        """The resolved limit of a rule on an equipment, or None when it has none / no slot."""
        slot = self._slots.get(key)
        return None if slot is None else slot.limit

    @property
    def slot_count(self) -> int:
        """(equipment, rule) pairs evaluated."""
        return len(self._slots)

    # -- state ----------------------------------------------------------------------------
    def restore(self, key: AlarmKey, *, active: bool, suppressed: bool) -> bool:
        """Set a slot's state from a stored alarm after a restart; False if the rule is gone."""
        slot = self._slots.get(key)
        if slot is None:
            return False
        slot.active = active
        slot.suppressed = suppressed
        self._settle(slot)
        if active:
            # A windowed condition (counts, statistics, rates) starts empty after a restart:
            # it must not clear the restored alarm before its window has filled again.
            slot.warmup_ms = window_ms(slot.logic)
        return True

    def recall(self, key: AlarmKey, memory: Mapping[str, Any]) -> bool:
        """Give a learning logic back what it learned before a restart; False if no such slot."""
        slot = self._slots.get(key)
        if slot is None or not isinstance(slot.logic, LearningLogic):
            return False
        slot.logic.recall(memory)
        return True

    def teach(self, key: AlarmKey, *, withdraw: bool = False, level: float | None = None) -> bool:
        """A person's "not a leak" on the alarm of `key`: its learning logic takes the level
        the person judged (`level`, the alarm's value; None: the level it alarmed on last) as
        a normal one (`withdraw`: a supervisor reversed it, the logic forgets it); False if no
        such slot or nothing to learn (or forget)."""
        slot = self._slots.get(key)
        logic = slot.logic if slot is not None else None
        if withdraw:
            act = getattr(logic, "withdraw", None)
            return bool(act()) if callable(act) else False
        act = getattr(logic, "accept", None)
        return bool(act(level)) if callable(act) else False

    def renew(self, site: str, equipment: str, since: date | None) -> bool:
        """The register's last overhaul (else install) date of an equipment, for the learning
        logics that learn per install (a pump's early specific energy): on a change they
        forget what they learned and learn again from that date; True if any forgot."""
        forgot = False
        for slot in self._learning:
            if slot.equipment.site != site or slot.equipment.id != equipment:
                continue
            act = getattr(slot.logic, "renew", None)
            if callable(act) and act(since):
                forgot = True
        return forgot

    def memories(self, *, everything: bool = False) -> dict[AlarmKey, dict[str, Any]]:
        """What the learning logics learned since last asked (or all of it), to store."""
        found: dict[AlarmKey, dict[str, Any]] = {}
        for slot in self._learning:
            logic = cast(LearningLogic, slot.logic)
            if everything or logic.dirty:
                found[slot.key] = logic.memory()
        return found

    def memories_of(self, keys: Iterable[AlarmKey]) -> dict[AlarmKey, dict[str, Any]]:
        """What the learning logics of `keys` know now, to store at once."""
        found: dict[AlarmKey, dict[str, Any]] = {}
        for key in keys:
            slot = self._slots.get(key)
            if slot is not None and isinstance(slot.logic, LearningLogic):
                found[key] = slot.logic.memory()
        return found

    def mark_unsaved(self, keys: Iterable[AlarmKey]) -> None:
        """Memories taken but not stored: take them again next time."""
        for key in keys:
            slot = self._slots.get(key)
            if slot is not None and isinstance(slot.logic, LearningLogic):
                slot.logic.dirty = True

    def hold_silence(self, site: str, equipment: Iterable[str], *, held: bool) -> None:
        """Stop (or restart) counting the silence of stale points of some equipment: while
        its gateway is known lost, that one alarm says why they are silent."""
        keys = {(site, eq) for eq in equipment}
        if held:
            self._held |= keys
        else:
            self._held -= keys

    def feed(self, site: str, reading: Reading) -> list[ConditionChange]:
        """Apply one reading at its source time; return the changes it caused."""
        changes: list[ConditionChange] = []
        self.counters.readings += 1
        self._feed(site, [reading], changes)
        return changes

    def _feed(  # noqa: PLR0912 - the hot path, inlined on purpose
        self, site: str, readings: Iterable[Reading], changes: list[ConditionChange]
    ) -> None:
        # The hot path: per reading, two look-ups of its own names find all it touches.
        by_equipment = self._touched.get(site)
        counters = self.counters
        bad = Quality.BAD
        evaluated = 0  # added to the counter once, after the loop
        for reading in readings:
            points = None if by_equipment is None else by_equipment.get(reading.equipment)
            touched = None if points is None else points.get(reading.point)
            if touched is None:
                if points is None and (site, reading.equipment) not in self._equipment:
                    counters.unknown_equipment += 1  # (with points, the equipment is known)
                continue
            if reading.quality is bad:
                counters.bad_quality += 1
                continue
            value = float(reading.value) * touched.factor
            ts_ms = reading.ts_ms
            newest = ts_ms >= touched.last_ts_ms
            if newest and value == touched.last and touched.value_only:
                for slot in touched.slots:  # a repeat changes nothing unless a delay runs
                    if slot.pending_since_ms is not None:
                        break
                else:
                    counters.repeats += 1
                    continue
            if newest:  # a late reading must not become the value newer ones are compared with
                touched.last, touched.last_ts_ms = value, ts_ms
            for slot in touched.suppressing:
                if (value >= 0.5) != slot.suppressed:
                    self._suppress(slot, value >= 0.5, ts_ms, changes)
            point = reading.point
            for slot in touched.slots:
                if (
                    slot.pending_since_ms is None
                    and not slot.warmup_ms
                    and ts_ms >= slot.last_ts_ms
                ):
                    # `_step` without a delay running or a warm-up: most readings end here.
                    slot.last_ts_ms = ts_ms
                    evaluated += 1
                    sign = slot.sign
                    if not sign:
                        desired = slot.logic.raw(point, value, ts_ms, slot.active)
                    else:
                        x = value * sign
                        at = slot.hold_at if slot.active else slot.enter_at
                        desired = x > at if slot.strict else x >= at
                    if desired is None or desired == slot.active:
                        continue
                    change = self._start(slot, desired, value, ts_ms)
                else:
                    change = self._step(slot, point, value, ts_ms)
                if change is not None:
                    changes.append(change)
                    counters.changes += 1
        counters.evaluated += evaluated

    def feed_batch(self, site: str, readings: Iterable[Reading]) -> list[ConditionChange]:
        """Feed readings in source-time order (at equal times, suppression counts first)."""
        changes: list[ConditionChange] = []
        batch = list(readings)
        self.counters.readings += len(batch)
        batch.sort(key=_BY_TS)  # stable: at equal times, the message's order
        self._feed(site, batch, changes)
        return changes

    def tick(self, now_ms: int) -> list[ConditionChange]:
        """Clock-driven changes at `now_ms`: stale points, and delays run out without readings."""
        changes: list[ConditionChange] = []
        for slot in self._stale:
            logic = slot.logic
            assert isinstance(logic, StaleLogic)
            held = (slot.equipment.site, slot.equipment.id) in self._held
            if logic.seen or slot.watch_since_ms is None or held:
                # Silence is counted on the clock from the last tick that saw data (or the
                # first tick), so a gateway whose clock is off does not look silent.
                slot.watch_since_ms = now_ms
                logic.seen = False
            due = slot.watch_since_ms + logic.stale_after_ms
            if not slot.active and now_ms >= due:
                slot.active = True
                self._settle(slot)
                changes.append(self._change(slot, ChangeCause.CONDITION, due, None))
        for slot in list(self._pending.values()):
            change = self._expire(slot, now_ms)
            if change is not None:
                changes.append(change)
        self.counters.changes += len(changes)
        return changes

    def _expire(self, slot: _Slot, now_ms: int) -> ConditionChange | None:
        since = slot.pending_since_ms
        if since is None or slot.last_ts_ms < 0:
            return None
        delay_s = slot.rule.off_delay_s if slot.active else slot.rule.on_delay_s
        due = since + int(delay_s * 1000)
        if min(now_ms, slot.last_ts_ms + self.horizon_ms) < due:
            return None
        slot.active = not slot.active
        value = slot.pending_value
        self._settle(slot)
        # The delay ran out without a new reading: the alarm shows the last value that kept
        # the condition (a threshold's reading, a rate, a statistic), never nothing.
        return self._change(slot, ChangeCause.CONDITION, due, value)

    def _settle(self, slot: _Slot) -> None:
        if slot.pending_since_ms is not None:
            slot.pending_since_ms = None
            slot.pending_value = None
            del self._pending[slot.key]

    @staticmethod
    def _warming(slot: _Slot, desired: bool | None, ts_ms: int) -> bool | None:
        if slot.warm_until_ms is None:
            slot.warm_until_ms = ts_ms + slot.warmup_ms
        if ts_ms >= slot.warm_until_ms:
            slot.warmup_ms, slot.warm_until_ms = 0, None
            return desired
        return None if desired is False else desired

    def _suppress(self, slot: _Slot, on: bool, ts_ms: int, changes: list[ConditionChange]) -> None:
        """Flip a slot's suppression; it counts before a condition change at the same time."""
        slot.suppressed = on
        self.counters.changes += 1
        change = self._change(slot, ChangeCause.SUPPRESSION, ts_ms, None)
        at = change.at
        for i in range(len(changes) - 1, -1, -1):
            earlier = changes[i]
            if earlier.at != at:
                break
            if earlier.cause is ChangeCause.CONDITION and earlier.key == slot.key:
                # Same instant: the suppression goes first and the condition change carries it.
                changes[i] = replace(change, active=not earlier.active)
                changes.append(replace(earlier, suppressed=on))
                return
        changes.append(change)

    def _step(self, slot: _Slot, point: str, value: float, ts_ms: int) -> ConditionChange | None:
        last = slot.last_ts_ms
        if ts_ms < last:
            self.counters.out_of_order += 1
            return None
        slot.last_ts_ms = ts_ms
        self.counters.evaluated += 1
        pending = slot.pending_since_ms
        if pending is not None and ts_ms - last > self.horizon_ms:
            self._settle(slot)  # a gap in the data: the condition is not known to have held
            pending = None
        desired = slot.logic.raw(point, value, ts_ms, slot.active)
        if slot.warmup_ms:
            desired = self._warming(slot, desired, ts_ms)
        if desired is None or desired == slot.active:
            if pending is not None:
                self._settle(slot)
            return None
        return self._start(slot, desired, value, ts_ms)

    def _start(
        self, slot: _Slot, desired: bool, value: float, ts_ms: int
    ) -> ConditionChange | None:
        """The raw condition differs from the debounced one: start or go on with its delay,
        and flip the slot once the delay has run."""
        if slot.pending_since_ms is None:
            slot.pending_since_ms = ts_ms
            self._pending[slot.key] = slot
        shown = slot.logic.shown
        slot.pending_value = value if shown is None else shown
        delay_s = slot.rule.on_delay_s if desired else slot.rule.off_delay_s
        if ts_ms - slot.pending_since_ms < delay_s * 1000:
            return None
        slot.active = desired
        self._settle(slot)
        return self._change(slot, ChangeCause.CONDITION, ts_ms, value if shown is None else shown)

    @staticmethod
    def _change(
        slot: _Slot, cause: ChangeCause, ts_ms: int, value: float | None
    ) -> ConditionChange:
        return ConditionChange(
            equipment=slot.equipment,
            rule=slot.rule,
            at=from_epoch_ms(ts_ms),
            cause=cause,
            active=slot.active,
            suppressed=slot.suppressed,
            value=value,
            limit=slot.limit,
        )
