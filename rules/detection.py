"""Fault detection measured against ground truth (pure): recall, precision and detection latency
of the alarms.

Ground truth is the simulator's fault episodes (equipment, fault, start, end). An episode is
detected when an alarm with one of its fault's codes (`FAULT_CODES`) is raised on its
equipment between its start and its end plus `grace`; the latency is from the start. An
alarm raised outside every episode of its equipment (plus `grace`) is a false alarm. Faults
the signals cannot show (`stuck`: frozen values look like a quiet machine) are not scored.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np

# Simulator fault name → the fault codes that report it (the rule packs' `fault_code`s).
FAULT_CODES: Mapping[str, frozenset[str]] = {
    "entrapment": frozenset({"ELEV_ENTRAPMENT_AT_FLOOR", "ELEV_ENTRAPMENT_BETWEEN_FLOORS"}),
    "entrapment_at_floor": frozenset({"ELEV_ENTRAPMENT_AT_FLOOR"}),
    "entrapment_between_floors": frozenset({"ELEV_ENTRAPMENT_BETWEEN_FLOORS"}),
    "overrun_top": frozenset({"ELEV_OVERRUN_TOP"}),
    "overrun_bottom": frozenset({"ELEV_OVERRUN_BOTTOM"}),
    "overspeed": frozenset({"ELEV_OVERSPEED_1", "ELEV_OVERSPEED_2"}),
    "abnormal_speed": frozenset({"ELEV_ABNORMAL_SPEED"}),
    "door_open_while_running": frozenset({"ELEV_DOOR_OPEN_RUNNING"}),
    "moving_with_door_open": frozenset({"ELEV_UCMP"}),
    "stop_outside_door_zone": frozenset({"ELEV_STOP_OUTSIDE_ZONE"}),
    "door_open_failure": frozenset({"ELEV_DOOR_OPEN_FAIL"}),
    "door_close_failure": frozenset({"ELEV_DOOR_CLOSE_FAIL"}),
    "safety_circuit_open": frozenset({"ELEV_SAFETY_CIRCUIT_OPEN"}),
    "door_lock_open": frozenset({"ELEV_DOOR_LOCK_OPEN"}),
    "power_loss": frozenset({"ELEV_POWER_LOSS"}),
    "landing_button_stuck": frozenset({"ELEV_LANDING_BUTTON_STUCK"}),
    "floor_position_lost": frozenset({"ELEV_POSITION_LOST"}),
    "bearing_overheat": frozenset({"PUMP_BEARING_TEMP"}),
    "bearing_wear": frozenset({"PUMP_VIBRATION_ZONE_C", "PUMP_BEARING_TEMP"}),
    "dry_running": frozenset({"PUMP_DRY_RUNNING"}),
    "cavitation": frozenset({"PUMP_CAVITATION"}),
    "failure_to_start": frozenset({"PUMP_FAILURE_TO_START"}),
    "overload": frozenset({"PUMP_MOTOR_OVERLOAD", "SHAFT_OVERLOAD"}),
    "impeller_wear": frozenset({"PUMP_ENERGY_DRIFT"}),
    "leak": frozenset({"WATER_NIGHT_FLOW"}),
    "leakage_rising": frozenset({"SHAFT_RESIDUAL_CURRENT"}),
    "joint_overheat": frozenset({"SHAFT_JOINT_OVERTEMP", "SHAFT_JOINT_RISE"}),
    "phase_imbalance": frozenset({"SHAFT_PHASE_IMBALANCE"}),
    "silent": frozenset({"ELEV_NO_DATA", "PUMP_NO_DATA", "SHAFT_NO_DATA", "SENSOR_NO_DATA"}),
    "modbus_exception": frozenset(
        {"ELEV_NO_DATA", "PUMP_NO_DATA", "SHAFT_NO_DATA", "SENSOR_NO_DATA"}
    ),
}
UNSCORED = frozenset({"stuck"})
OVERSPEED_LEVELS = {1.2: "ELEV_OVERSPEED_1", 1.4: "ELEV_OVERSPEED_2"}


def expected_codes(fault: str, params: Mapping[str, Any]) -> frozenset[str]:
    """The codes that count as detecting this fault with these parameters."""
    if fault == "overspeed" and "level" in params:
        return frozenset({OVERSPEED_LEVELS[float(params["level"])]})
    if fault == "entrapment" and "at_floor" in params:
        at_floor = bool(params["at_floor"])
        return frozenset(
            {"ELEV_ENTRAPMENT_AT_FLOOR" if at_floor else "ELEV_ENTRAPMENT_BETWEEN_FLOORS"}
        )
    return FAULT_CODES.get(fault, frozenset())


@dataclass(frozen=True, slots=True)
class TruthEpisode:
    """One injected fault."""

    equipment: str
    fault: str
    start: datetime
    end: datetime | None
    params: Mapping[str, Any] = field(default_factory=dict)
    observable: datetime | None = None  # when the signals first showed it (None: at start)


@dataclass(frozen=True, slots=True)
class RaisedAlarm:
    """One alarm activation (a new alarm, or a re-activation)."""

    equipment: str
    fault_code: str
    at: datetime
    rule: str = ""


@dataclass(frozen=True, slots=True)
class Detection:
    """An episode and the first alarm that reported it (None: missed)."""

    episode: TruthEpisode
    alarm: RaisedAlarm | None

    @property
    def latency_s(self) -> float | None:
        """Seconds from the fault's start to its first alarm."""
        return None if self.alarm is None else (self.alarm.at - self.episode.start).total_seconds()

    @property
    def observed_latency_s(self) -> float | None:
        """Seconds from when the signals first showed the fault to its first alarm."""
        if self.alarm is None:
            return None
        since = self.episode.observable or self.episode.start
        return (self.alarm.at - since).total_seconds()


@dataclass(slots=True)
class Score:
    """Recall, precision and latencies of one run."""

    detections: list[Detection] = field(default_factory=list)
    false_alarms: list[RaisedAlarm] = field(default_factory=list)
    true_alarms: int = 0

    @property
    def recall(self) -> float:
        """Share of scored episodes detected with a right code."""
        if not self.detections:
            return 1.0
        return sum(d.alarm is not None for d in self.detections) / len(self.detections)

    @property
    def precision(self) -> float:
        """Share of alarms raised inside a fault episode of their equipment."""
        total = self.true_alarms + len(self.false_alarms)
        return 1.0 if total == 0 else self.true_alarms / total

    @property
    def missed(self) -> list[TruthEpisode]:
        """Episodes no right alarm reported."""
        return [d.episode for d in self.detections if d.alarm is None]

    def latency_percentiles(self, qs: Iterable[float] = (50, 95, 99)) -> dict[str, float]:
        """Latency percentiles in seconds (p50, p95, p99), nan without detections."""
        values = [d.latency_s for d in self.detections if d.latency_s is not None]
        if not values:
            return {f"p{q:g}": float("nan") for q in qs}
        return {f"p{q:g}": float(np.percentile(values, q)) for q in qs}


def _within(ep: TruthEpisode, at: datetime, grace: timedelta, until: datetime) -> bool:
    end = ep.end if ep.end is not None else until
    return ep.start <= at <= end + grace


def score(
    episodes: Iterable[TruthEpisode],
    alarms: Iterable[RaisedAlarm],
    *,
    until: datetime,
    grace: timedelta = timedelta(seconds=30),
) -> Score:
    """Match alarms to episodes (see the module docstring)."""
    eps = sorted(episodes, key=lambda e: e.start)
    raised = sorted(alarms, key=lambda a: a.at)
    result = Score()
    for ep in eps:
        if ep.fault in UNSCORED:
            continue
        codes = expected_codes(ep.fault, ep.params)
        first = next(
            (
                a
                for a in raised
                if a.equipment == ep.equipment
                and a.fault_code in codes
                and _within(ep, a.at, grace, until)
            ),
            None,
        )
        result.detections.append(Detection(ep, first))
    for alarm in raised:
        if any(
            ep.equipment == alarm.equipment and _within(ep, alarm.at, grace, until) for ep in eps
        ):
            result.true_alarms += 1
        else:
            result.false_alarms.append(alarm)
    return result
