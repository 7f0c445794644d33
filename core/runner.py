"""Running a long-lived component: config at start, signals, a stop event, an exit code."""

from __future__ import annotations

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
