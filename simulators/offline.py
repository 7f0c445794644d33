"""Offline life runs: a scenario's years of failures and renewals, without serving devices.

Writes the equipment history CSV (`asset_id,asset_class,event,at`, the format the
failure-stage scorer reads) and one ground-truth line per failure episode.
"""

from __future__ import annotations

import csv
import logging
import random
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from bldgwatch.simulators.equipment import Episode
from bldgwatch.simulators.ground_truth import GroundTruthWriter
from bldgwatch.simulators.life import EquipmentLife
from bldgwatch.simulators.scenario import Scenario, lives
from bldgwatch.simulators.wire import iso_utc

logger = logging.getLogger(__name__)

HISTORY_HEADER = ("asset_id", "asset_class", "event", "at")
GENERIC_FAILURE = "failure"  # the fault type of a failure whose class names no faults


def history_rows(life: Iterable[EquipmentLife], until: datetime) -> list[tuple[str, ...]]:
    """History lines up to `until`, by time then asset."""
    rows = [
        (one.equipment, one.asset_class, ev.event, ev.at)
        for one in life
        for ev in one.events
        if ev.at <= until
    ]
    rows.sort(key=lambda row: (row[3], row[0]))
    return [(a, c, e, iso_utc(at)) for a, c, e, at in rows]


def write_history(path: Path, rows: list[tuple[str, ...]]) -> int:
    """Write the history CSV with its header; the number of events."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(HISTORY_HEADER)
        writer.writerows(rows)
    return len(rows)


def failure_episodes(
    scn: Scenario, life: dict[str, EquipmentLife], since: datetime, until: datetime
) -> list[Episode]:
    """One episode per failure in [since, until): a fault of its class, lasting the repair."""
    episodes: list[Episode] = []
    for equipment, one in life.items():
        cls = scn.classes[one.asset_class]
        rng = random.Random(f"{scn.seed}/failure-fault/{equipment}")
        repair = timedelta(hours=cls.repair_hours)
        for ev in one.failures():
            fault = rng.choice(cls.failure_faults) if cls.failure_faults else GENERIC_FAILURE
            if since <= ev.at < until:
                stage = ev.stage.value if ev.stage is not None else None
                episodes.append(Episode(equipment, fault, ev.at, {}, ev.at + repair, stage))
    episodes.sort(key=lambda ep: (ep.start, ep.equipment))
    return episodes


@dataclass(frozen=True)
class OfflineSummary:
    """What an offline run produced."""

    equipment: int
    events: int
    failures: int


def run_offline(
    scn: Scenario, *, now: datetime, ground_truth: Path | None, history: Path | None
) -> OfflineSummary:
    """Run the life model from the first install to `history_until` (or the start / now)."""
    until = scn.history_until or scn.start or now
    life = lives(scn, until)
    rows = history_rows(life.values(), until)
    if history is not None:
        write_history(history, rows)
    first = min((one.installed for one in life.values()), default=until)
    episodes = failure_episodes(scn, life, first, until)
    if ground_truth is not None:
        ground_truth.unlink(missing_ok=True)  # an offline run's truth is the whole file
    GroundTruthWriter(ground_truth).write(episodes)
    summary = OfflineSummary(len(life), len(rows), len(episodes))
    logger.info(
        "offline %s: %d equipment, %d history events, %d failure episodes up to %s",
        scn.scenario,
        summary.equipment,
        summary.events,
        summary.failures,
        iso_utc(until),
    )
    return summary
