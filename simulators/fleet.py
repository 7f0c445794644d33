"""Serving a scenario: one SimulatorService per site, all in one process and event loop."""

from __future__ import annotations

import asyncio
import logging
import threading
from datetime import datetime, timedelta
from pathlib import Path

from bldgwatch.core.clock import Clock, SystemClock
from bldgwatch.simulators.life import EquipmentLife
from bldgwatch.simulators.offline import history_rows, write_history
from bldgwatch.simulators.scenario import Scenario, lives, site_configs
from bldgwatch.simulators.service import SimulatorService

logger = logging.getLogger(__name__)


class StageLookup:
    """The true-stage hook a Simulation stamps on each episode: `(equipment, at) -> stage`."""

    def __init__(self, life: dict[str, EquipmentLife]) -> None:
        self.life = life

    def __call__(self, equipment: str, at: datetime) -> str | None:
        one = self.life.get(equipment)
        return None if one is None else one.true_stage(at).value


def build_fleet(
    scn: Scenario,
    *,
    ground_truth: Path | None,
    history: Path | None,
    base_clock: Clock | None = None,
) -> list[SimulatorService]:
    """The services of every site, sharing a start time and the drawn lives."""
    start = scn.start or (base_clock or SystemClock()).now()
    until = start + timedelta(days=scn.life_days)
    life = lives(scn, until)
    if history is not None:
        write_history(history, history_rows(life.values(), until))
    stage_of = StageLookup(life)
    return [
        SimulatorService(cfg, base_clock=base_clock, start=start, stage_of=stage_of)
        for cfg in site_configs(scn, start, life, ground_truth)
    ]


async def serve_fleet(services: list[SimulatorService], stop: threading.Event) -> None:
    """Run every site's service until `stop` is set."""
    devices = sum(len(svc.cfg.devices) for svc in services)
    servers = sum(len(svc.servers) for svc in services)
    logger.info("fleet: %d sites, %d devices on %d servers", len(services), devices, servers)
    await asyncio.gather(*(svc.run(stop) for svc in services))


def run_scenario(
    scn: Scenario, stop: threading.Event, *, ground_truth: Path | None, history: Path | None
) -> None:
    """Serve a scenario until `stop` is set (blocking)."""
    services = build_fleet(scn, ground_truth=ground_truth, history=history)
    asyncio.run(serve_fleet(services, stop))
