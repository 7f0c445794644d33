"""Supervision of the demo's children: a component or server that dies is started again, with
exponential backoff, and the log says so; nothing else is torn down.

Like systemd's `Restart=on-failure` with `RestartSec` growing (deploy/systemd/): the first
restart comes after `initial_s`, each further one waits twice as long up to `max_s`, and a
child that ran `stable_s` without dying starts from `initial_s` again.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

logger = logging.getLogger(__name__)


class Child(Protocol):
    """Something the supervisor can watch and start again."""

    @property
    def name(self) -> str:
        """What the log calls it."""
        ...

    def exit_code(self) -> int | None:
        """None while it runs; its exit code once it has died."""
        ...

    def restart(self) -> None:
        """Start it again (raises when it cannot)."""
        ...


@dataclass
class Backoff:
    """Restart delays: initial, doubling, capped; reset after a stable run."""

    initial_s: float = 1.0
    max_s: float = 60.0
    stable_s: float = 60.0

    def delay(self, attempt: int) -> float:
        """Seconds to wait before restart number `attempt` (0-based)."""
        return min(self.max_s, self.initial_s * 2.0 ** min(attempt, 30))


@dataclass
class _Watch:
    child: Child
    started_at: float
    attempt: int = 0
    due: float | None = None  # when a restart is due (it is down until then)
    restarts: int = 0


@dataclass
class Supervisor:
    """Watches children; `check()` restarts the dead ones when their delay is over."""

    backoff: Backoff = field(default_factory=Backoff)
    clock: Callable[[], float] = time.monotonic
    _watches: list[_Watch] = field(default_factory=list)

    def watch(self, child: Child) -> None:
        """Supervise `child` (running now)."""
        self._watches.append(_Watch(child, self.clock()))

    @property
    def restarts(self) -> dict[str, int]:
        """How often each child was started again."""
        return {w.child.name: w.restarts for w in self._watches}

    def down(self) -> list[str]:
        """Children that are dead and waiting for their restart."""
        return [w.child.name for w in self._watches if w.due is not None]

    def check(self) -> None:
        """Note deaths, restart what is due (a failed restart is tried again later)."""
        now = self.clock()
        for watch in self._watches:
            if watch.due is None:
                self._note_death(watch, now)
            elif now >= watch.due:
                self._restart(watch, now)

    def _note_death(self, watch: _Watch, now: float) -> None:
        code = watch.child.exit_code()
        if code is None:
            return
        if now - watch.started_at >= self.backoff.stable_s:
            watch.attempt = 0
        delay = self.backoff.delay(watch.attempt)
        watch.due = now + delay
        logger.error(
            "%s exited with code %s; restarting it in %.0f s (restart %d)",
            watch.child.name,
            code,
            delay,
            watch.restarts + 1,
        )

    def _restart(self, watch: _Watch, now: float) -> None:
        watch.attempt += 1
        try:
            watch.child.restart()
        except (OSError, RuntimeError) as err:
            delay = self.backoff.delay(watch.attempt)
            watch.due = now + delay
            logger.error("%s did not start (%s); next try in %.0f s", watch.child.name, err, delay)
            return
        watch.due = None
        watch.started_at = now
        watch.restarts += 1
        logger.warning("%s restarted (restart %d)", watch.child.name, watch.restarts)
