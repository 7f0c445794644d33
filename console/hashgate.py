"""Password hashing with a bound: at most `concurrency` argon2id computations at once, at most
`queue` more waiting, and the rest refused at once (503 with Retry-After).

argon2id as configured takes 64 MiB and tens of milliseconds of CPU per hash, so an unbounded
burst of logins (names that do not even exist cost the same: a dummy hash is verified) would
exhaust memory and starve every other request. Hashes run on a small thread pool of their own;
waiting logins hold no thread, only their place in the pool's queue.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

from bldgwatch.console.errors import BusyError
from bldgwatch.console.security import hash_password, verify_password
from bldgwatch.core.i18n import Message

T = TypeVar("T")

RETRY_AFTER_S = 1


class HashGate:
    """Runs argon2id work with bounded concurrency and a bounded queue."""

    def __init__(self, *, concurrency: int, queue: int) -> None:
        self.concurrency = concurrency
        self.queue = queue
        self.reserved = concurrency
        """Places beyond `concurrency + queue` only a known login may take (see `admitted`)."""
        self._pool: ThreadPoolExecutor | None = None
        self._admitted = 0
        self._peak = 0
        self._lock = threading.Lock()

    @property
    def peak(self) -> int:
        """Most hashes admitted (running or waiting) at once since start."""
        return self._peak

    @contextlib.contextmanager
    def admitted(self, *, known: bool = False) -> Iterator[None]:
        """Hold a place (running or waiting) for the hashing done inside; BusyError at once
        when every place is taken, so excess logins cost no thread and no database read.

        A `known` login (a user from an address it logged in from) may also take one of the
        `reserved` places, so attackers filling the gate do not keep the real user out; at
        most `concurrency` hashes still run at once."""
        places = self.concurrency + self.queue + (self.reserved if known else 0)
        with self._lock:
            if self._admitted >= places:
                waiting = self._admitted - self.concurrency
                raise BusyError(
                    Message(
                        "auth.busy",
                        {"running": self.concurrency, "waiting": waiting, "retry": RETRY_AFTER_S},
                    ),
                    retry_after_s=RETRY_AFTER_S,
                )
            self._admitted += 1
            self._peak = max(self._peak, self._admitted)
        try:
            yield
        finally:
            with self._lock:
                self._admitted -= 1

    def _run(self, work: Callable[[], T]) -> Future[T]:
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self.concurrency, thread_name_prefix="argon2")
            pool = self._pool
        return pool.submit(work)

    async def verify_admitted(self, stored_hash: str, password: str) -> bool:
        """Whether `password` matches, inside `admitted()` (from the event loop)."""
        return await asyncio.wrap_future(self._run(lambda: verify_password(stored_hash, password)))

    async def verify(self, stored_hash: str, password: str) -> bool:
        """Whether `password` matches (from the event loop); BusyError when full."""
        with self.admitted():
            return await self.verify_admitted(stored_hash, password)

    def hash_blocking(self, password: str) -> str:
        """A new hash of `password` (from a worker thread); BusyError when full."""
        with self.admitted():
            return self._run(lambda: hash_password(password)).result()

    def verify_blocking(self, stored_hash: str, password: str) -> bool:
        """Whether `password` matches (from a worker thread); BusyError when full."""
        with self.admitted():
            return self._run(lambda: verify_password(stored_hash, password)).result()

    def close(self) -> None:
        """Finish running hashes and stop the pool's threads (a later hash starts new ones)."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
