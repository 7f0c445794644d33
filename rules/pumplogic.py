"""The specific-energy drift of a pump (pure, stateful per slot).

Electrical energy (from the motor current: `core.pumps.electrical_kw`) and the volume pumped
(from the flow) are summed per local day (the site's time zone); each day with at least
`min_volume_m3` pumped gives a specific energy in kWh/m³. The early baseline is the median
of the first `baseline_days` such days (or the register's `rated.specific_energy_kwh_m3`),
fixed once made; the condition is the median of the last `window_days` days above
``baseline x (1 + drift)``, judged when each day ends. A drift of a few per cent is seen
only over days, so the verdict holds until the next day is judged.

The early baseline, the days judged since and the day under way are the logic's `memory()`,
kept by the rules service in the alarm store (`rule_memory`) and recalled at start, so a
restart does not make the baseline again from days a worn impeller already spoils (review of
issue 20, F9). The register's `rated.specific_energy_kwh_m3`, when given, is the baseline.

The baseline belongs to the pump since its last overhaul (else its install), as the pump
page's kept baseline does (`maintenance.pumpstore.kept_baselines`): the rules service gives
the logic the register's date (`renew`), and when it changes (an overhaul, a replaced pump)
the logic forgets its baseline and the days judged and learns again from the days from that
date on — a new, bigger pump is not a drift, wear of its new impeller is (third review of
issue 20, M3). The power is the motor current's estimate (`electrical_kw`), also where a
meter feeds the pump alone: the page says so (docs/architecture.md, "Pump efficiency").
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np

from bldgwatch.core.pumps import EnergyTally, electrical_kw
from bldgwatch.core.site import site_zone
from bldgwatch.rules.equipment import Equipment
from bldgwatch.rules.kinds import EnergyDriftRule
from bldgwatch.rules.rulebase import resolve_limit

BASELINE_PARAM = "specific_energy_kwh_m3"


@dataclass(slots=True)
class EnergyDriftLogic:
    """Daily specific energy against the pump's early baseline."""

    zone: ZoneInfo
    rated: dict[str, float]
    drift: float
    baseline_days: int
    min_volume_m3: float
    recent: deque[float]
    baseline: float | None = None
    early: list[float] = field(default_factory=list)
    tally: EnergyTally = field(default_factory=EnergyTally)
    day: date | None = None
    verdict: bool | None = None
    shown: float | None = None
    dirty: bool = False  # changed since its memory was last taken
    rated_baseline: bool = False  # the register gives the baseline
    since: date | None = None  # the pump's last overhaul, else install: days before it teach
    since_known: bool = False  # False until the register's date is given (`renew`)

    day_from_ms: int = 0  # the current local day as [from, to) in epoch ms: no date
    day_to_ms: int = 0  # arithmetic for the readings within it

    def raw(self, point: str, value: float, ts_ms: int, active: bool) -> bool | None:
        if not self.day_from_ms <= ts_ms < self.day_to_ms:
            day = _local_day(ts_ms, self.zone)
            if self.day is not None and day != self.day:
                self._judge()
            self.day = day
            self.day_from_ms, self.day_to_ms = _day_bounds(day, self.zone)
        if point == "motor_current_a":
            self.tally.add(ts_ms, power_kw=electrical_kw(value, self.rated))
        else:
            self.tally.add(ts_ms, flow_m3h=value)
        self.dirty = True
        return self.verdict

    def memory(self) -> dict[str, Any]:
        """The early days, the baseline, the recent days and the day under way, as JSON."""
        self.dirty = False
        t = self.tally
        return {
            "baseline": None if self.rated_baseline else self.baseline,
            "early": list(self.early),
            "recent": list(self.recent),
            "verdict": self.verdict,
            "shown": self.shown,
            "day": None if self.day is None else self.day.isoformat(),
            "tally": [t.kwh, t.m3, t.last_ms, t.power_kw, t.flow_m3h],
            **(
                {"since": None if self.since is None else self.since.isoformat()}
                if self.since_known
                else {}
            ),
        }

    def renew(self, since: date | None) -> bool:
        """The pump's last overhaul (else install) date, from the register: the first date
        given is taken as it is; a different one (an overhaul, a replaced pump) makes the logic
        forget its baseline (unless the register gives it), its days and its verdict (a
        standing drift clears), and learn again from the days from `since` on. True when it
        forgot."""
        if self.since_known and since == self.since:
            return False
        known, self.since, self.since_known = self.since_known, since, True
        self.dirty = True
        if not known:
            return False
        if not self.rated_baseline:
            self.baseline = None
        self.early.clear()
        self.recent.clear()
        self.shown = None
        self.verdict = None if self.verdict is None else False
        self.tally.reset()
        return True

    def recall(self, memory: Mapping[str, Any]) -> None:
        """Continue from a `memory()` (after a restart); a rated baseline stays."""
        if not self.rated_baseline and memory.get("baseline") is not None:
            self.baseline = float(memory["baseline"])
        self.early = [float(v) for v in memory.get("early", [])]
        self.recent.clear()
        self.recent.extend(float(v) for v in memory.get("recent", []))
        self.verdict = memory.get("verdict")
        self.shown = memory.get("shown")
        if "since" in memory:  # (a memory kept before the baseline followed overhauls has none)
            since = memory["since"]
            self.since = None if since is None else date.fromisoformat(since)
            self.since_known = True
        day = memory.get("day")
        self.day = None if day is None else date.fromisoformat(day)
        tally = memory.get("tally")
        if isinstance(tally, list) and len(tally) == 5:
            kwh, m3, last_ms, power_kw, flow_m3h = tally
            self.tally = EnergyTally(
                self.tally.max_gap_s,
                float(kwh),
                float(m3),
                None if last_ms is None else int(last_ms),
                float(power_kw),
                float(flow_m3h),
            )

    def _judge(self) -> None:
        self.dirty = True
        specific = self.tally.specific(self.min_volume_m3)
        self.tally.reset()
        if specific is None or (
            self.since is not None and self.day is not None and self.day < self.since
        ):
            return  # (a day before the overhaul belongs to the pump before it)
        if self.baseline is None:
            self.early.append(specific)
            if len(self.early) >= self.baseline_days:
                self.baseline = float(np.median(self.early))
            return
        self.recent.append(specific)
        if len(self.recent) < (self.recent.maxlen or 1):
            return
        self.shown = float(np.median(list(self.recent)))
        self.verdict = self.shown > self.baseline * (1.0 + self.drift)


def _local_day(ts_ms: int, zone: ZoneInfo) -> date:
    return datetime.fromtimestamp(ts_ms / 1000, UTC).astimezone(zone).date()


def _day_bounds(day: date, zone: ZoneInfo) -> tuple[int, int]:
    """[from, to) in epoch ms of a local day; an empty range (every reading works its day
    out) when the zone's midnights do not give the day exactly (a transition at midnight)."""
    start = datetime.combine(day, time.min, tzinfo=zone)
    end = datetime.combine(day + timedelta(days=1), time.min, tzinfo=zone)
    lo, hi = round(start.timestamp() * 1000), round(end.timestamp() * 1000)
    if _local_day(lo, zone) != day or _local_day(hi - 1, zone) != day:
        return 0, 0  # (days only grow with time: everything between is `day` too)
    return lo, hi


def energy_drift_logic(rule: object, eq: Equipment) -> tuple[EnergyDriftLogic, float]:
    """The logic of an `energy_drift` rule on one pump."""
    assert isinstance(rule, EnergyDriftRule)
    drift = resolve_limit(
        rule.drift, eq.params, eq.rated, rule=rule.id, equipment=eq.id, machine_class=None
    )
    logic = EnergyDriftLogic(
        site_zone(eq.timezone),
        dict(eq.rated),
        drift,
        rule.baseline_days,
        rule.min_volume_m3,
        deque(maxlen=rule.window_days),
        baseline=eq.rated.get(BASELINE_PARAM),
        rated_baseline=BASELINE_PARAM in eq.rated,
    )
    return logic, drift
