"""`bldgwatch simulate`: a config file, or a scenario served or run offline."""

from __future__ import annotations

import functools
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path

from bldgwatch.core.errors import ConfigError
from bldgwatch.core.runner import EXIT_CONFIG, install_stop_signals, run_component
from bldgwatch.simulators.config import SimulatorConfig


def _run_config(cfg: SimulatorConfig, stop: threading.Event, *, ground_truth: Path | None) -> None:
    from bldgwatch.simulators.service import run

    if ground_truth is not None:
        cfg = cfg.model_copy(update={"ground_truth": ground_truth})
    run(cfg, stop)


def simulate_command(
    *,
    config: Path | None,
    scenario: Path | None,
    ground_truth: Path | None,
    history: Path | None,
    offline: bool,
) -> int:
    """Run the simulator; the process exit code (2 on a bad file or bad options)."""
    if (config is None) == (scenario is None):
        print("error: give exactly one of --config and --scenario", file=sys.stderr)  # noqa: T201
        return EXIT_CONFIG
    if config is not None:
        if history is not None or offline:
            print("error: --history and --offline need --scenario", file=sys.stderr)  # noqa: T201
            return EXIT_CONFIG
        run = functools.partial(_run_config, ground_truth=ground_truth)
        return run_component(config, SimulatorConfig, run)
    assert scenario is not None
    return _scenario(scenario, ground_truth=ground_truth, history=history, offline=offline)


def _scenario(path: Path, *, ground_truth: Path | None, history: Path | None, offline: bool) -> int:
    from bldgwatch.simulators.fleet import run_scenario
    from bldgwatch.simulators.offline import run_offline
    from bldgwatch.simulators.scenario import load_scenario

    try:
        scn = load_scenario(path)
        if offline or scn.mode == "offline":
            run_offline(scn, now=datetime.now(UTC), ground_truth=ground_truth, history=history)
            return 0
        stop = threading.Event()
        install_stop_signals(stop)
        run_scenario(scn, stop, ground_truth=ground_truth, history=history)
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)  # noqa: T201 - the CLI's own message
        return EXIT_CONFIG
    return 0
