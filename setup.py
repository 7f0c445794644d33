"""Build hook: a wheel carries the console's built web application, or the build stops.

Everything else about the package is in pyproject.toml. `console/web/dist` is build output
(`make web`: npm packages from the registry, Vite), never committed; a wheel built without it
would install a console that cannot show its pages, so the build refuses unless told that
this wheel is meant for a gateway only (BLDGWATCH_WHEEL_WITHOUT_CONSOLE=1).
"""

from __future__ import annotations

import os
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

WEB_APP = Path(__file__).resolve().parent / "console" / "web" / "dist" / "index.html"


class BuildWithConsole(build_py):
    """`build_py` that checks the console's web application was built first."""

    def run(self) -> None:
        editable = getattr(self, "editable_mode", False)
        allowed = os.environ.get("BLDGWATCH_WHEEL_WITHOUT_CONSOLE") == "1"
        if not editable and not allowed and not WEB_APP.is_file():
            raise SystemExit(
                f"error: the console's web application is not built ({WEB_APP} is missing): "
                "run `make web` (or `make wheel`) first; for a gateway-only wheel set "
                "BLDGWATCH_WHEEL_WITHOUT_CONSOLE=1"
            )
        super().run()


setup(cmdclass={"build_py": BuildWithConsole})
