"""systemd's notify protocol in a few lines of stdlib: READY, WATCHDOG pings, STATUS.

systemd passes NOTIFY_SOCKET (a datagram socket path; a leading '@' is the abstract
namespace) and, with WatchdogSec=, WATCHDOG_USEC. Outside systemd every call is a no-op.

Every service (`Type=notify`, `WatchdogSec=` in deploy/systemd) says READY once it does its
work — for one on MQTT, once the broker acknowledged its subscriptions — and its work loop
`beat()`s each time it turns. The `Heartbeat`'s thread pings the watchdog only while those
beats are fresh: a loop that hangs (a deadlock, a call that never returns) stops the pings,
and systemd kills and restarts the service; a thread that pinged on its own would hide it.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Mapping

logger = logging.getLogger(__name__)


def _address(env: Mapping[str, str]) -> str | None:
    path = env.get("NOTIFY_SOCKET")
    if not path:
        return None
    return "\0" + path[1:] if path.startswith("@") else path


def notify(message: str, env: Mapping[str, str] | None = None) -> bool:
    """Send one notification (e.g. "READY=1"); False when not under systemd or it failed."""
    address = _address(os.environ if env is None else env)
    if address is None:
        return False
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            sock.setblocking(False)  # a reader that lags must never stall the service
            sock.connect(address)
            sock.send(message.encode())
    except OSError as err:  # BlockingIOError too: its queue is full, this one is dropped
        logger.warning("cannot notify systemd at %s: %s", address.lstrip("\0"), err)
        return False
    return True


def watchdog_period_s(env: Mapping[str, str] | None = None) -> float | None:
    """How often to ping the watchdog (half its timeout), or None when it is off."""
    env = os.environ if env is None else env
    usec = env.get("WATCHDOG_USEC")
    pid = env.get("WATCHDOG_PID")
    if not usec or not usec.isdigit() or int(usec) == 0:
        return None
    if pid and pid.isdigit() and int(pid) != os.getpid():
        return None  # meant for another process
    return int(usec) / 2_000_000


class Heartbeat:
    """READY once, and watchdog pings while the work loop beats (see the module's text)."""

    def __init__(
        self,
        env: Mapping[str, str] | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._env = env
        self._monotonic = monotonic
        self._last_beat = monotonic()
        self._ready = False
        self._silent = False
        self._lock = threading.Lock()

    def ready(self, status: str = "") -> None:
        """The service does its work now (sent once; later calls do nothing)."""
        with self._lock:
            if self._ready:
                return
            self._ready = True
        self.beat()
        notify("READY=1" + (f"\nSTATUS={status}" if status else ""), self._env)

    def beat(self) -> None:
        """The work loop turned (cheap: called on every turn)."""
        self._last_beat = self._monotonic()

    def ping(self, period: float) -> bool:
        """One watchdog ping if the service is ready and its loop beat within `period`;
        whether it was sent. (systemd watches from READY on; before, TimeoutStartSec= rules.)"""
        if not self._ready:
            return False
        if self._monotonic() - self._last_beat > period:
            if not self._silent:
                logger.warning("work loop silent for over %.0f s: watchdog not pinged", period)
            self._silent = True
            return False
        self._silent = False
        return notify("WATCHDOG=1", self._env)

    def watch(self, stop: threading.Event) -> threading.Thread | None:
        """Ping in a thread of its own until `stop` (None when systemd wants no pings)."""
        period = watchdog_period_s(self._env)
        if period is None:
            return None

        def loop() -> None:
            while not stop.wait(period / 2):
                self.ping(period)

        thread = threading.Thread(target=loop, name="sd-watchdog", daemon=True)
        thread.start()
        return thread

    def stopping(self) -> None:
        notify("STOPPING=1", self._env)


HEARTBEAT = Heartbeat()
"""The process's heartbeat: services call `HEARTBEAT.ready()` and `HEARTBEAT.beat()`;
`core.runner.run_component` runs its watchdog thread."""
