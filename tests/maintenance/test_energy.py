"""Energy accounting over counter samples (pure): buckets of the site's calendar, rollover,
reset and replacement, gaps shared out, stuck counters, sums per building and system, and
the sub-metering balance."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bldgwatch.maintenance.energy import (
    Meter,
    Sample,
    account,
    balance,
    buckets,
    by_building,
    by_system,
    read_steps,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
BERLIN = ZoneInfo("Europe/Berlin")
T0 = datetime(2026, 3, 1, 0, 0, tzinfo=SHANGHAI).astimezone(UTC)  # local midnight
WRAP = 1_000_000.0


def ramp(
    start: datetime, hours: float, kw: float, first: float, *, step_min: int = 15
) -> list[Sample]:
    """A counter counting `kw` steadily, one sample every `step_min` minutes."""
    n = int(hours * 60 / step_min)
    return [
        Sample(start + timedelta(minutes=step_min * i), first + kw * step_min * i / 60)
        for i in range(n + 1)
    ]


def meter(mid: str, **kw: object) -> Meter:
    values: dict[str, object] = {
        "type": "electricity_meter",
        "building": "B1",
        "system": "mains",
        "parent": None,
        "wrap": WRAP,
    }
    values.update(kw)
    return Meter(mid, **values)  # type: ignore[arg-type]


def test_hours_days_and_months_follow_the_site_calendar() -> None:
    hours = buckets(date(2026, 3, 1), date(2026, 3, 2), "hour", SHANGHAI)
    assert len(hours) == 24
    assert hours[0].label == "2026-03-01T00:00+08:00"
    assert hours[0].start == datetime(2026, 2, 28, 16, tzinfo=UTC)
    months = buckets(date(2026, 1, 15), date(2026, 3, 2), "month", SHANGHAI)
    assert [m.label for m in months] == ["2026-01", "2026-02", "2026-03"]
    # Clipped to the window at both ends; February is Shanghai's whole February (no DST).
    assert months[0].start == datetime(2026, 1, 14, 16, tzinfo=UTC)
    assert months[1].start == datetime(2026, 1, 31, 16, tzinfo=UTC)
    assert months[1].end - months[1].start == timedelta(days=28)
    assert months[2].end == datetime(2026, 3, 1, 16, tzinfo=UTC)


def test_a_dst_zone_has_23_and_25_hour_days() -> None:
    spring = buckets(date(2026, 3, 29), date(2026, 3, 30), "hour", BERLIN)
    assert len(spring) == 23
    assert [b.label for b in spring[1:3]] == ["2026-03-29T01:00+01:00", "2026-03-29T03:00+02:00"]
    autumn = buckets(date(2026, 10, 25), date(2026, 10, 26), "hour", BERLIN)
    assert len(autumn) == 25
    assert [b.label for b in autumn[2:4]] == ["2026-10-25T02:00+02:00", "2026-10-25T02:00+01:00"]
    days = buckets(date(2026, 10, 24), date(2026, 10, 27), "day", BERLIN)
    assert [d.end - d.start for d in days] == [timedelta(hours=h) for h in (24, 25, 24)]


def test_steady_use_is_counted_per_hour() -> None:
    edges = buckets(date(2026, 3, 1), date(2026, 3, 2), "hour", SHANGHAI)
    acc = account([meter("EM-1")], {"EM-1": ramp(T0, 24, 10.0, 500.0)}, edges, unit="kWh")
    assert acc.meters["EM-1"].values == pytest.approx([10.0] * 24)
    assert acc.flags == []


def test_a_rollover_counts_the_wrapped_increment() -> None:
    samples = ramp(T0, 2, 10.0, WRAP - 12.5)  # wraps 75 minutes in
    wrapped = [Sample(s.at, s.value % WRAP) for s in samples]
    steps, flags = read_steps("EM-1", wrapped, WRAP, gap_after=timedelta(minutes=30))
    assert sum(s.amount for s in steps) == pytest.approx(20.0)
    assert [(f.kind, f.amount) for f in flags] == [("rollover", pytest.approx(2.5))]


def test_a_replaced_meter_restarting_near_zero_is_estimated_at_the_usual_rate() -> None:
    old = ramp(T0, 1, 10.0, 48_000.0)
    new = ramp(T0 + timedelta(minutes=75), 1, 10.0, 5.0)  # delivered reading 5 kWh
    steps, flags = read_steps("EM-1", [*old, *new], WRAP, gap_after=timedelta(minutes=30))
    # 10 kWh + 15 minutes at 10 kW + 10 kWh: the new meter's reading is not use.
    assert sum(s.amount for s in steps) == pytest.approx(22.5)
    assert [(f.kind, f.amount) for f in flags] == [("reset", pytest.approx(2.5))]


def test_a_replaced_meter_put_in_at_a_high_reading_is_estimated_at_the_usual_rate() -> None:
    old = ramp(T0, 1, 10.0, 100.0)
    new = ramp(T0 + timedelta(minutes=75), 1, 10.0, 90_000.0)
    steps, flags = read_steps("EM-1", [*old, *new], WRAP, gap_after=timedelta(minutes=30))
    assert sum(s.amount for s in steps) == pytest.approx(22.5)  # 15 minutes at 10 kW
    assert [f.kind for f in flags] == ["reset"]


def test_a_gap_is_shared_over_its_hours_neither_lost_nor_doubled() -> None:
    before = ramp(T0, 2, 10.0, 1000.0)  # 00:00–02:00 local
    after = ramp(T0 + timedelta(hours=7), 2, 10.0, 1070.0)  # nothing from 02:00 to 07:00
    edges = buckets(date(2026, 3, 1), date(2026, 3, 2), "hour", SHANGHAI)
    acc = account([meter("EM-1")], {"EM-1": [*before, *after]}, edges, unit="kWh")
    values = acc.meters["EM-1"].values
    assert values[:9] == pytest.approx([10.0] * 9)  # the gap's 50 kWh, 10 in each of its hours
    assert sum(values) == pytest.approx(90.0)
    assert [(f.kind, f.start, f.end) for f in acc.flags] == [
        ("gap", T0 + timedelta(hours=2), T0 + timedelta(hours=7))
    ]


def test_a_stuck_counter_is_flagged_and_marks_the_hours_it_touches() -> None:
    samples = ramp(T0, 2, 10.0, 1000.0)
    flat = [Sample(T0 + timedelta(hours=2, minutes=15 * i), 1020.0) for i in range(1, 13)]
    edges = buckets(date(2026, 3, 1), date(2026, 3, 2), "hour", SHANGHAI)
    # The day before (the history read before the window): the meter moves every hour.
    before = ramp(T0 - timedelta(days=1), 24, 10.0, 760.0)[:-1]
    acc = account(
        [meter("EM-1")],
        {"EM-1": [*samples, *flat]},
        edges,
        unit="kWh",
        stuck_after=timedelta(hours=2),
        history={"EM-1": before},
    )
    assert [f.kind for f in acc.flags] == ["stuck"]
    # 02:00 (its last rise) to 05:00: hours 02, 03 and 04.
    assert acc.meters["EM-1"].stuck[:6] == [False, False, True, True, True, False]
    assert acc.meters["EM-1"].values[2:5] == [0.0, 0.0, 0.0]


def test_a_transformer_change_rescales_only_what_follows_it() -> None:
    """Review of issue 20, N11: a mains meter's CTs changed from 400/5 (80) to 600/5 (120)
    at 12:00 local: its counter (secondary, 1 kWh an hour) goes on; the morning is read at
    80, the afternoon at 120, no reset at the change, and past days are not rescaled."""
    change = T0 + timedelta(hours=12)
    em = Meter("EM-1", "electricity_meter", "B1", "mains", None, WRAP, ratio=120.0,
               earlier=((change, 80.0),))  # fmt: skip
    samples = [Sample(T0 + timedelta(minutes=15 * i), 500.0 + i / 4) for i in range(24 * 4 + 1)]
    edges = buckets(date(2026, 3, 1), date(2026, 3, 2), "hour", SHANGHAI)
    acc = account([em], {"EM-1": samples}, edges, unit="kWh")
    assert acc.meters["EM-1"].values == pytest.approx([80.0] * 12 + [120.0] * 12)
    assert acc.flags == []
    # A step across the change (a gap from 11:00 to 13:00) shares the ratios by time.
    gap = [s for s in samples if not T0 + timedelta(hours=11) < s.at < T0 + timedelta(hours=13)]
    acc = account([em], {"EM-1": gap}, edges, unit="kWh", gap_after=timedelta(hours=3))
    assert sum(acc.meters["EM-1"].values) == pytest.approx(12 * 80.0 + 12 * 120.0)


def test_buildings_sum_their_mains_systems_their_topmost_meters_and_the_balance_flags() -> None:
    meters = [
        meter("EM-1"),
        meter("EM-2", system="pumps", parent="EM-1"),
        meter("EM-3", system="elevators", parent="EM-1"),
        meter("EM-4", system="pumps", parent="EM-2"),  # inside EM-2's figure already
        meter("EM-9", building="B2"),
    ]
    samples = {
        "EM-1": ramp(T0, 2, 100.0, 0.0),
        "EM-2": ramp(T0, 2, 30.0, 0.0),
        "EM-3": ramp(T0, 1, 20.0, 0.0) + ramp(T0 + timedelta(hours=1), 1, 65.0, 20.0)[1:],
        "EM-4": ramp(T0, 2, 5.0, 0.0),
        "EM-9": ramp(T0, 2, 7.0, 0.0),
    }
    edges = buckets(date(2026, 3, 1), date(2026, 3, 2), "hour", SHANGHAI)
    acc = account(meters, samples, edges, unit="kWh")
    buildings = {s.key: (s.values[:2], s.meters) for s in by_building(meters, acc)}
    assert buildings == {
        "B1": (pytest.approx([100.0, 100.0]), ["EM-1"]),
        "B2": (pytest.approx([7.0, 7.0]), ["EM-9"]),
    }
    systems = {s.key: s.values[:2] for s in by_system(meters, acc)}
    assert systems["pumps"] == pytest.approx([30.0, 30.0])  # EM-2 only
    assert systems["elevators"] == pytest.approx([20.0, 65.0])
    # The mains' own share: EM-1 less EM-2 and EM-3 inside it, and B2's EM-9 (review of
    # issue 20, F13: not the whole of EM-1 beside the pumps and lifts it feeds).
    assert systems["mains"] == pytest.approx([57.0, 12.0])
    totals = [sum(v[k] for v in systems.values()) for k in range(2)]
    assert totals == pytest.approx([107.0, 107.0])  # the site's two main meters, once
    (main, pumps) = balance(meters, acc, threshold=0.1)
    assert (main.meter, main.submeters, pumps.meter) == ("EM-1", ["EM-2", "EM-3"], "EM-2")
    first, second = main.rows[:2]
    assert (first.submeters, first.unaccounted, first.flagged) == (
        pytest.approx(50.0),
        pytest.approx(50.0),
        True,
    )
    assert (second.share, second.flagged) == (pytest.approx(0.05), False)
    assert main.rows[5].share is None and not main.rows[5].flagged  # nothing counted


def _office_water(days: int, stuck_day: int | None = None) -> list[Sample]:
    """5-minute samples of a water meter counting 4 m³/h from 06:00 to 24:00 local and idle
    from 00:00 to 06:00 (a building without a leak); on `stuck_day` the counter stands still
    from 10:00 to 13:00 though the building draws water as every day."""
    out = []
    value = 100.0
    for i in range(days * 24 * 12):
        at = T0 + timedelta(minutes=5 * i)
        out.append(Sample(at, value))
        local = at.astimezone(SHANGHAI)
        frozen = local.day - T0.astimezone(SHANGHAI).day == stuck_day and 10 <= local.hour < 13
        if local.hour >= 6 and not frozen:
            value += 4.0 / 12
    return out


def test_an_idle_night_is_not_stuck_but_a_counter_standing_in_its_busy_hours_is() -> None:
    edges = buckets(date(2026, 3, 1), date(2026, 3, 15), "day", SHANGHAI)
    water = meter("WM-1", type="water_meter")
    acc = account([water], {"WM-1": _office_water(14)}, edges, unit="m³")
    assert acc.flags == []
    assert acc.meters["WM-1"].stuck == [False] * 14
    assert acc.meters["WM-1"].values[1:13] == pytest.approx([72.0] * 12)
    # The same meter stuck for three hours of its fifth day's office hours: that day only.
    acc = account([water], {"WM-1": _office_water(14, stuck_day=4)}, edges, unit="m³")
    stuck = [f for f in acc.flags if f.kind == "stuck"]
    assert len(stuck) == 1
    assert stuck[0].start.astimezone(SHANGHAI).hour == 10
    assert acc.meters["WM-1"].stuck == [d == 4 for d in range(14)]
    assert acc.meters["WM-1"].values[4] == pytest.approx(60.0)


def test_a_one_day_window_judges_an_idle_night_by_the_days_before_it() -> None:
    """Review of issue 20, N9: the page's default view (today, by hour) has no other day in
    its samples; its idle night is judged by the history read before it, and without any
    history a standing counter is not called stuck."""
    water = meter("WM-1", type="water_meter")
    week = _office_water(8, stuck_day=7)  # 1–8 Mar; the 8th stuck 10:00–13:00
    day = T0 + timedelta(days=7)
    window = [s for s in week if s.at >= day]
    history = {"WM-1": [s for s in week if s.at < day]}
    edges = buckets(date(2026, 3, 8), date(2026, 3, 9), "hour", SHANGHAI)
    # Without history: nothing to judge by, so neither the idle night nor the frozen office
    # hours are called stuck.
    acc = account([water], {"WM-1": window}, edges, unit="m³")
    assert [f for f in acc.flags if f.kind == "stuck"] == []
    # With the week before: the night is idle (no flag), the office hours frozen are stuck.
    acc = account([water], {"WM-1": window}, edges, unit="m³", history=history)
    stuck = [f for f in acc.flags if f.kind == "stuck"]
    assert [f.start.astimezone(SHANGHAI).hour for f in stuck] == [10]
    assert acc.meters["WM-1"].stuck[:6] == [False] * 6
    assert acc.meters["WM-1"].stuck[10:13] == [True] * 3


def _idle(minutes: int, value: float = 8000.0) -> list[Sample]:
    return [Sample(T0 + timedelta(minutes=i), value) for i in range(minutes)]


def test_on_an_idle_meter_a_replacement_is_no_use_against_its_rating() -> None:
    new = [Sample(T0 + timedelta(minutes=30 + i), 9234.5 + 0.1 * i) for i in range(30)]
    steps, flags = read_steps(
        "EM-1", [*_idle(30), *new], WRAP, gap_after=timedelta(minutes=15), max_rate=30.0
    )
    # 29 × 0.1 kWh of the new meter and the change-over minute at its mean rate (2.9 kWh in
    # 58 minutes, the idle half hour included: review 20c, M4); its 9234.5 starting reading
    # is not use (was 1234.5).
    assert sum(s.amount for s in steps) == pytest.approx(2.9 + 2.9 / 58)
    assert [(f.kind, f.amount) for f in flags] == [("reset", pytest.approx(2.9 / 58))]


def test_one_bad_reading_is_skipped_and_flagged_on_an_idle_and_a_busy_meter() -> None:
    edges = buckets(date(2026, 3, 1), date(2026, 3, 2), "day", SHANGHAI)
    idle = _idle(120)
    idle[60] = Sample(idle[60].at, 65535.0)  # 0xFFFF once
    acc = account([meter("EM-1", max_rate=5000.0)], {"EM-1": idle}, edges, unit="kWh")
    assert acc.meters["EM-1"].values == [0.0]  # was 1 000 000 (a "rollover")
    assert [(f.kind, f.amount) for f in acc.flags] == [("spike", 65535.0)]
    busy = ramp(T0, 2, 10.0, 8000.0, step_min=1)
    busy[60] = Sample(busy[60].at, 65535.0)
    steps, flags = read_steps("EM-1", busy, WRAP, gap_after=timedelta(minutes=15))
    assert sum(s.amount for s in steps) == pytest.approx(20.0)
    assert [f.kind for f in flags] == ["spike"]


def test_a_rollover_on_an_idle_meter_is_still_a_rollover() -> None:
    samples = [*_idle(30, WRAP - 0.2), Sample(T0 + timedelta(minutes=31), 0.1)]
    steps, flags = read_steps("EM-1", samples, WRAP, gap_after=timedelta(minutes=15), max_rate=30.0)
    assert sum(s.amount for s in steps) == pytest.approx(0.3)
    assert [f.kind for f in flags] == ["rollover"]


def test_a_ct_connected_meter_is_booked_at_its_primary_side() -> None:
    """Review of issue 20, F12: a mains meter behind 400/5 A current transformers (ratio 80)
    counts 1.25 kWh an hour on its secondary side: 100 kWh an hour for the building, also
    over the secondary register's wrap; beside its sub-meter the balance holds."""
    meters = [
        meter("EM-1", wrap=99_999.99, ratio=80.0, max_rate=500.0),
        meter("EM-2", system="pumps", parent="EM-1"),
    ]
    samples = {
        "EM-1": [
            Sample(s.at, s.value % 99_999.99) for s in ramp(T0, 2, 1.25, 99_999.99 - 1.25)
        ],  # wraps after an hour
        "EM-2": ramp(T0, 2, 60.0, 0.0),
    }
    edges = buckets(date(2026, 3, 1), date(2026, 3, 2), "hour", SHANGHAI)
    acc = account(meters, samples, edges, unit="kWh")
    assert acc.meters["EM-1"].values[:2] == pytest.approx([100.0, 100.0])
    assert [f.kind for f in acc.flags] == ["rollover"]
    (main,) = balance(meters, acc, threshold=0.5)
    assert (main.rows[0].parent, main.rows[0].submeters) == pytest.approx((100.0, 60.0))
    assert not main.rows[0].flagged  # 40 % unaccounted, under the loose threshold


def _minutes(start: datetime, n: int, first: float, kw: float) -> list[Sample]:
    return [Sample(start + timedelta(minutes=i), first + kw * i / 60) for i in range(n)]


@pytest.mark.parametrize(
    ("wrap", "offline", "lower"),
    [
        (WRAP, timedelta(days=8.5), 245.0),
        (WRAP, timedelta(days=11.5), 245.0),
        (99_999.99, timedelta(hours=21), 5.0),
    ],
)
def test_a_meter_back_lower_after_days_off_line_is_a_reset_not_a_rollover(
    wrap: float, offline: timedelta, lower: float
) -> None:
    """Second review of issue 20, N4: a 100 kW meter off line for days (or 21 h on a
    99,999.99 register) that comes back a little lower was booked as a whole turn of the
    register (999,756.7 kWh; 99,996.7 kWh) because the 5,000 kW cap over the gap allowed it.
    A wrap goes from the top tenth of the range to the bottom one: this is a reset, estimated
    at the usual rate."""
    before = _minutes(T0, 24 * 60, 42_000.0, 100.0)
    back = before[-1].at + offline
    after = _minutes(back, 60, before[-1].value - lower, 100.0)
    steps, flags = read_steps(
        "EM-1", [*before, *after], wrap, gap_after=timedelta(minutes=15), max_rate=5000.0
    )
    assert "rollover" not in [f.kind for f in flags]
    assert [f.kind for f in flags] == ["reset", "gap"]
    estimate = 100.0 * offline.total_seconds() / 3600
    assert sum(s.amount for s in steps) == pytest.approx(
        2400.0 - 100 / 60 + estimate + 59 * 100 / 60
    )


def test_a_zero_read_after_a_gap_is_no_wrap() -> None:
    """N4: 9 days off line, the first read back a failed 0, then the true counter: was booked
    992,050 kWh (a "rollover" into the 0). The 0 is skipped as a bad reading."""
    before = _minutes(T0, 24 * 60, 8000.0, 100.0)
    back = before[-1].at + timedelta(days=9)
    truth = before[-1].value + 100.0 * 24 * 9
    samples = [*before, Sample(back, 0.0), *_minutes(back + timedelta(minutes=1), 30, truth, 100.0)]
    steps, flags = read_steps(
        "EM-X", samples, WRAP, gap_after=timedelta(minutes=15), max_rate=5000.0
    )
    assert [f.kind for f in flags] == ["spike", "gap"]
    assert sum(s.amount for s in steps) == pytest.approx(samples[-1].value - 8000.0)


def test_a_real_turn_of_the_register_during_a_gap_is_still_a_rollover() -> None:
    """N4, the other side: at the top of its range before 5 hours off line, near 0 after."""
    before = _minutes(T0, 60, WRAP - 300.0, 100.0)
    back = before[-1].at + timedelta(hours=5)
    after = _minutes(back, 30, before[-1].value + 500.0 - WRAP, 100.0)
    steps, flags = read_steps(
        "EM-1", [*before, *after], WRAP, gap_after=timedelta(minutes=15), max_rate=5000.0
    )
    assert [f.kind for f in flags] == ["rollover", "gap"]
    assert sum(s.amount for s in steps) == pytest.approx(59 * 100 / 60 + 500.0 + 29 * 100 / 60)


def test_a_sub_meter_without_readings_is_no_data_in_the_balance_not_a_loss() -> None:
    """Second review of issue 20, N5: a sub-meter with no reading on a day was booked 0 and its
    parent flagged 100 % unaccounted. Such a bucket is "no data": no share, not flagged."""
    meters = [meter("EM-1"), meter("EM-2", system="pumps", parent="EM-1")]
    samples = {"EM-1": ramp(T0, 48, 10.0, 0.0), "EM-2": ramp(T0, 24, 9.0, 0.0)}  # EM-2: day 1
    edges = buckets(date(2026, 3, 1), date(2026, 3, 3), "day", SHANGHAI)
    acc = account(meters, samples, edges, unit="kWh")
    (main,) = balance(meters, acc, threshold=0.2)
    first, second = main.rows
    assert (first.read, first.share, first.flagged) == (True, pytest.approx(0.1), False)
    assert (second.read, second.share, second.flagged) == (False, None, False)


def test_a_counter_frozen_for_the_whole_window_is_stuck() -> None:
    """Third review of issue 20, H3: a window in which the counter never rises had a usual
    rate of 0, and a meter that never counts was called idle before the days before the
    window were looked at: a day the counter stood still, asked for on its own, was 0 used,
    not stuck (and a 100 % "saving"). The rate is taken from the history too."""
    board = meter("EM-1")
    counted = ramp(T0, 14 * 24, 4.0, 1000.0)  # 1–14 Mar, 4 kW round the clock
    day = T0 + timedelta(days=14)
    frozen = [Sample(day + timedelta(minutes=15 * i), counted[-1].value) for i in range(97)]
    for every, n in (("day", 1), ("hour", 24)):
        edges = buckets(date(2026, 3, 15), date(2026, 3, 16), every, SHANGHAI)
        acc = account([board], {"EM-1": frozen}, edges, unit="kWh", history={"EM-1": counted[:-1]})
        assert [f.kind for f in acc.flags] == ["stuck"], every
        assert acc.meters["EM-1"].stuck == [True] * n, every


def test_a_pump_set_running_in_short_bursts_is_booked_in_full() -> None:
    """Third review of issue 20, H5: a 45 kW pump running 5 minutes an hour beside a 0.1 kW
    standby load that ticks its 0.01 kWh register every few minutes: the median rising rate
    was the standby tick, so every running minute was "implausible" — 120 resets and 3.4 kWh
    booked of 92.9. The yardstick is the rate the meter shows running."""
    samples, true = [], 0.0
    for minute in range(24 * 60 + 1):
        samples.append(Sample(T0 + timedelta(minutes=minute), 10_000 + int(true * 100) / 100))
        true += (45.0 if minute % 60 < 5 else 0.1) / 60
    steps, flags = read_steps(
        "EM-2", samples, WRAP, gap_after=timedelta(minutes=15), max_rate=5000.0
    )
    assert [f for f in flags if f.kind == "reset"] == []
    counted = samples[-1].value - samples[0].value  # about 92.2 kWh
    assert sum(s.amount for s in steps) == pytest.approx(counted)


def test_a_meter_replaced_higher_across_an_outage_is_no_use() -> None:
    """Third review of issue 20, H2: across a gap a leap was judged against the meter's
    rating only (5,000 kW by default) when the samples read showed no usual rate, so an idle
    meter replaced during a 30-minute outage booked the new reading (1,234.5 kWh) as use,
    and a 4 kW board off line a day whose replacement read +4,000 kWh booked 4,080; and the
    same day read differently in a longer window. Across a gap no more than the meter has
    shown it counts is use; the rest is a reset, estimated."""
    idle = [Sample(T0 + timedelta(minutes=5 * i), 8000.0) for i in range(145)]  # to 12:00
    back = [Sample(T0 + timedelta(minutes=750 + 5 * i), 9234.5) for i in range(139)]
    steps, flags = read_steps(
        "EM-2", [*idle, *back], WRAP, gap_after=timedelta(minutes=15), max_rate=5000.0
    )
    assert sum(s.amount for s in steps) == pytest.approx(0.0)
    assert [f.kind for f in flags] == ["reset", "gap"]

    board = meter("EM-1")
    before = ramp(T0, 2 * 24, 4.0, 1000.0)  # 1–2 Mar at 4 kW, to 3 Mar 00:00
    back = T0 + timedelta(days=3, hours=1)  # off line to 4 Mar 01:00, back at +4,000 kWh
    after = ramp(back, 23, 4.0, before[-1].value + 4000.0)
    cut = T0 + timedelta(days=1)
    edges = buckets(date(2026, 3, 2), date(2026, 3, 5), "day", SHANGHAI)
    window = [s for s in before if s.at >= cut] + after
    earlier = {"EM-1": [s for s in before if s.at < cut]}
    short = account([board], {"EM-1": window}, edges, unit="kWh", history=earlier)
    edges_long = buckets(date(2026, 3, 1), date(2026, 3, 5), "day", SHANGHAI)
    long = account([board], {"EM-1": [*before, *after]}, edges_long, unit="kWh")
    assert [f.kind for f in short.flags if f.kind != "gap"] == ["reset"]
    assert short.meters["EM-1"].values == pytest.approx(long.meters["EM-1"].values[1:])
    assert sum(short.meters["EM-1"].values) == pytest.approx(4.0 * 72)  # 2–4 Mar at 4 kW


def test_the_day_a_sub_meter_falls_silent_is_no_data_in_the_balance() -> None:
    """Third review of issue 20, M5: a bucket was "read" when any step overlapped it, so the
    day a sub-meter's gateway died at 10:00 balanced the parent's whole day against the
    sub-meter's morning: a false 62 % loss, flagged. Such a bucket is no data."""
    parent, sub = meter("P"), meter("S", parent="P", system="pumps")
    stop = T0 + timedelta(days=1, hours=10)
    p = ramp(T0, 72, 12.0, 1000.0)
    s = [x for x in ramp(T0, 72, 10.8, 1000.0) if x.at <= stop]
    edges = buckets(date(2026, 3, 1), date(2026, 3, 4), "day", SHANGHAI)
    acc = account([parent, sub], {"P": p, "S": s}, edges, unit="kWh")
    [bal] = balance([parent, sub], acc, threshold=0.1)
    assert [(r.read, r.flagged) for r in bal.rows] == [
        (True, False),
        (False, False),
        (False, False),
    ]


def test_an_outage_with_a_reset_is_estimated_at_the_meters_mean_rate() -> None:
    """Third review of issue 20, M4: a reset in an outage was estimated at the median of the
    rising steps, the meter's busy rate: a water meter counting 4 m³/h from 06:00 to 24:00
    and idle at night (72 m³ a day) was estimated at 96 m³ a day. It is the mean rate, idle
    hours included."""
    water = meter("WM-1", type="water_meter")
    samples, volume = [], 1000.0
    for i in range(7 * 24 * 4 + 1):
        at = T0 + timedelta(minutes=15 * i)
        samples.append(Sample(at, volume))
        volume += 1.0 if at.astimezone(SHANGHAI).hour >= 6 else 0.0
    out_from, back = T0 + timedelta(days=3, hours=6), T0 + timedelta(days=6, hours=6)
    kept = [s for s in samples if s.at <= out_from]
    kept += [Sample(s.at, s.value - 246.0) for s in samples if s.at >= back]  # back 30 m³ lower
    edges = buckets(date(2026, 3, 4), date(2026, 3, 7), "day", SHANGHAI)
    acc = account([water], {"WM-1": kept}, edges, unit="m³")
    [reset] = [f for f in acc.flags if f.kind == "reset"]
    assert reset.amount == pytest.approx(216.0, rel=0.01)  # 3 days at 72 m³ (was 288)
    assert acc.meters["WM-1"].values[1] == pytest.approx(72.0, rel=0.01)  # 5 Mar (was 96)


def test_a_spike_on_a_ct_meter_shows_the_reading_refused() -> None:
    """Third review of issue 20, L1: every flag's amount was multiplied by the CT ratio, but a
    spike's amount is the bad reading itself: 65535 on a ratio-80 meter showed 5242800."""
    samples = ramp(T0, 2, 1.25, 1000.0, step_min=5)
    samples[10] = Sample(samples[10].at, 65535.0)
    edges = buckets(date(2026, 3, 1), date(2026, 3, 2), "day", SHANGHAI)
    acc = account([meter("EM-1", ratio=80.0)], {"EM-1": samples}, edges, unit="kWh")
    assert [(f.kind, f.amount) for f in acc.flags] == [("spike", 65535.0)]
    assert acc.meters["EM-1"].values == pytest.approx([200.0])


@pytest.mark.parametrize("days", [8, 10, 13])
def test_a_counter_frozen_for_days_before_the_window_is_still_stuck(days: int) -> None:
    """Fourth review of issue 20, H2: a counter frozen more than about half the history
    before the window was judged against its own frozen days ("not its usual hours"): idle,
    0 used and a 100 % saving. The run is judged from where it began."""
    board = meter("EM-1")
    window = T0 + timedelta(days=14)
    counted = ramp(T0, (14 - days) * 24, 4.0, 1000.0)
    still = [
        Sample(counted[-1].at + timedelta(minutes=15 * i), counted[-1].value)
        for i in range(1, days * 96)
    ]
    frozen = [Sample(window + timedelta(minutes=15 * i), counted[-1].value) for i in range(97)]
    edges = buckets(date(2026, 3, 15), date(2026, 3, 16), "day", SHANGHAI)
    acc = account([board], {"EM-1": frozen}, edges, unit="kWh", history={"EM-1": counted + still})
    assert [f.kind for f in acc.flags] == ["stuck"]
    assert acc.flags[0].start == counted[-1].at  # the jam, seen from where it began
    assert acc.meters["EM-1"].stuck == [True]


def test_a_counter_frozen_since_before_the_history_is_stuck_with_the_hourly_lookback() -> None:
    """Fourth review of issue 20, H2: jammed 20 days before the window: the 14 days of
    history show no movement at all, so they are read further back, hourly (`read_history`):
    with the hours it moved before it froze, the window is stuck, not idle."""
    board = meter("EM-1")
    window = T0 + timedelta(days=30)
    counted = ramp(T0, 10 * 24, 4.0, 1000.0, step_min=60)  # hourly, 10 days moving
    value = counted[-1].value
    still = [Sample(counted[-1].at + timedelta(hours=i), value) for i in range(1, 20 * 24)]
    frozen = [Sample(window + timedelta(minutes=15 * i), value) for i in range(97)]
    edges = buckets(date(2026, 3, 31), date(2026, 4, 1), "day", SHANGHAI)
    acc = account([board], {"EM-1": frozen}, edges, unit="kWh", history={"EM-1": counted + still})
    assert [f.kind for f in acc.flags] == ["stuck"]
    assert acc.meters["EM-1"].stuck == [True]


def _balance_rows(every: str, first: date, last: date, parent_stop: datetime | None,
                  sub_stop: datetime | None, *, threshold: float = 0.2,
                  ) -> dict[str, tuple[bool, bool]]:  # fmt: skip
    """Parent P 12 kW and sub-meter S 10.8 kW, every 5 min for three days from T0; each
    falls silent at its stop: (read, flagged) per bucket label."""

    def counter(kw: float, stop: datetime | None) -> list[Sample]:
        out = ramp(T0, 72, kw, 1000.0, step_min=5)
        return [s for s in out if stop is None or s.at <= stop]

    meters = [meter("P"), meter("S", parent="P", system="pumps")]
    edges = buckets(first, last, every, SHANGHAI)
    acc = account(
        meters, {"P": counter(12.0, parent_stop), "S": counter(10.8, sub_stop)}, edges, unit="kWh"
    )
    [bal] = balance(meters, acc, threshold=threshold)
    return {r.bucket.label: (r.read, r.flagged) for r in bal.rows}


def test_a_balance_side_falling_silent_part_way_is_no_data_whichever_side() -> None:
    """Fourth review of issue 20, M2: the mains' gateway dying at 10:00 left its part-day
    against the sub-meters' whole day (−116 %, flagged); in the hour view a sub-meter silent
    from 10:05 flagged a 92 % loss for 10:00. Both are no data now, never a flagged loss."""
    ten = T0 + timedelta(days=1, hours=10)
    by_day = _balance_rows("day", date(2026, 3, 1), date(2026, 3, 4), ten, None)
    assert by_day["2026-03-01"] == (True, False)
    assert by_day["2026-03-02"] == (False, False)  # was read and flagged (−116 %)
    by_hour = _balance_rows(
        "hour", date(2026, 3, 2), date(2026, 3, 3), None, ten + timedelta(minutes=5)
    )
    assert by_hour["2026-03-02T09:00+08:00"] == (True, False)
    assert by_hour["2026-03-02T10:00+08:00"] == (False, False)  # was a flagged 92 % loss


def test_a_share_exactly_at_the_threshold_is_not_flagged_by_float_noise() -> None:
    """Fourth review of issue 20, L2: parent 12.0 against sub-meters 10.8 (10 %) with a 10 %
    threshold was unflagged at 08:00 and flagged at 09:00 of the same steady day."""
    rows = _balance_rows("hour", date(2026, 3, 2), date(2026, 3, 3), None, None, threshold=0.1)
    assert {flagged for read, flagged in rows.values()} == {False}
    assert all(read for read, _ in rows.values())


def _starting_rows(every: str, first: date, last: date, parent_from: datetime | None,
                   sub_from: datetime | None, *, gap: tuple[datetime, datetime] | None = None,
                   ) -> dict[str, tuple[bool, bool]]:  # fmt: skip
    """Parent P 12 kW and sub-meter S 10.8 kW, every 5 min for three days from T0; each has
    no readings before its `*_from` (a new meter), S none inside `gap`: (read, flagged)."""

    def counter(
        kw: float, since: datetime | None, hole: tuple[datetime, datetime] | None
    ) -> list[Sample]:
        out = ramp(T0, 72, kw, 1000.0, step_min=5)
        out = [s for s in out if since is None or s.at >= since]
        return [s for s in out if hole is None or not hole[0] < s.at < hole[1]]

    meters = [meter("P"), meter("S", parent="P", system="pumps")]
    edges = buckets(first, last, every, SHANGHAI)
    data = {"P": counter(12.0, parent_from, None), "S": counter(10.8, sub_from, gap)}
    acc = account(meters, data, edges, unit="kWh")
    [bal] = balance(meters, acc, threshold=0.2)
    return {r.bucket.label: (r.read, r.flagged) for r in bal.rows}


def test_a_balance_side_starting_part_way_is_no_data_whichever_side() -> None:
    """Fifth review of issue 20, M4 (the mirror of round 4's M2): a new sub-meter whose first
    reading is at 14:00 made its first day a flagged 62.5 % loss, a mains meter commissioned
    at 14:00 a flagged −116 %: the bucket a side's history begins in is no data now; a
    sub-meter down overnight and back at 14:00 (its gap spread) is still a read, unflagged day,
    and so are the whole days after the start."""
    two = T0 + timedelta(days=1, hours=14)
    by_day = _starting_rows("day", date(2026, 3, 1), date(2026, 3, 4), None, two)
    assert by_day["2026-03-02"] == (False, False)  # was read and flagged (a 62.5 % loss)
    assert by_day["2026-03-03"] == (True, False)
    by_day = _starting_rows("day", date(2026, 3, 1), date(2026, 3, 4), two, None)
    assert by_day["2026-03-02"] == (False, False)  # was read and flagged (−116 %)
    assert by_day["2026-03-03"] == (True, False)
    by_hour = _starting_rows(
        "hour", date(2026, 3, 2), date(2026, 3, 3), None, two + timedelta(minutes=15)
    )
    assert by_hour["2026-03-02T13:00+08:00"] == (False, False)  # S: no reading at all
    assert by_hour["2026-03-02T14:00+08:00"] == (False, False)  # S from 14:15 only
    assert by_hour["2026-03-02T15:00+08:00"] == (True, False)
    gap = (T0 + timedelta(hours=20), two)
    spread = _starting_rows("day", date(2026, 3, 1), date(2026, 3, 4), None, None, gap=gap)
    assert spread["2026-03-02"] == (True, False)


@pytest.mark.parametrize(("kw", "kinds"), [(None, ["stuck"]), (0.0, []), (40.0, ["stuck"])])
def test_a_still_counter_is_judged_by_the_meters_own_power_reading(
    kw: float | None, kinds: list[str]
) -> None:
    """Fifth review of issue 20, M2: a meter idle since 20 days (a chiller's sub-meter over the
    winter) is the same counter data as a jam, and was flagged stuck; its own power reading
    tells: 0 kW all through is idle, 40 kW with a still counter is a jam; without a reading
    the history judges (stuck)."""
    board = meter("EM-1")
    window = T0 + timedelta(days=30)
    counted = ramp(T0, 10 * 24, 4.0, 1000.0, step_min=60)
    value = counted[-1].value
    still = [Sample(counted[-1].at + timedelta(hours=i), value) for i in range(1, 20 * 24)]
    frozen = [Sample(window + timedelta(minutes=15 * i), value) for i in range(97)]
    edges = buckets(date(2026, 3, 31), date(2026, 4, 1), "day", SHANGHAI)
    power = {} if kw is None else {"EM-1": [(window + timedelta(hours=h), kw) for h in range(24)]}
    acc = account(
        [board], {"EM-1": frozen}, edges, unit="kWh", history={"EM-1": counted + still}, power=power
    )
    assert [f.kind for f in acc.flags] == kinds
    assert acc.meters["EM-1"].stuck == [bool(kinds)]
