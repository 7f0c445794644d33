"""Pacing (pure): flood grouping per recipient, sliding-window rate limits per channel."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bldgwatch.alerts.config import FloodSettings
from bldgwatch.alerts.pacing import SentMessage, WindowLimiter, flood_release

T0 = datetime(2026, 12, 6, tzinfo=UTC)
FLOOD = FloodSettings(burst=3, window_s=60, interval_s=60)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def test_a_quiet_recipient_gets_messages_at_once() -> None:
    assert flood_release(at(10), [], FLOOD) == at(10)
    recent = [SentMessage(at(0), False), SentMessage(at(5), False)]
    assert flood_release(at(10), recent, FLOOD) == at(10)


def test_the_burst_is_reached_then_one_digest_per_interval() -> None:
    burst = [SentMessage(at(0), False), SentMessage(at(1), False), SentMessage(at(2), False)]
    assert flood_release(at(3), burst, FLOOD) == at(62)
    # The digest at 62 s was held back: the flood goes on, next one 60 s after it.
    after = [*burst, SentMessage(at(62), True)]
    assert flood_release(at(63), after, FLOOD) == at(122)
    # An interval without anything: the flood is over.
    assert flood_release(at(123), after, FLOOD) == at(123)


def test_a_simulated_flood_of_300_alarms_in_5_minutes_makes_few_messages() -> None:
    sent: list[SentMessage] = []
    waiting = 0
    for second in range(300):  # one alarm a second
        now = at(second)
        waiting += 1
        recent = [m for m in sent if m.at > now - timedelta(seconds=60)]
        if flood_release(now, recent, FLOOD) <= now:
            sent.append(SentMessage(now, held=len(sent) >= FLOOD.burst))
            waiting = 0
    # The burst, then one message per minute: when the burst leaves the window, and after.
    assert [m.at for m in sent] == [at(s) for s in (0, 1, 2, 60, 120, 180, 240)]
    assert waiting == 59  # what came after the last digest waits for the next


def test_window_limiter_allows_n_per_window_never_more() -> None:
    limiter = WindowLimiter([(20, 60.0)])
    assert all(limiter.take(at(i * 0.1)) == 0 for i in range(20))
    assert limiter.take(at(2)) == 58.0  # the first of the 20 leaves the window at 60 s
    assert limiter.take(at(60)) == 0
    # A token bucket would allow 20 more within the first minute; the window does not.
    sent = sum(1 for i in range(600) if limiter.take(at(60 + i * 0.1)) == 0)
    assert sent == 19  # within [60, 120): 20 slots less the one taken at 60 s


def test_window_limiter_two_windows_and_seeding() -> None:
    feishu = WindowLimiter([(100, 60.0), (5, 1.0)])
    assert [feishu.take(at(0)) for _ in range(6)][-1] == 1.0
    seeded = WindowLimiter([(2, 60.0)])
    seeded.note(at(-30))
    seeded.note(at(-10))
    assert seeded.wait(at(0)) == 30.0
