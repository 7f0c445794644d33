"""Running a long-lived component: config at start, signals, a stop event, an exit code."""

from __future__ import annotations

import gc
import logging
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any, TypeVar

from pydantic import BaseModel

from bldgwatch.core.config import load_yaml, parse_config
from bldgwatch.core.errors import ConfigError, StartError
from bldgwatch.core.sdnotify import HEARTBEAT

logger = logging.getLogger(__name__)

C = TypeVar("C", bound=BaseModel)

EXIT_CONFIG = 2
EXIT_UNAVAILABLE = 1

GC_YOUNG = 20_000
"""Allocations (net) between two collections of the youngest generation (Python's: 700)."""


def settle_heap() -> None:
    """Once start-up is done: keep the collector off what lives as long as the process.

    Everything built at start (modules, config, models, rules, equipment state: a few hundred
    thousand objects) is frozen out of the collector's sight, so a full collection no longer
    walks it (one took ~300 ms on this machine: a stall of every live stream, or of every
    reading behind it); garbage is collected first so none of it is frozen. And the youngest
    generation is collected every GC_YOUNG allocations, not 700: a burst of work (an alarm
    fanned out to thousands of streams, a batch of readings) has that many objects in
    flight, which each collection promoted to be walked again by the next full one.
    Measured in docs/benchmarks.md (console fan-out; rules latency at 20,000 readings/s).
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(GC_YOUNG, *gc.get_threshold()[1:])


def install_stop_signals(stop: threading.Event) -> None:
    """SIGINT and SIGTERM set `stop`; the component flushes and closes, then returns."""

    def handler(signum: int, _frame: FrameType | None) -> None:
        logger.info("received %s, stopping", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)


def run_component(
    config_path: Path,
    model: type[C],
    run: Callable[[C, threading.Event], None],
    *,
    overrides: dict[str, Any] | None = None,
    check: Callable[[C], None] | None = None,
    prepare: Callable[[C], None] | None = None,
) -> int:
    """Validate the config (a bad one stops here, naming the field), then run until signalled.

    Before anything is touched, `check` reads what the config names (site files, rule files,
    secrets) and raises ConfigError for what is wrong; then `prepare` runs (the composition
    root migrates the database there); then the component. Exit codes: 0 after a clean stop,
    2 for a bad config (a supervisor must not restart it: `RestartPreventExitStatus=2`), 1
    when something it needs at start cannot be reached (a restart may help).
    """
    try:
        data = load_yaml(config_path)
        if overrides and isinstance(data, dict):
            data = {**data, **overrides}  # command-line options win over the file
        cfg = parse_config(data, model, source=str(config_path))
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)  # noqa: T201 - the CLI's own message
        return EXIT_CONFIG
    stop = threading.Event()
    install_stop_signals(stop)
    watchdog_stop = threading.Event()
    try:
        if check is not None:
            check(cfg)
        if prepare is not None:
            prepare(cfg)
        HEARTBEAT.watch(watchdog_stop)  # pings while the component's loop beats
        run(cfg, stop)
    except ConfigError as err:
        # Files the config names (site files, rule packs, profiles) are checked at start too.
        print(f"error: {err}", file=sys.stderr)  # noqa: T201 - the CLI's own message
        return EXIT_CONFIG
    except StartError as err:
        print(f"error: {err}", file=sys.stderr)  # noqa: T201 - the CLI's own message
        return EXIT_UNAVAILABLE
    finally:
        watchdog_stop.set()
        HEARTBEAT.stopping()
    return 0
