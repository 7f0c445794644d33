"""The resend window of the event publishers (pure: an injected monotonic clock)."""

from __future__ import annotations

from bldgwatch.core.resend import ResendWindow


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


def test_the_window_ends_where_the_connection_dropped_until_resent() -> None:
    """A broker down longer than the window: what it acknowledged just before its kill still
    goes out again at the reconnect."""
    now = [100.0]
    window = ResendWindow(60.0, now=lambda: now[0])
    window.confirmed("old", "bw/v1/demo/workorders/E-01", b"{}")
    now[0] += 50
    window.confirmed("new", "bw/v1/demo/workorders/E-01", b"{}")
    now[0] += 12
    window.connection_lost()
    now[0] += 300  # the broker is away for five minutes
    window.connection_lost()  # reconnect attempts failing: the first drop counts
    assert [eid for eid, _ in window.recent()] == ["new"]  # "old" was 62 s old at the drop
    window.resent()
    assert window.recent() == []  # counted from now again: "new" is 300 s old
