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
    for noisy in ("pymodbus", "httpx", "httpcore", "uvicorn.access", "apscheduler"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
