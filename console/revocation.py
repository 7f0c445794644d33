"""The in-process signal that a session or API token was revoked: open `/api/live` streams
re-check their credentials at once instead of waiting for their timer."""

from __future__ import annotations

import asyncio
import threading


class RevocationSignal:
    """Wakes every watcher (an asyncio.Event on its loop) from any thread."""

    def __init__(self) -> None:
        self._watchers: dict[asyncio.Event, asyncio.AbstractEventLoop] = {}
        self._lock = threading.Lock()
        self.generation = 0
        """Revocations so far: an answer checked before the latest one is not reused."""

    def watch(self) -> asyncio.Event:
        """An event set on every later revocation (call on the event loop)."""
        event = asyncio.Event()
        with self._lock:
            self._watchers[event] = asyncio.get_running_loop()
        return event

    def unwatch(self, event: asyncio.Event) -> None:
        """Stop waking `event`."""
        with self._lock:
            self._watchers.pop(event, None)

    def notify(self) -> None:
        """Something was revoked: wake every watcher (any thread)."""
        with self._lock:
            self.generation += 1
            watchers = list(self._watchers.items())
        for event, loop in watchers:
            if not loop.is_closed():
                loop.call_soon_threadsafe(event.set)
