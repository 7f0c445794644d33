"""Rule evaluation on the readings stream (pure: no I/O, time is the readings' source time).

Each (site, equipment, rule) has a condition slot. A reading touches only the slots of its
equipment and point (rules are indexed by equipment type and point). The raw condition comes
from the rule kind's logic (`LOGICS`); this module adds what every kind shares: hysteresis
through the logic's view of the current state, on-/off-delays in source time, and
suppression by design.
"""

from __future__ import annotations

import logging
import operator
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from core.clock import from_epoch_ms
from core.models import Quality, Reading
from core.site import EquipmentSpec, SiteSpec
from rules.errors import ParameterMissingError
from rules.schema import Rule, ThresholdRule, resolve_limit

logger = logging.getLogger(__name__)

AlarmKey = tuple[str, str, str]
"""(site, equipment, rule id): one condition, and at most one open alarm, per key."""


@dataclass(frozen=True, slots=True)
class Equipment:
    """What rules need to know about one equipment of a site."""

    site: str
    id: str
    type: str
    building: str
    params: Mapping[str, float] = field(default_factory=dict)
    rated: Mapping[str, float] = field(default_factory=dict)

    @classmethod
    def from_spec(cls, site: str, spec: EquipmentSpec) -> Equipment:
        """From a site-file entry."""
        return cls(site, spec.id, spec.type, spec.building, dict(spec.params), dict(spec.rated))


def equipment_of(sites: Iterable[SiteSpec]) -> list[Equipment]:
    """Every equipment of the given site files."""
    return [Equipment.from_spec(s.site, eq) for s in sites for eq in s.equipment]


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

    @property
    def key(self) -> AlarmKey:
        """(site, equipment, rule id)."""
        return (self.equipment.site, self.equipment.id, self.rule.id)


class ConditionLogic(Protocol):
    """The raw (undebounced) condition of one rule on one equipment."""

    def raw(self, value: float, ts_ms: int, active: bool) -> bool | None:
        """True/False for the condition now, None when the reading says nothing."""
        ...


_OPS: dict[str, Callable[[float, float], bool]] = {
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
}


@dataclass(frozen=True, slots=True)
class ThresholdLogic:
    """`value op limit`; once active, the limit moves back by the deadband (hysteresis)."""

    op: str
    limit: float
    deadband: float

    def raw(self, value: float, ts_ms: int, active: bool) -> bool:
        if not active:
            return _OPS[self.op](value, self.limit)
        upward = self.op in (">", ">=")
        release = self.limit - self.deadband if upward else self.limit + self.deadband
        return _OPS[self.op](value, release)


def _threshold(rule: Rule, limit: float) -> ConditionLogic:
    assert isinstance(rule, ThresholdRule)
    return ThresholdLogic(rule.op, limit, rule.deadband)


# Explicit registry: rule kind → logic factory. Issue 6 adds the other kinds here.
LOGICS: dict[str, Callable[[Rule, float], ConditionLogic]] = {"threshold": _threshold}


def _rule_limit(rule: Rule, eq: Equipment) -> float:
    return resolve_limit(rule.limit, eq.params, eq.rated, rule=rule.id, equipment=eq.id)


class RuleIndex:
    """Rules by (equipment type, point) and by (equipment type, suppression point)."""

    def __init__(self, rules: Sequence[Rule]) -> None:
        self.rules = list(rules)
        self._by_point: dict[tuple[str, str], list[Rule]] = {}
        self._by_type: dict[str, list[Rule]] = {}
        for rule in self.rules:
            self._by_type.setdefault(rule.equipment_type, []).append(rule)
            for point in rule.points():
                self._by_point.setdefault((rule.equipment_type, point), []).append(rule)

    def for_point(self, equipment_type: str, point: str) -> list[Rule]:
        """Rules whose condition reads this point."""
        return self._by_point.get((equipment_type, point), [])

    def for_type(self, equipment_type: str) -> list[Rule]:
        """Every rule of an equipment type."""
        return self._by_type.get(equipment_type, [])


@dataclass(slots=True)
class _Slot:
    equipment: Equipment
    rule: Rule
    logic: ConditionLogic
    limit: float
    active: bool = False
    suppressed: bool = False
    pending_since_ms: int | None = None
    last_ts_ms: int = -1


@dataclass(slots=True)
class EvaluatorCounters:
    """What the evaluator saw; exported in the service status."""

    readings: int = 0
    evaluated: int = 0
    unknown_equipment: int = 0
    bad_quality: int = 0
    out_of_order: int = 0
    changes: int = 0


class Evaluator:
    """Condition state of every (site, equipment, rule); feed it readings in source time."""

    def __init__(self, rules: Sequence[Rule], equipment: Iterable[Equipment]) -> None:
        self.index = RuleIndex(rules)
        self.counters = EvaluatorCounters()
        self.skipped: list[tuple[AlarmKey, str]] = []
        self._equipment: dict[tuple[str, str], Equipment] = {}
        self._slots: dict[AlarmKey, _Slot] = {}
        self._by_point: dict[tuple[str, str, str], list[_Slot]] = {}
        self._by_suppress: dict[tuple[str, str, str], list[_Slot]] = {}
        for eq in equipment:
            self._add_equipment(eq)

    def _add_equipment(self, eq: Equipment) -> None:
        self._equipment[(eq.site, eq.id)] = eq
        for rule in self.index.for_type(eq.type):
            key = (eq.site, eq.id, rule.id)
            try:
                limit = _rule_limit(rule, eq)
            except ParameterMissingError as err:
                logger.warning("%s: rule not applied to %s/%s", err, eq.site, eq.id)
                self.skipped.append((key, str(err)))
                continue
            slot = _Slot(eq, rule, LOGICS[rule.kind](rule, limit), limit)
            self._slots[key] = slot
            for point in rule.points():
                self._by_point.setdefault((eq.site, eq.id, point), []).append(slot)
            if rule.suppress_when is not None:
                self._by_suppress.setdefault((eq.site, eq.id, rule.suppress_when), []).append(slot)

    # -- queries ------------------------------------------------------------------------
    def knows(self, site: str, equipment: str) -> bool:
        """True when the equipment is in the site files."""
        return (site, equipment) in self._equipment

    def equipment(self, site: str, equipment: str) -> Equipment | None:
        """The equipment entry, or None."""
        return self._equipment.get((site, equipment))

    def limit(self, key: AlarmKey) -> float | None:
        """The resolved limit of a rule on an equipment, or None when it does not apply."""
        slot = self._slots.get(key)
        return None if slot is None else slot.limit

    def is_active(self, key: AlarmKey) -> bool | None:
        """The debounced condition, or None when the rule does not apply."""
        slot = self._slots.get(key)
        return None if slot is None else slot.active

    # -- state ----------------------------------------------------------------------------
    def restore(self, key: AlarmKey, *, active: bool, suppressed: bool) -> bool:
        """Set a slot's state from a stored alarm after a restart; False if the rule is gone."""
        slot = self._slots.get(key)
        if slot is None:
            return False
        slot.active = active
        slot.suppressed = suppressed
        slot.pending_since_ms = None
        return True

    def feed(self, site: str, reading: Reading) -> list[ConditionChange]:
        """Apply one reading at its source time; return the changes it caused."""
        self.counters.readings += 1
        if (site, reading.equipment) not in self._equipment:
            self.counters.unknown_equipment += 1
            return []
        if reading.quality is Quality.BAD:
            self.counters.bad_quality += 1
            return []
        value = float(reading.value)
        where = (site, reading.equipment, reading.point)
        changes: list[ConditionChange] = []
        for slot in self._by_suppress.get(where, ()):
            change = self._suppression(slot, value >= 0.5, reading.ts_ms)
            if change is not None:
                changes.append(change)
        for slot in self._by_point.get(where, ()):
            change = self._step(slot, value, reading.ts_ms)
            if change is not None:
                changes.append(change)
        self.counters.changes += len(changes)
        return changes

    def feed_batch(self, site: str, readings: Iterable[Reading]) -> list[ConditionChange]:
        """Feed readings in source-time order; at equal times suppression points go first."""

        def order(r: Reading) -> tuple[int, int]:
            return (r.ts_ms, 0 if (site, r.equipment, r.point) in self._by_suppress else 1)

        changes: list[ConditionChange] = []
        for reading in sorted(readings, key=order):
            changes.extend(self.feed(site, reading))
        return changes

    def _suppression(self, slot: _Slot, on: bool, ts_ms: int) -> ConditionChange | None:
        if on == slot.suppressed:
            return None
        slot.suppressed = on
        return self._change(slot, ChangeCause.SUPPRESSION, ts_ms, None)

    def _step(self, slot: _Slot, value: float, ts_ms: int) -> ConditionChange | None:
        if ts_ms < slot.last_ts_ms:
            self.counters.out_of_order += 1
            return None
        self.counters.evaluated += 1
        slot.last_ts_ms = ts_ms
        desired = slot.logic.raw(value, ts_ms, slot.active)
        if desired is None or desired == slot.active:
            slot.pending_since_ms = None
            return None
        if slot.pending_since_ms is None:
            slot.pending_since_ms = ts_ms
        delay_s = slot.rule.on_delay_s if desired else slot.rule.off_delay_s
        if ts_ms - slot.pending_since_ms < delay_s * 1000:
            return None
        slot.active = desired
        slot.pending_since_ms = None
        return self._change(slot, ChangeCause.CONDITION, ts_ms, value)

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
