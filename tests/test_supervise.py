"""The demo's supervisor (pure, driven by a clock): a child that dies is restarted after a
growing delay, a failed start is tried again, a stable run resets the delay."""

from __future__ import annotations

import logging

import pytest

from bldgwatch.supervise import Backoff, Supervisor


class FakeChild:
    """A child at the boundary: dies when told, restarts unless told it cannot."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.code: int | None = None
        self.starts = 0
        self.broken = False

    def exit_code(self) -> int | None:
        return self.code

    def restart(self) -> None:
        if self.broken:
            raise RuntimeError("address already in use")
        self.starts += 1
        self.code = None


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_dead_child_comes_back_after_a_growing_delay(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="bldgwatch.supervise")
    clock = Clock()
    sup = Supervisor(Backoff(initial_s=1, max_s=8, stable_s=60), clock)
    rules, ingest = FakeChild("rules"), FakeChild("ingest")
    sup.watch(rules)
    sup.watch(ingest)
    delays = []
    for _ in range(5):
        rules.code = 1
        sup.check()
        died = clock.now
        while rules.starts == len(delays):
            clock.now += 0.25
            sup.check()
        delays.append(clock.now - died)
    assert delays == [1, 2, 4, 8, 8]
    assert sup.restarts == {"rules": 5, "ingest": 0}
    assert ingest.starts == 0  # the others are left alone
    assert "rules exited with code 1; restarting it in 1 s (restart 1)" in caplog.text
    assert "rules restarted (restart 5)" in caplog.text


def test_a_failed_start_is_tried_again_and_a_stable_run_resets_the_delay() -> None:
    clock = Clock()
    sup = Supervisor(Backoff(initial_s=1, max_s=60, stable_s=60), clock)
    mosquitto = FakeChild("mosquitto")
    sup.watch(mosquitto)
    mosquitto.code, mosquitto.broken = -9, True
    sup.check()
    clock.now = 1.0
    sup.check()  # the start fails: next try after 2 s
    assert sup.down() == ["mosquitto"]
    mosquitto.broken = False
    clock.now = 3.0
    sup.check()
    assert (mosquitto.starts, sup.down()) == (1, [])
    clock.now = 100.0  # ran stably: a new death waits the initial delay again
    mosquitto.code = 1
    sup.check()
    clock.now = 101.0
    sup.check()
    assert mosquitto.starts == 2
