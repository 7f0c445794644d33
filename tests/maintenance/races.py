"""Two desks at once: each is held right after a check it makes until the other has made
its own (or, where the first holds a lock, until the barrier gives up waiting), then both
go on; what each was told is collected."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from typing import Any

import pytest


def hold_after(monkeypatch: pytest.MonkeyPatch, module: object, name: str) -> None:
    """Replace `module.name` by the same function that, after it returns, waits (at most
    2 s) for the other desk to have called it too."""
    checked = getattr(module, name)
    together = threading.Barrier(2, timeout=2)

    def held(*args: Any, **kwargs: Any) -> Any:
        found = checked(*args, **kwargs)
        with contextlib.suppress(threading.BrokenBarrierError):  # the other waits on the lock
            together.wait()
        return found

    monkeypatch.setattr(module, name, held)


def together(*desks: Callable[[], str]) -> list[str]:
    """Run each desk in its own thread at once; what each answered (its return value, or
    its exception's class name), sorted."""
    answers: list[str] = []

    def once(desk: Callable[[], str]) -> None:
        try:
            answers.append(desk())
        except Exception as err:  # noqa: BLE001 - the refusal is the answer
            answers.append(type(err).__name__)

    threads = [threading.Thread(target=once, args=(desk,)) for desk in desks]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return sorted(answers)
