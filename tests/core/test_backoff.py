"""The one backoff helper: the gateway's reconnects, ingest's retries, the rules worker's."""

from __future__ import annotations

import random

import pytest

from bldgwatch.core.backoff import Backoff, backoff_delay, no_jitter


def test_backoff_grows_with_jitter_is_capped_and_resets() -> None:
    b = Backoff(1.0, 8.0, jitter=random.Random(1).random)
    delays = [b.next_delay() for _ in range(6)]
    for d, ceiling in zip(delays, [1, 2, 4, 8, 8, 8], strict=True):
        assert ceiling / 2 <= d <= ceiling
    b.reset()
    assert 0.5 <= b.next_delay() <= 1.0


@pytest.mark.parametrize(
    ("attempt", "retry_after", "jitter", "delay"),
    [
        (0, None, 0.0, 0.5),
        (0, None, 0.999, 0.9995),
        (3, None, 0.0, 4.0),
        (10, None, 0.0, 15.0),  # capped at maximum 30 → lower half 15
        (500, None, 1.0, 30.0),
        (2, 12.5, 0.3, 12.5),
        (2, 0.0, 0.3, 0.0),
    ],
)
def test_backoff_delay(
    attempt: int, retry_after: float | None, jitter: float, delay: float
) -> None:
    got = backoff_delay(attempt, initial=1.0, maximum=30.0, retry_after=retry_after, jitter=jitter)
    assert got == pytest.approx(delay)


def test_without_jitter_the_delay_doubles_to_the_maximum() -> None:
    b = Backoff(0.5, 30.0, jitter=no_jitter)
    assert [b.next_delay() for _ in range(9)] == [0.5, 1, 2, 4, 8, 16, 30, 30, 30]
    b.reset()
    assert b.next_delay() == 0.5
