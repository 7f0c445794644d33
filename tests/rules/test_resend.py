"""The rules service's resend window (pure: an injected monotonic clock)."""

from __future__ import annotations

from bldgwatch.rules.resend import ResendWindow


def test_events_stay_for_the_window_then_go() -> None:
    now = [100.0]
    window = ResendWindow(60.0, now=lambda: now[0])
    window.confirmed("a", "bw/v1/demo/alarms/E-01", b"{}")
    now[0] += 30
    window.confirmed("b", "bw/v1/demo/alarms/E-02", b"{}")
    assert [eid for eid, _ in window.recent()] == ["a", "b"]
    now[0] += 31  # a is 61 s old, b 31 s
    assert [eid for eid, _ in window.recent()] == ["b"]


def test_a_zero_window_keeps_nothing() -> None:
    window = ResendWindow(0.0, now=lambda: 0.0)
    window.confirmed("a", "bw/v1/demo/alarms/E-01", b"{}")
    assert window.recent() == []
