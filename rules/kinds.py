"""The rule kinds: one pydantic model each, joined in `rules.schema.Rule` by ``kind``.

Every kind's condition is debounced the same way (on-/off-delays, suppression by design) by
`rules.evaluator`; each kind's own logic lives in `rules.logic`.
"""

from __future__ import annotations

from typing import Literal, Self

from pydantic import Field, field_validator, model_validator

from bldgwatch.core.config import StrictModel
from bldgwatch.core.site import EQUIPMENT_TYPES
from bldgwatch.rules import expr
from bldgwatch.rules.rulebase import GATEWAY, Limit, Op, RuleBase, check_point

Per = Literal["s", "min", "h"]
PER_SECONDS: dict[str, float] = {"s": 1.0, "min": 60.0, "h": 3600.0}


class _Compared(StrictModel):
    """`something op limit`, released past the limit by `deadband` (hysteresis)."""

    op: Op = Field(description="'>', '>=', '<' or '<='.")
    limit: Limit = Field(description="A number or {param, default, factor, by_machine_class}.")
    deadband: float = Field(0.0, ge=0, description="Hysteresis in the compared quantity's unit.")


class ThresholdRule(RuleBase, _Compared):
    """`point op limit`, with hysteresis: it clears once past the limit by `deadband`."""

    kind: Literal["threshold"]
    point: str = Field(description="Point compared with the limit (booleans count as 0/1).")

    _point = field_validator("point")(check_point)

    def points(self) -> tuple[str, ...]:
        return (self.point,)

    def limit_of(self) -> Limit:
        return self.limit

    def value_point(self) -> tuple[str, str | None]:
        return self.point, None


class RateOfChangeRule(RuleBase, _Compared):
    """`(value now - value window_s ago) / elapsed op limit`, the rate in units per `per`."""

    kind: Literal["rate_of_change"]
    point: str = Field(description="Point whose rate of change is compared.")
    window_s: float = Field(gt=0, description="Rate measured over this much source time.")
    per: Per = Field("min", description="Rate unit: per s, min or h.")
    min_span_s: float | None = Field(
        None, gt=0, description="Least time the samples must span (default: half the window)."
    )

    _point = field_validator("point")(check_point)

    def points(self) -> tuple[str, ...]:
        return (self.point,)

    def limit_of(self) -> Limit:
        return self.limit

    def value_point(self) -> tuple[str, str | None]:
        return self.point, self.per


class StaleRule(RuleBase):
    """No reading of `point` for `stale_after_s` (checked by the clock tick, not by readings)."""

    kind: Literal["stale"]
    point: str = Field(description="Point that must keep reporting.")
    stale_after_s: Limit = Field(
        description="Silence longer than this (s) raises the alarm: a number or "
        "{param, default}; keep it above the gateway's report-by-exception max interval."
    )

    _point = field_validator("point")(check_point)

    def points(self) -> tuple[str, ...]:
        return (self.point,)

    def limit_of(self) -> Limit:
        return self.stale_after_s

    def shows_value(self) -> bool:
        return False


class ExpressionRule(RuleBase):
    """A boolean expression over points of one equipment, held for `on_delay_s`."""

    kind: Literal["expression"]
    expression: str = Field(
        description="e.g. `door_closed and not door_lock_ok`; see rules/expr.py for the language."
    )
    defaults: dict[str, float] = Field(
        default_factory=dict,
        description="Values for params.NAME the equipment lacks (rated.NAME has no default).",
    )

    @field_validator("expression")
    @classmethod
    def _check_expression(cls, value: str) -> str:
        parsed = expr.parse(value)  # ExpressionError is a ValueError: pydantic names the field
        for point in parsed.points:
            check_point(point)
        return value

    def parsed(self) -> expr.Expression:
        """The checked expression."""
        return expr.parse(self.expression)

    def shows_value(self) -> bool:
        return False

    def points(self) -> tuple[str, ...]:
        return self.parsed().points


Statistic = Literal["mean", "stddev", "slope"]


class StatisticalRule(RuleBase, _Compared):
    """A rolling statistic of a point over a window: mean, standard deviation or trend slope."""

    kind: Literal["statistical"]
    point: str = Field(description="Point the statistic is computed on.")
    stat: Statistic = Field(description="mean, stddev (population) or slope (least squares).")
    window_s: float = Field(gt=0, description="Samples of the last window_s seconds count.")
    per: Per = Field("h", description="Unit of a slope: per s, min or h.")
    min_samples: int = Field(5, ge=2, description="No answer with fewer samples in the window.")

    _point = field_validator("point")(check_point)

    def points(self) -> tuple[str, ...]:
        return (self.point,)

    def limit_of(self) -> Limit:
        return self.limit

    def value_point(self) -> tuple[str, str | None]:
        return self.point, self.per if self.stat == "slope" else None


class CounterRule(RuleBase, _Compared):
    """Events in a window (e.g. starts per hour): a counter's increments or rising edges."""

    kind: Literal["counter"]
    point: str = Field(description="A counter (e.g. start_count) or a boolean (e.g. running).")
    source: Literal["counter", "rising_edge"] = Field(
        "counter", description="counter: increments of a total; rising_edge: false→true."
    )
    window_s: float = Field(3600.0, gt=0, description="Events counted over this window.")
    when: str | None = Field(
        None,
        description="rising_edge only: count an edge only while this expression holds, "
        "e.g. `not occupied` (same language as expression rules).",
    )

    _point = field_validator("point")(check_point)

    @field_validator("when")
    @classmethod
    def _check_when(cls, value: str | None) -> str | None:
        if value is not None:
            for point in expr.parse(value).points:
                check_point(point)
        return value

    @model_validator(mode="after")
    def _check_direction(self) -> Self:
        if self.op in ("<", "<="):
            raise ValueError("counter rules count events: use op '>' or '>='")
        if self.when is not None and self.source != "rising_edge":
            raise ValueError("`when` goes with source rising_edge")
        return self

    def points(self) -> tuple[str, ...]:
        extra = () if self.when is None else expr.parse(self.when).points
        return tuple(dict.fromkeys((self.point, *extra)))

    def limit_of(self) -> Limit:
        return self.limit


class CommsLossRule(RuleBase):
    """Communication lost, judged on the clock (`rules.comms`), not from readings.

    scope `gateway` (equipment_type `gateway`): the gateway's status says offline (its
    last will) or neither a batch nor a status came for `silence_s`. scope `device`: the
    gateway says the device does not answer (`_available` false) while the gateway itself
    reports. Devices of a gateway that is lost raise nothing of their own (first cause).
    """

    kind: Literal["comms_loss"]
    scope: Literal["gateway", "device"] = Field(description="gateway or device.")
    silence_s: Limit | None = Field(
        None,
        description="gateway scope: silence longer than this (s) is a loss; a number or "
        "{param, default} resolved over the params of the equipment it reports (smallest). "
        "Keep it above the gateway's status period.",
    )

    @model_validator(mode="after")
    def _check_scope(self) -> Self:
        if self.scope == "gateway":
            if self.equipment_type != GATEWAY:
                raise ValueError("scope gateway goes with equipment_type gateway")
            if self.silence_s is None:
                raise ValueError("scope gateway needs silence_s")
        elif self.equipment_type not in EQUIPMENT_TYPES:
            raise ValueError("scope device goes with an equipment type")
        if self.suppress_when is not None:
            raise ValueError("communication loss cannot be suppressed by a point")
        return self

    def points(self) -> tuple[str, ...]:
        return ()

    def limit_of(self) -> Limit | None:
        return self.silence_s


class _Baselined(StrictModel):
    """A statistic of each quiet stretch (a night, an unoccupied hour) against a baseline
    learned from the equipment's own earlier stretches: it is abnormal above
    `factor` x baseline + `margin`."""

    point: str = Field(description="Point judged (a water meter's flow_m3h, a meter's power_kw).")
    margin: Limit = Field(
        description="Allowance above the scaled baseline, in the point's unit: a number or "
        "{param, default}."
    )
    factor: float = Field(1.5, ge=1, description="Multiplier of the learned baseline.")
    learn: int = Field(14, ge=1, le=1000, description="Stretches the baseline is learned from.")
    min_learned: int = Field(3, ge=1, description="No judgement before this many stretches.")
    consecutive: int = Field(
        1, ge=1, le=48, description="Abnormal stretches in a row before the condition holds."
    )
    counter: str | None = Field(
        None,
        description="A counter point (a pulse meter's volume_m3) the rate per hour is derived "
        "from — its rise over the whole stretch, per hour — for meters that give no `point` "
        "reading; a meter that gives `point` is judged on it alone.",
    )
    counter_span_s: float = Field(
        900.0,
        ge=60,
        le=3 * 3600,
        description="Shortest time a stretch's count must cover to be judged, s.",
    )

    _point = field_validator("point")(check_point)

    @field_validator("counter")
    @classmethod
    def _check_counter(cls, value: str | None) -> str | None:
        return None if value is None else check_point(value)

    @model_validator(mode="after")
    def _check_learning(self) -> Self:
        if self.min_learned > self.learn:
            raise ValueError("min_learned must not exceed learn")
        return self

    def points(self) -> tuple[str, ...]:
        return (self.point,) if self.counter is None else (self.point, self.counter)

    def limit_of(self) -> Limit:
        return self.margin

    def value_point(self) -> tuple[str, str | None]:
        return self.point, None


class NightFlowRule(_Baselined, RuleBase):
    """Night minimum flow (site time zone) against the meter's own learned nights (median):
    a leak keeps the minimum up. Judged when each night ends; holds until a normal night."""

    kind: Literal["night_flow"]
    night: str = Field(
        "02:00-04:00", description="Local window HH:MM-HH:MM of the night minimum (may span 0:00)."
    )

    @field_validator("night")
    @classmethod
    def _check_night(cls, value: str) -> str:
        night_window(value)
        return value


class OffHoursRule(_Baselined, RuleBase):
    """Mean use in each hour outside the building's occupancy schedule (site time zone)
    against the meter's base load (the 10th percentile of its learned unoccupied hours).
    Applies to equipment whose building or site has a schedule."""

    kind: Literal["off_hours"]


def night_window(text: str) -> tuple[int, int]:
    """'HH:MM-HH:MM' → (start, end) in minutes after local midnight; ValueError naming it."""
    try:
        a, b = text.split("-")
        start, end = (int(h) * 60 + int(m) for h, m in (x.strip().split(":") for x in (a, b)))
    except ValueError:
        raise ValueError(f"{text!r} is not a window like 02:00-04:00") from None
    if not (0 <= start < 1440 and 0 <= end < 1440) or start == end:
        raise ValueError(f"{text!r} is not a window like 02:00-04:00")
    return start, end


class EnergyDriftRule(RuleBase):
    """A pump's specific energy (kWh per m³ pumped, per local day of running) drifting above
    its own early baseline: the median of its first `baseline_days` days, or the register's
    `rated.specific_energy_kwh_m3` when given. Abnormal when the median of the last
    `window_days` days exceeds the baseline by more than `drift` (a share): a worn impeller
    or a fouled pump costs energy before it fails."""

    kind: Literal["energy_drift"]
    drift: Limit = Field(description="Allowed rise over the baseline, a share (0.15 = 15 %).")
    baseline_days: int = Field(7, ge=1, le=90, description="Days the early baseline is made of.")
    window_days: int = Field(7, ge=1, le=90, description="Recent days judged (their median).")
    min_volume_m3: float = Field(
        1.0, ge=0, description="A day with less water pumped than this is not counted."
    )

    def points(self) -> tuple[str, ...]:
        return ("motor_current_a", "flow_m3h")

    def limit_of(self) -> Limit:
        return self.drift
