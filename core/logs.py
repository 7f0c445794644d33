"""Logging setup for the CLI; libraries only ever call logging.getLogger(__name__)."""

from __future__ import annotations

import logging
import sys


def setup_logging(level: str = "INFO", *, component: str = "bldgwatch") -> None:
    """Log to stderr with the component name, so demo output stays readable."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        logging.Formatter(f"%(asctime)s %(levelname)-7s {component} %(name)s: %(message)s")
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("httpx", "httpcore", "uvicorn.access", "apscheduler", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    # pymodbus warns on every failed connect; our pollers log a device's first failure
    # themselves and the repeats at DEBUG.
    logging.getLogger("pymodbus").setLevel(logging.ERROR)
