"""What a "not a leak" teaches (third review of issue 20, H1): the level alarmed on becomes a
normal one on top of the learned nights, which are kept; a one-off ends with the first normal
night, a later leak still alarms, and a supervisor's reversal (`withdraw`) re-arms the meter."""

from __future__ import annotations

from collections import deque
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bldgwatch.rules.equipment import Equipment
from bldgwatch.rules.schema import load_rules
from bldgwatch.rules.wastelogic import TAUGHT_NIGHTS, BaselineLogic, night_flow_logic, night_stretch

ZONE = ZoneInfo("Asia/Shanghai")


def meter() -> BaselineLogic:
    """The pack's night-flow numbers: median of 14 nights, ×1.5 + 0.05 m³/h, 3 to start; a
    taught level ends after `TAUGHT_NIGHTS` normal nights in a row (as `night_flow_logic`)."""
    stretch = night_stretch("02:00-04:00", ZONE)
    logic = BaselineLogic(stretch, "min", 50.0, 1.5, 0.05, 3, deque(maxlen=14), 1)
    logic.lasting = TAUGHT_NIGHTS
    return logic


def night(logic: BaselineLogic, day: int, level: float) -> bool | None:
    """A night's readings every 5 min, 01:00–05:00 local; the verdict after them."""
    start = datetime(2026, 11, 1, 1, tzinfo=ZONE) + timedelta(days=day)
    verdict = None
    for i in range(49):
        at = int((start + timedelta(minutes=5 * i)).timestamp() * 1000)
        verdict = logic.raw("flow_m3h", level, at, False)
    return verdict


def test_a_dismissed_one_off_does_not_hide_a_later_leak_of_the_same_size() -> None:
    logic = meter()
    for day in range(7):
        night(logic, day, 0.02)
    assert night(logic, 7, 0.3) is True  # a cleaning night
    assert logic.accept()  # "not a leak"
    assert list(logic.learned) == [0.02] * 7  # the learned nights are kept
    quiet = [night(logic, d, 0.02) for d in (8, 9, 10)]  # the taught level ends (M3: 3 nights)
    after = quiet + [night(logic, d, 0.3) for d in range(11, 21)]
    assert after == [False] * 3 + [True] * 10  # was all False (re-seeded with 0.3)
    assert logic.baseline == 0.02


def test_a_new_normal_is_taught_and_a_rise_above_it_still_alarms() -> None:
    logic = meter()
    for day in range(7):
        night(logic, day, 0.02)
    assert night(logic, 7, 0.3) is True  # a 24-hour shop opens
    assert logic.accept()
    assert [night(logic, d, 0.3) for d in range(8, 30)] == [False] * 22
    assert night(logic, 30, 0.5) is True  # a leak on top of the new normal


def test_a_mistaken_dismissal_is_withdrawn_and_the_meter_alarms_again() -> None:
    logic = meter()
    for day in range(7):
        night(logic, day, 0.02)
    assert night(logic, 7, 0.25) is True  # a real leak
    assert logic.accept()  # dismissed by mistake
    assert {night(logic, d, 0.25) for d in range(8, 20)} == {False}
    assert logic.withdraw()  # a supervisor reverses it
    assert night(logic, 20, 0.25) is True
    assert not logic.withdraw()  # nothing taught any more


def test_the_taught_level_survives_a_restart() -> None:
    logic = meter()
    for day in range(7):
        night(logic, day, 0.02)
    night(logic, 7, 0.3)
    logic.accept()
    again = meter()
    again.recall(logic.memory())
    assert night(again, 8, 0.3) is False
    assert night(again, 9, 0.5) is True


def test_not_a_leak_teaches_the_level_judged_not_a_burst_after_the_alarm() -> None:
    """Fourth review of issue 20, H3: the alarm (and the dialog) show Friday's level; the pipe
    bursts on Saturday while the alarm stays active; Monday's right "not a leak" (Friday was
    the tank cleaning) taught the burst's level and silenced it for good. Now the lesson
    carries the level judged (the alarm's value), and the burst alarms again."""
    logic = meter()
    for day in range(7):
        night(logic, day, 0.02)
    assert night(logic, 7, 0.30) is True  # Friday: the alarm is raised with 0.30
    assert night(logic, 8, 1.50) is True  # Saturday: a burst, the same alarm still active
    assert night(logic, 9, 1.50) is True
    assert logic.accept(0.30)  # Monday: "not a leak" on the alarm showing 0.30
    assert logic.taught == 0.30
    assert night(logic, 10, 1.50) is True  # the burst alarms again
    assert night(logic, 11, 0.30) is False  # the level judged does not


def test_a_new_normal_survives_a_quiet_night_and_ends_after_a_quiet_spell() -> None:
    """Fourth review of issue 20, M3: a 24-hour shop (0.30 m³/h at night) closed on Sundays
    (0.02): the lesson ended on every Sunday, so every Monday alarmed again — ten "not a
    leak" verdicts in ten weeks. A taught level now lasts until `TAUGHT_NIGHTS` normal nights
    in a row; the shop closing for good ends it, and a leak on top still alarms. The pack's
    rule as the rules service builds it."""
    [rule] = [r for r in load_rules(["meters"], []) if r.id == "meters.night_flow"]
    logic, _ = night_flow_logic(rule, Equipment("s", "WM", "water_meter", "B"))
    for day in range(7):
        night(logic, day, 0.02)
    assert night(logic, 7, 0.30) is True  # the shop opens
    assert logic.accept(0.30)
    weeks = [night(logic, d, 0.02 if d % 7 == 6 else 0.30) for d in range(8, 8 + 70)]
    assert True not in weeks  # was an alarm every Monday
    assert night(logic, 78, 0.60) is True  # a leak on top of the new normal
    logic = meter()
    for day in range(7):
        night(logic, day, 0.02)
    night(logic, 7, 0.30)
    logic.accept(0.30)
    assert [night(logic, d, 0.02) for d in range(8, 8 + TAUGHT_NIGHTS)] == [False] * TAUGHT_NIGHTS
    assert logic.taught is None  # the shop closed: back to the learned nights
    assert night(logic, 20, 0.30) is True
