"""systemd's notify protocol in a few lines of stdlib: READY, WATCHDOG pings, STATUS.

systemd passes NOTIFY_SOCKET (a datagram socket path; a leading '@' is the abstract
namespace) and, with WatchdogSec=, WATCHDOG_USEC. Outside systemd every call is a no-op.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Mapping

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
            sock.connect(address)
            sock.sendall(message.encode())
    except OSError as err:
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
