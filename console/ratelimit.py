"""Login limits that slow attackers without locking the real user out.

Three counts of failed logins over a sliding window, each bounded in memory:
- per user name and client address: after `attempts` failures, each further try from that
  address waits 1 s, 2 s, 4 s, … (at most `max_delay`) after the last failure;
- per client address, whatever the names: after `address_attempts` failures the address waits
  until the oldest leaves the window (password spraying across accounts);
- per user name, all addresses: after `account_attempts` failures, tries from addresses the
  user has not logged in from recently wait progressively too (a botnet or rotating proxies).
  Addresses the user logged in from stay exempt, so the real user gets in with the right
  password while an attacker elsewhere keeps failing.
A try is counted when it starts (`begin`), so a burst of parallel tries cannot slip through
before the first failure is recorded; a success forgets its name-and-address count.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict, deque
from dataclasses import dataclass
from datetime import datetime, timedelta

from bldgwatch.core.clock import Clock
from bldgwatch.core.i18n import Message

MAX_KEYS = 50_000
"""Counts kept per kind; the least recently touched go first (attackers choose the keys)."""
KNOWN_ADDRESSES = 16
KNOWN_FOR = timedelta(days=30)


@dataclass(frozen=True, slots=True)
class Refusal:
    """A try that must wait: why, how long, and whether it is the first refusal of its kind
    since the count last allowed a try (the audit log records that one, not every retry)."""

    message: Message
    retry_after_s: int
    scope: str
    first: bool


class _Counts:
    """Failure times per key (bounded LRU), and when each key was first refused."""

    def __init__(self, window: float, keep: int) -> None:
        self.window = window
        self.keep = keep
        self.times: OrderedDict[object, deque[float]] = OrderedDict()
        self.refused: set[object] = set()

    def recent(self, key: object, now: float) -> deque[float]:
        times = self.times.get(key)
        if times is None:
            return deque()
        while times and times[0] <= now - self.window:
            times.popleft()
        if not times:
            del self.times[key]
            self.refused.discard(key)
        return times

    def add(self, key: object, now: float) -> None:
        times = self.recent(key, now)
        times.append(now)
        while len(times) > self.keep:
            times.popleft()
        self.times[key] = times
        self.times.move_to_end(key)
        while len(self.times) > MAX_KEYS:
            old, _ = self.times.popitem(last=False)
            self.refused.discard(old)

    def forget(self, key: object) -> None:
        self.times.pop(key, None)
        self.refused.discard(key)

    def first_refusal(self, key: object) -> bool:
        if key in self.refused:
            return False
        self.refused.add(key)
        return True


def _progressive(failures: int, free: int, last: float, now: float, cap: float) -> int | None:
    """Seconds to wait after `failures` (the first `free` cost nothing), or None."""
    if failures < free:
        return None
    delay = min(cap, 2.0 ** (failures - free))
    wait = last + delay - now
    return math.ceil(wait) if wait > 0 else None


class LoginLimiter:
    """Counts failed logins per name and address, per address, and per name."""

    def __init__(
        self,
        clock: Clock,
        *,
        attempts: int = 5,
        window: timedelta,
        max_delay: timedelta = timedelta(seconds=60),
        address_attempts: int = 30,
        account_attempts: int = 20,
    ) -> None:
        self._clock = clock
        self._attempts = attempts
        self._address_attempts = address_attempts
        self._account_attempts = account_attempts
        self._max_delay = max_delay.total_seconds()
        w = window.total_seconds()
        self._pair = _Counts(w, attempts + 32)
        self._address = _Counts(w, address_attempts)
        self._account = _Counts(w, account_attempts + 32)
        self._known: OrderedDict[str, dict[str, float]] = OrderedDict()
        self.recalled = False
        """Whether the addresses of stored sessions were remembered (the login route does it
        once per process, before its first login)."""
        self._lock = threading.Lock()

    def begin(self, name: str, address: str) -> Refusal | None:
        """Check a new try; when allowed, count it as failed until `succeeded` says otherwise."""
        user = name.lower()
        now = self._clock.now().timestamp()
        with self._lock:
            refusal = self._refusal(user, name, address, now)
            if refusal is None:
                self._pair.add((user, address), now)
                self._address.add(address, now)
                self._account.add(user, now)
            return refusal

    def _refusal(self, user: str, name: str, address: str, now: float) -> Refusal | None:
        by_address = self._address.recent(address, now)
        if len(by_address) >= self._address_attempts:
            wait = max(1, math.ceil(by_address[0] + self._address.window - now))
            message = Message("ratelimit.from_address", {"address": address, "wait": str(wait)})
            return Refusal(message, wait, "address", self._address.first_refusal(address))
        pair = self._pair.recent((user, address), now)
        wait_pair = None
        if pair:
            wait_pair = _progressive(len(pair), self._attempts, pair[-1], now, self._max_delay)
        account = self._account.recent(user, now)
        wait_account = None
        if account and not self._is_known(user, address, now):
            wait_account = _progressive(
                len(account), self._account_attempts, account[-1], now, self._max_delay
            )
        wait = max(wait_pair or 0, wait_account or 0)
        if not wait:
            return None
        scope = "account" if (wait_account or 0) >= (wait_pair or 0) else "name_address"
        key: object = user if scope == "account" else (user, address)
        counts = self._account if scope == "account" else self._pair
        message = Message("ratelimit.for_name", {"name": name, "wait": str(wait)})
        return Refusal(message, wait, scope, counts.first_refusal(key))

    def remember(self, name: str, address: str, at: datetime) -> None:
        """Count `address` as one the user logged in from at `at` (e.g. a stored session:
        after a restart the real user's addresses stay exempt). Sets `recalled`."""
        with self._lock:
            self._note_known(name.lower(), address, at.timestamp())
            self.recalled = True

    def is_known(self, name: str, address: str) -> bool:
        """Whether the user logged in from `address` recently (in this process)."""
        with self._lock:
            return self._is_known(name.lower(), address, self._clock.now().timestamp())

    def _is_known(self, user: str, address: str, now: float) -> bool:
        seen = self._known.get(user, {}).get(address)
        return seen is not None and seen > now - KNOWN_FOR.total_seconds()

    def succeeded(self, name: str, address: str) -> None:
        """The try was right: forget its failures and remember the address for this user."""
        user = name.lower()
        now = self._clock.now().timestamp()
        with self._lock:
            self._pair.forget((user, address))
            for times in (self._address.recent(address, now), self._account.recent(user, now)):
                if times:
                    times.pop()  # this try was counted as a failure when it began
            self._note_known(user, address, now)

    def _note_known(self, user: str, address: str, at: float) -> None:
        known = self._known.setdefault(user, {})
        known[address] = max(at, known.get(address, at))
        while len(known) > KNOWN_ADDRESSES:
            known.pop(min(known, key=known.__getitem__))
        self._known.move_to_end(user)
        while len(self._known) > MAX_KEYS:
            self._known.popitem(last=False)

    def abandon(self, name: str, address: str) -> None:
        """The try begun was not made after all (e.g. the console was busy): uncount it."""
        user = name.lower()
        now = self._clock.now().timestamp()
        with self._lock:
            for times in (
                self._pair.recent((user, address), now),
                self._address.recent(address, now),
                self._account.recent(user, now),
            ):
                if times:
                    times.pop()
