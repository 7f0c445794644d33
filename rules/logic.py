"""The raw (undebounced) condition of each rule kind on one equipment (pure, stateful per slot).

`LOGICS` maps a rule kind to a factory `(rule, equipment) -> (logic, limit)`; the evaluator
keeps one logic per (equipment, rule) and adds delays and suppression. A logic sees every
reading of the rule's points (`raw`) and answers True/False, or None when it cannot tell yet
(too few samples, a point not seen). `shown` is the value an alarm shows (None: the reading).
"""

from __future__ import annotations

import math
import operator
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Protocol, runtime_checkable

import numpy as np

from bldgwatch.rules import expr
from bldgwatch.rules.equipment import Equipment
from bldgwatch.rules.errors import ParameterMissingError
from bldgwatch.rules.kinds import (
    PER_SECONDS,
    CounterRule,
    ExpressionRule,
    RateOfChangeRule,
    StaleRule,
    StatisticalRule,
    ThresholdRule,
)
from bldgwatch.rules.pumplogic import energy_drift_logic
from bldgwatch.rules.rulebase import PARAMS_PREFIX, RATED_PREFIX, resolve_limit
from bldgwatch.rules.schema import Rule
from bldgwatch.rules.wastelogic import night_flow_logic, off_hours_logic


class ConditionLogic(Protocol):
    """The raw condition of one rule on one equipment."""

    @property
    def shown(self) -> float | None:
        """The value an alarm shows (None: the reading's value)."""
        ...

    def raw(self, point: str, value: float, ts_ms: int, active: bool) -> bool | None:
        """True/False for the condition now, None when the readings say nothing yet."""
        ...


@runtime_checkable
class LearningLogic(Protocol):
    """A logic that learns what is normal (leak and waste baselines, a pump's early specific
    energy); the rules service stores its memory so a restart continues from it."""

    dirty: bool

    def memory(self) -> dict[str, Any]:
        """What it learned, as JSON; clears `dirty`."""
        ...

    def recall(self, memory: Mapping[str, Any]) -> None:
        """Continue from a stored memory."""
        ...


_OPS: dict[str, Callable[[float, float], bool]] = {
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
}
_UPWARD = frozenset({">", ">="})


def compare(op: str, limit: float, deadband: float, x: float, active: bool) -> bool:
    """`x op limit`; once active the limit moves back by the deadband (hysteresis)."""
    if active:
        limit = limit - deadband if op in _UPWARD else limit + deadband
    return _OPS[op](x, limit)


# `value op limit` as `flipped(limit, value)`, so a limit can be bound first (partial).
_FLIPPED: dict[str, Callable[[float, float], bool]] = {
    ">": operator.lt,
    ">=": operator.le,
    "<": operator.gt,
    "<=": operator.ge,
}


@dataclass(slots=True)
class ThresholdLogic:
    """`value op limit` with hysteresis; both tests bound once (C calls per reading)."""

    op: str
    limit: float
    deadband: float
    shown: float | None = None
    _enter: Callable[[float], bool] = field(init=False, repr=False)
    _hold: Callable[[float], bool] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        _, limit, held = self.bounds()
        self._enter = partial(_FLIPPED[self.op], limit)
        self._hold = partial(_FLIPPED[self.op], held)

    def raw(self, point: str, value: float, ts_ms: int, active: bool) -> bool:
        return self._hold(value) if active else self._enter(value)

    def bounds(self) -> tuple[str, float, float]:
        """(op, the limit while inactive, the limit while active): the condition is
        `value op limit`, for a caller's hot loop."""
        held = self.limit - self.deadband if self.op in _UPWARD else self.limit + self.deadband
        return self.op, self.limit, held


@dataclass(slots=True)
class RateLogic:
    """Change per unit time between the oldest sample in the window and the newest."""

    op: str
    limit: float
    deadband: float
    window_ms: int
    min_span_ms: int
    per_s: float
    samples: deque[tuple[int, float]] = field(default_factory=deque)
    shown: float | None = None

    def raw(self, point: str, value: float, ts_ms: int, active: bool) -> bool | None:
        samples = self.samples
        samples.append((ts_ms, value))
        while samples[0][0] < ts_ms - self.window_ms:
            samples.popleft()
        t0, v0 = samples[0]
        span = ts_ms - t0
        if span < self.min_span_ms:
            return None
        self.shown = (value - v0) / (span / 1000.0) * self.per_s
        return compare(self.op, self.limit, self.deadband, self.shown, active)


@dataclass(slots=True)
class StaleLogic:
    """Any reading is fresh data; the evaluator's clock tick raises it."""

    stale_after_ms: int
    seen: bool = False  # a reading arrived since the last tick
    shown: float | None = None

    def raw(self, point: str, value: float, ts_ms: int, active: bool) -> bool:
        self.seen = True
        return False


@dataclass(slots=True)
class ExpressionLogic:
    """A bound expression over the latest value of each of its points."""

    expression: expr.Expression
    fn: expr.Fn
    needed: int
    env: dict[str, float] = field(default_factory=dict)
    last: bool | None = None
    shown: float | None = None

    def raw(self, point: str, value: float, ts_ms: int, active: bool) -> bool | None:
        env = self.env
        if env.get(point) == value and self.last is not None:
            return self.last  # nothing it reads has changed (most readings repeat)
        env[point] = value
        if len(env) < self.needed:
            return None
        try:  # Expression.evaluate, without its call
            result: float | None = self.fn(env)
        except (ZeroDivisionError, KeyError):
            result = None
        self.last = None if result is None else bool(result)
        return self.last


_RESUM_EVERY = 10_000
_CANCEL_RATIO = 1e6
"""A sample leaving the window whose square exceeds this many times the remaining mean
square took most of the sums' precision with it: they are recomputed from the window."""


@dataclass(slots=True)
class RollingStats:
    """Mean, population σ and least-squares slope of (t, y) samples in a sliding window.

    Sums are kept incrementally (O(1) per sample) with t relative to an origin; every
    `_RESUM_EVERY` updates they are recomputed exactly with numpy to bound rounding drift,
    and at once when a sample that dwarfed the rest leaves the window (subtracting it would
    leave cancellation noise, or NaN after an overflow, in place of the sums).
    """

    window_ms: int
    samples: deque[tuple[float, float]] = field(default_factory=deque)
    origin_ms: int | None = None
    sx: float = 0.0
    sy: float = 0.0
    sxx: float = 0.0
    sxy: float = 0.0
    syy: float = 0.0
    updates: int = 0

    def add(self, ts_ms: int, y: float) -> None:
        """Add a sample and drop those older than the window."""
        if self.origin_ms is None:
            self.origin_ms = ts_ms
        x = (ts_ms - self.origin_ms) / 1000.0
        self.samples.append((x, y))
        self._sum(x, y, 1.0)
        cutoff = x - self.window_ms / 1000.0
        cancelled = False
        while self.samples[0][0] < cutoff:
            ox, oy = self.samples.popleft()
            self._sum(ox, oy, -1.0)
            cancelled = cancelled or self._dwarfed(oy)
        self.updates += 1
        if cancelled or self.updates % _RESUM_EVERY == 0:
            self._resum()

    def _dwarfed(self, removed: float) -> bool:
        """Whether the sums lost their precision to `removed` (just subtracted)."""
        if not math.isfinite(self.syy):
            return True
        return removed * removed > _CANCEL_RATIO * max(self.syy, 0.0) / len(self.samples)

    def _sum(self, x: float, y: float, sign: float) -> None:
        self.sx += sign * x
        self.sy += sign * y
        self.sxx += sign * x * x
        self.sxy += sign * x * y
        self.syy += sign * y * y

    def _resum(self) -> None:
        data = np.asarray(self.samples, dtype=np.float64)
        x, y = data[:, 0], data[:, 1]
        self.sx, self.sy = float(x.sum()), float(y.sum())
        self.sxx, self.sxy, self.syy = float(x @ x), float(x @ y), float(y @ y)

    @property
    def n(self) -> int:
        """Samples in the window."""
        return len(self.samples)

    def mean(self) -> float:
        """Mean of the window."""
        return self.sy / len(self.samples)

    def stddev(self) -> float:
        """Population standard deviation of the window."""
        n = len(self.samples)
        return math.sqrt(max(0.0, self.syy / n - (self.sy / n) ** 2))

    def slope_per_s(self) -> float | None:
        """Least-squares slope in units per second; None when all samples share a time."""
        n = len(self.samples)
        den = n * self.sxx - self.sx * self.sx
        if den <= 1e-12 * max(1.0, n * self.sxx):
            return None
        return (n * self.sxy - self.sx * self.sy) / den


@dataclass(slots=True)
class StatisticalLogic:
    """A rolling statistic compared with a limit."""

    stat: str
    op: str
    limit: float
    deadband: float
    min_samples: int
    per_s: float
    stats: RollingStats
    shown: float | None = None

    def raw(self, point: str, value: float, ts_ms: int, active: bool) -> bool | None:
        stats = self.stats
        stats.add(ts_ms, value)
        if stats.n < self.min_samples:
            return None
        if self.stat == "mean":
            x: float | None = stats.mean()
        elif self.stat == "stddev":
            x = stats.stddev()
        else:
            slope = stats.slope_per_s()
            x = None if slope is None else slope * self.per_s
        if x is None:
            return None
        self.shown = x
        return compare(self.op, self.limit, self.deadband, x, active)


@dataclass(slots=True)
class CounterLogic:
    """Events within a window: increments of a counter, or a boolean's rising edges."""

    op: str
    limit: float
    deadband: float
    window_ms: int
    rising_edge: bool
    point: str
    when: expr.Fn | None = None
    env: dict[str, float] = field(default_factory=dict)
    samples: deque[tuple[int, float]] = field(default_factory=deque)
    previous: float | None = None
    shown: float | None = None

    def raw(self, point: str, value: float, ts_ms: int, active: bool) -> bool | None:
        if self.when is not None:
            self.env[point] = value
            if point != self.point:
                return None  # a condition point: counted at the next edge
        samples = self.samples
        if self.rising_edge:
            if self.previous is not None and self.previous < 0.5 <= value and self._counts():
                samples.append((ts_ms, 1.0))
            self.previous = value
            while samples and samples[0][0] <= ts_ms - self.window_ms:
                samples.popleft()
            count = float(len(samples))
        else:
            if samples and value < samples[-1][1]:
                samples.clear()  # the counter was reset (replaced controller, rollover)
            samples.append((ts_ms, value))
            # Keep one baseline sample at or before the window start.
            while len(samples) > 1 and samples[1][0] <= ts_ms - self.window_ms:
                samples.popleft()
            count = value - samples[0][1]
        self.shown = count
        return compare(self.op, self.limit, self.deadband, count, active)

    def _counts(self) -> bool:
        if self.when is None:
            return True
        try:
            return bool(self.when(self.env))
        except (KeyError, ZeroDivisionError):
            return False  # a condition point not seen yet


def window_ms(logic: ConditionLogic) -> int:
    """The window a logic's condition needs filled (0 for instantaneous kinds)."""
    if isinstance(logic, RateLogic | CounterLogic):
        return logic.window_ms
    if isinstance(logic, StatisticalLogic):
        return logic.stats.window_ms
    return 0


def _limit(rule: Rule, eq: Equipment) -> float:
    limit = rule.limit_of()
    assert limit is not None
    return resolve_limit(
        limit, eq.params, eq.rated, rule=rule.id, equipment=eq.id, machine_class=eq.machine_class
    )


LogicFactory = Callable[[Rule, Equipment], tuple[ConditionLogic, float | None]]


def _threshold(rule: Rule, eq: Equipment) -> tuple[ConditionLogic, float | None]:
    assert isinstance(rule, ThresholdRule)
    limit = _limit(rule, eq)
    return ThresholdLogic(rule.op, limit, rule.deadband), limit


def _rate(rule: Rule, eq: Equipment) -> tuple[ConditionLogic, float | None]:
    assert isinstance(rule, RateOfChangeRule)
    limit = _limit(rule, eq)
    span = rule.min_span_s if rule.min_span_s is not None else rule.window_s / 2
    window_ms, span_ms = int(rule.window_s * 1000), int(span * 1000)
    logic = RateLogic(rule.op, limit, rule.deadband, window_ms, span_ms, PER_SECONDS[rule.per])
    return logic, limit


def _stale(rule: Rule, eq: Equipment) -> tuple[ConditionLogic, float | None]:
    assert isinstance(rule, StaleRule)
    after_s = _limit(rule, eq)
    return StaleLogic(int(after_s * 1000)), after_s


def _expression(rule: Rule, eq: Equipment) -> tuple[ConditionLogic, float | None]:
    assert isinstance(rule, ExpressionRule)
    parsed = rule.parsed()
    fn = parsed.bind(_constants(rule, eq, rule.defaults))
    return ExpressionLogic(parsed, fn, len(parsed.points)), None


def _constants(
    rule: Rule, eq: Equipment, defaults: Mapping[str, float] | None = None
) -> Callable[[str, str], float]:
    """Resolve params.NAME / rated.NAME of an expression for one equipment."""

    def constant(scope: str, name: str) -> float:
        found = (eq.rated if scope == "rated" else eq.params).get(name)
        if found is None and scope == "params" and defaults is not None:
            found = defaults.get(name)
        if found is None:
            prefix = RATED_PREFIX if scope == "rated" else PARAMS_PREFIX
            raise ParameterMissingError(rule.id, eq.id, prefix + name)
        return found

    return constant


def _statistical(rule: Rule, eq: Equipment) -> tuple[ConditionLogic, float | None]:
    assert isinstance(rule, StatisticalRule)
    limit = _limit(rule, eq)
    stats = RollingStats(int(rule.window_s * 1000))
    per_s = PER_SECONDS[rule.per]
    logic = StatisticalLogic(
        rule.stat, rule.op, limit, rule.deadband, rule.min_samples, per_s, stats
    )
    return logic, limit


def _counter(rule: Rule, eq: Equipment) -> tuple[ConditionLogic, float | None]:
    assert isinstance(rule, CounterRule)
    limit = _limit(rule, eq)
    rising = rule.source == "rising_edge"
    when = None if rule.when is None else expr.parse(rule.when).bind(_constants(rule, eq))
    window_ms = int(rule.window_s * 1000)
    logic = CounterLogic(rule.op, limit, rule.deadband, window_ms, rising, rule.point, when)
    return logic, limit


# Explicit registry: rule kind → logic factory.
LOGICS: dict[str, LogicFactory] = {
    "threshold": _threshold,
    "rate_of_change": _rate,
    "stale": _stale,
    "expression": _expression,
    "statistical": _statistical,
    "counter": _counter,
    "night_flow": night_flow_logic,
    "off_hours": off_hours_logic,
    "energy_drift": energy_drift_logic,
}
