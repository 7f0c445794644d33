"""The leak, waste and pump-drift rule kinds (night_flow, off_hours, energy_drift) through the
evaluator: local nights and schedules, learned baselines, holding verdicts. Time is the
readings' source time."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from bldgwatch.core.errors import ConfigError
from bldgwatch.core.models import Quality, Reading
from bldgwatch.core.site import MeterSpec, OccupancyWindow, primary_factor
from bldgwatch.core.workcal import CalendarSpec, is_workday
from bldgwatch.maintenance.pumpeff import HourMeans, efficiency
from bldgwatch.rules.evaluator import ConditionChange, Equipment, Evaluator
from bldgwatch.rules.schema import Rule, load_rules, parse_rule
from bldgwatch.rules.wastelogic import night_stretch

# Monday 2026-03-02 00:00 in Shanghai.
T0 = datetime(2026, 3, 1, 16, 0, tzinfo=UTC)
OFFICE = OccupancyWindow(start=time(8), end=time(19))


def rules() -> list[Rule]:
    return load_rules(["meters", "pump"], [])


def feed(
    ev: Evaluator, eq: str, point: str, values: list[tuple[datetime, float]]
) -> list[ConditionChange]:
    changes = []
    for at, value in values:
        reading = Reading(eq, point, int(at.timestamp() * 1000), value, Quality.GOOD)
        changes += ev.feed_batch("s", [reading])
    return changes


def minutes(days: float, flow: object, step_min: int = 10) -> list[tuple[datetime, float]]:
    """Samples every `step_min` minutes from T0; flow(local hour, day) gives the value."""
    out = []
    for i in range(int(days * 24 * 60 / step_min)):
        at = T0 + timedelta(minutes=i * step_min)
        local = at + timedelta(hours=8)
        out.append((at, flow(local.hour, (at - T0).days)))  # type: ignore[operator]
    return out


def test_a_night_window_over_midnight_belongs_to_the_evening_it_starts() -> None:
    from zoneinfo import ZoneInfo

    stretch = night_stretch("23:00-03:00", ZoneInfo("Asia/Shanghai"))
    evening = datetime(2026, 3, 2, 15, 30, tzinfo=UTC)  # 23:30 local on the 2nd
    small_hours = datetime(2026, 3, 2, 18, 30, tzinfo=UTC)  # 02:30 local on the 3rd
    noon = datetime(2026, 3, 3, 4, 0, tzinfo=UTC)
    ms = [int(t.timestamp() * 1000) for t in (evening, small_hours, noon)]
    assert stretch(ms[0]) == stretch(ms[1]) == datetime(2026, 3, 2).date()
    assert stretch(ms[2]) is None


def test_a_bad_night_window_is_refused_naming_it() -> None:
    raw = {
        "id": "m.n", "kind": "night_flow", "equipment_type": "water_meter", "point": "flow_m3h",
        "night": "2am-4am", "margin": 0.1, "severity": "minor", "priority": 3,
        "fault_code": "X", "family": "leak",
    }  # fmt: skip
    with pytest.raises(ConfigError, match=r"night.*2am-4am"):
        parse_rule(raw, source="t.yaml", index=0)
    raw |= {"night": "02:00-04:00", "min_learned": 20, "learn": 5}
    with pytest.raises(ConfigError, match="min_learned"):
        parse_rule(raw, source="t.yaml", index=0)


def test_night_flow_learns_the_nights_then_raises_on_a_leak_and_clears_after() -> None:
    ev = Evaluator(rules(), [Equipment("s", "WM", "water_meter", "B")])

    def flow(hour: int, day: int) -> float:
        use = 0.04 if 1 <= hour < 5 else 1.5
        return use + (0.3 if 5 <= day < 7 else 0.0)  # leaking on days 5 and 6

    changes = [
        c for c in feed(ev, "WM", "flow_m3h", minutes(9, flow)) if c.rule.id == "meters.night_flow"
    ]
    assert [(c.active, c.at.date().isoformat(), c.at.hour) for c in changes] == [
        (True, "2026-03-06", 20),  # the night of the 7th (local) ends at 04:00 = 20:00 UTC
        (False, "2026-03-08", 20),  # the first night after the leak is normal again
    ]
    assert changes[0].value == pytest.approx(0.34)
    assert changes[0].limit == pytest.approx(0.05)


def test_night_flow_does_not_judge_before_it_has_learned_three_nights() -> None:
    ev = Evaluator(rules(), [Equipment("s", "WM", "water_meter", "B")])
    leaking = minutes(3.5, lambda hour, day: 0.5)  # leaking from the first minute
    assert feed(ev, "WM", "flow_m3h", leaking) == []


def test_off_hours_use_raises_after_two_hours_over_the_base_load() -> None:
    meter = Equipment("s", "EM", "electricity_meter", "B", occupancy=(OFFICE,))
    ev = Evaluator(rules(), [meter])

    def power(hour: int, day: int) -> float:
        if day == 4 and 20 <= hour < 24:
            return 40.0  # lights and AC left on after hours on Friday evening
        return 60.0 if 8 <= hour < 19 and day < 5 else 10.0  # an office: closed at weekends

    changes = feed(ev, "EM", "power_kw", minutes(7, power))
    active = [(c.active, (c.at + timedelta(hours=8)).strftime("%a %H:%M")) for c in changes]
    # Hours are judged when they end: 20-21 and 21-22 over the base load (two in a row) →
    # active at 22:00; cleared at 01:00 when the hour from midnight is judged normal.
    assert active == [(True, "Fri 22:00"), (False, "Sat 01:00")]
    assert changes[0].value == pytest.approx(40.0)


def test_a_ct_meter_is_judged_on_the_primary_side() -> None:
    """Review of issue 20, N10: a mains meter behind 400/5 A CTs (ratio 80) reads the
    secondary side: a base load of 8 kW is 0.1 kW on it, 96 kW left on after hours 1.2 kW.
    The off-hours rule judges the building's figures (its 5 kW margin is the building's), so
    the waste is flagged, with the primary power in the alarm."""
    meter = Equipment(
        "s", "EM", "electricity_meter", "B", occupancy=(OFFICE,), meter=MeterSpec(ratio=80)
    )
    ev = Evaluator(rules(), [meter])

    def power(hour: int, day: int) -> float:
        if day == 4 and 20 <= hour < 24:
            return 1.2  # 96 kW on the primary side after hours on Friday evening
        return 0.75 if 8 <= hour < 19 and day < 5 else 0.1

    changes = feed(ev, "EM", "power_kw", minutes(7, power))
    assert [c.active for c in changes] == [True, False]
    assert changes[0].value == pytest.approx(96.0)
    # The same readings without the ratio: 1.2 kW is within the 5 kW margin, nothing raised.
    plain = Evaluator(
        rules(), [Equipment("s", "EM", "electricity_meter", "B", occupancy=(OFFICE,))]
    )
    assert feed(plain, "EM", "power_kw", minutes(7, power)) == []


def test_primary_factor_by_point() -> None:
    lv, mv = MeterSpec(ratio=80), MeterSpec(ratio=2000, pt_ratio=100)  # 400/5 A; 100/5 A, 10 kV
    assert [primary_factor("electricity_meter", lv, p) for p in _POINTS] == [80, 80, 80, 1, 1, 1]
    assert [primary_factor("electricity_meter", mv, p) for p in _POINTS] == [
        2000,
        2000,
        20,
        100,
        1,
        1,
    ]
    assert primary_factor("water_meter", lv, "volume_m3") == 1.0
    assert primary_factor("electricity_meter", None, "power_kw") == 1.0


_POINTS = ("power_kw", "energy_kwh", "current_l1_a", "voltage_l1_v", "power_factor", "frequency_hz")


def test_off_hours_is_not_applied_without_a_schedule() -> None:
    ev = Evaluator(rules(), [Equipment("s", "EM", "electricity_meter", "B")])
    assert [key[2] for key, _ in ev.skipped] == ["meters.power_off_hours"]


def test_energy_drift_flags_a_pump_whose_kwh_per_m3_rises_over_its_early_baseline() -> None:
    pump = Equipment("s", "P", "pump", "B", {}, {"current_a": 30.0})
    ev = Evaluator(rules(), [pump])
    changes = []
    for day in range(20):
        flow = 30.0 * (1.0 - 0.25 * max(0, day - 10) / 9)  # the impeller wears from day 10
        for i in range(0, 24 * 60, 10):
            at = T0 + timedelta(days=day, minutes=i)
            changes += feed(ev, "P", "motor_current_a", [(at, 20.0)])
            changes += feed(ev, "P", "flow_m3h", [(at, flow)])
    drift = [c for c in changes if c.rule.id == "pump.energy_drift"]
    assert [c.active for c in drift] == [True]
    first = drift[0]
    assert first.limit == pytest.approx(0.10)
    assert first.at.date() >= (T0 + timedelta(days=15)).date()
    baseline = 3**0.5 * 380 * 20 * 0.85 / 1000 / 30  # kWh per m³ of the sound pump
    assert first.value is not None and first.value > baseline * 1.10


def test_energy_drift_takes_the_baseline_from_the_register_when_given() -> None:
    rated = {"current_a": 30.0, "specific_energy_kwh_m3": 0.2}
    ev = Evaluator(rules(), [Equipment("s", "P", "pump", "B", {}, rated)])
    changes = []
    for day in range(7):
        for i in range(0, 24 * 60, 10):
            at = T0 + timedelta(days=day, minutes=i)
            changes += feed(ev, "P", "motor_current_a", [(at, 20.0)])
            changes += feed(ev, "P", "flow_m3h", [(at, 30.0)])  # 0.373 kWh/m³ from day one
    assert [c.active for c in changes if c.rule.id == "pump.energy_drift"] == [True]


def _restarted(ev: Evaluator, eq: Equipment, active: set[str]) -> Evaluator:
    """A new evaluator continuing from the old one's memories (as the rules service does after
    a restart: open alarms restored, then the stored memories recalled), through JSON."""
    stored = json.loads(  # (the store keeps every memory saved: all of them)
        json.dumps({"|".join(k): m for k, m in ev.memories(everything=True).items()})
    )
    fresh = Evaluator(rules(), [eq])
    for rule in active:
        assert fresh.restore(("s", eq.id, rule), active=True, suppressed=False)
    for key, memory in stored.items():
        assert fresh.recall(tuple(key.split("|")), memory)  # type: ignore[arg-type]
    return fresh


def test_a_restarted_evaluator_keeps_the_learned_nights_and_the_leak_stays_flagged() -> None:
    """Review of issue 20, F5: learn, raise, restart from the memory: the leak stays flagged
    (before, the restarted meter learned the leak as its normal night and cleared the alarm)."""
    meter = Equipment("s", "WM", "water_meter", "B")
    ev = Evaluator(rules(), [meter])

    def flow(hour: int, day: int) -> float:
        return (0.04 if 1 <= hour < 5 else 1.5) + (0.3 if day >= 5 else 0.0)  # leak from day 5

    samples = minutes(14, flow)
    first, then = samples[: 7 * 144], samples[7 * 144 :]
    raised = [
        c.active for c in feed(ev, "WM", "flow_m3h", first) if c.rule.id == "meters.night_flow"
    ]
    assert raised == [True]
    ev = _restarted(ev, meter, {"meters.night_flow"})
    later = [c for c in feed(ev, "WM", "flow_m3h", then) if c.rule.id == "meters.night_flow"]
    assert later == []  # seven more leak nights: still active, never cleared
    memory = ev.memories(everything=True)[("s", "WM", "meters.night_flow")]
    assert memory["learned"] == pytest.approx([0.04] * 5)  # the leak was never learned


def test_not_a_leak_makes_the_level_the_new_normal_and_a_later_rise_still_alarms() -> None:
    """Review of issue 20, N12: night use rises for good (0.02 → 0.3 m³/h, a 24-hour shop);
    a person answers "not a leak": the alarm clears at the next reading and the same level
    raises nothing again, while a later rise above it (a real leak) raises a new alarm."""
    meter = Equipment("s", "WM", "water_meter", "B")
    ev = Evaluator(rules(), [meter])
    key = ("s", "WM", "meters.night_flow")

    def flow(hour: int, day: int) -> float:
        night = 0.02 if day < 6 else 0.3 if day < 14 else 0.7  # new normal, then a leak on it
        return night if 1 <= hour < 5 else 1.5

    samples = minutes(20, flow)
    first, then = samples[: 7 * 144], samples[7 * 144 :]
    raised = [c.active for c in feed(ev, "WM", "flow_m3h", first) if c.rule.id == key[2]]
    assert raised == [True]
    assert ev.teach(key)  # the verdict, as the rules service takes it from `rule_lessons`
    later = [c for c in feed(ev, "WM", "flow_m3h", then) if c.rule.id == key[2]]
    assert [c.active for c in later] == [False, True]
    assert later[0].at < T0 + timedelta(days=7, minutes=20)  # cleared at the next reading
    assert later[1].at.date() == (T0 + timedelta(days=14)).date()  # the leak's first night
    assert not ev.teach(("s", "WM", "meters.off_hours"))  # nothing alarmed: nothing to learn


def test_a_restarted_evaluator_keeps_a_pumps_early_baseline() -> None:
    """Review of issue 20, F9 (the rule's half): the early baseline is kept across a restart,
    so wear that began before it is still drift, not the pump's new normal."""
    pump = Equipment("s", "P", "pump", "B", {}, {"current_a": 30.0})
    ev = Evaluator(rules(), [pump])
    changes = []
    for day in range(20):
        if day == 10:
            ev = _restarted(ev, pump, set())
        flow = 30.0 * (1.0 - 0.25 * max(0, day - 8) / 9)  # wear from day 8, restart on day 10
        for i in range(0, 24 * 60, 10):
            at = T0 + timedelta(days=day, minutes=i)
            changes += feed(ev, "P", "motor_current_a", [(at, 20.0)])
            changes += feed(ev, "P", "flow_m3h", [(at, flow)])
    drift = [c for c in changes if c.rule.id == "pump.energy_drift"]
    assert [c.active for c in drift] == [True]
    baseline = 3**0.5 * 380 * 20 * 0.85 / 1000 / 30
    memory = ev.memories(everything=True)[("s", "P", "pump.energy_drift")]
    assert memory["baseline"] == pytest.approx(baseline, rel=0.01)


def _pump_days(ev: Evaluator, days: range, current: object, flow: object) -> list[ConditionChange]:
    """A pump running all day, a reading every 10 min; current(day), flow(day) per day."""
    changes = []
    for day in days:
        for i in range(0, 24 * 60, 10):
            at = T0 + timedelta(days=day, minutes=i)
            changes += feed(ev, "P", "motor_current_a", [(at, current(day))])  # type: ignore[operator]
            changes += feed(ev, "P", "flow_m3h", [(at, flow(day))])  # type: ignore[operator]
    return [c for c in changes if c.rule.id == "pump.energy_drift"]


def test_a_pump_replaced_by_a_bigger_one_is_learned_again_from_the_replacement() -> None:
    """Third review of issue 20, M3: the register's last overhaul moves (a bigger pump, 30 A
    for 40 m³/h: +12.5 % kWh/m³ on the old one's 20 A for 30 m³/h); the rule forgets its
    baseline and learns again from that day, as the pump page's kept baseline does. Before,
    the new pump was judged against the old one's baseline: a drift alarm within 5 days.
    Wear of the new impeller (from day 24) is still a drift."""
    pump = Equipment("s", "P", "pump", "B", {}, {"current_a": 40.0})
    key = ("s", "P", "pump.energy_drift")
    ev = Evaluator(rules(), [pump])
    local_day0 = (T0 + timedelta(hours=8)).date()
    assert not ev.renew("s", "P", date(2024, 5, 1))  # the install, given at start: nothing learned
    old = _pump_days(ev, range(10), lambda d: 20.0, lambda d: 30.0)
    assert old == []
    assert ev.memories(everything=True)[key]["baseline"] == pytest.approx(
        3**0.5 * 380 * 20 * 0.85 / 1000 / 30, rel=0.01
    )
    replaced = local_day0 + timedelta(days=10)
    assert ev.renew("s", "P", replaced)  # the maintenance service moved `last_overhaul`
    assert not ev.renew("s", "P", replaced)  # the same date again: nothing to forget
    ev = _restarted(ev, pump, set())  # the date is kept with what was learned
    assert not ev.renew("s", "P", replaced)

    def flow(day: int) -> float:
        return 40.0 * (1.0 - 0.25 * max(0, day - 24) / 9)  # the new impeller wears from day 24

    new = _pump_days(ev, range(10, 24), lambda d: 30.0, flow)
    assert new == []  # was [True] on day 15: judged against the old pump's baseline
    worn = _pump_days(ev, range(24, 40), lambda d: 30.0, flow)
    assert [c.active for c in worn] == [True]
    memory = ev.memories(everything=True)[key]
    assert memory["baseline"] == pytest.approx(3**0.5 * 380 * 30 * 0.85 / 1000 / 40, rel=0.01)
    assert memory["since"] == replaced.isoformat()


def test_an_overhaul_clears_a_standing_drift_and_days_before_it_teach_nothing() -> None:
    """The overhaul that follows a drift order clears the drift; a date recorded late makes
    the days before it (the worn pump's) no part of the new baseline."""
    pump = Equipment("s", "P", "pump", "B", {}, {"current_a": 40.0})
    key = ("s", "P", "pump.energy_drift")
    ev = Evaluator(rules(), [pump])
    local_day0 = (T0 + timedelta(hours=8)).date()
    ev.renew("s", "P", None)  # neither install nor overhaul known
    worn = _pump_days(ev, range(14), lambda d: 20.0, lambda d: 30.0 if d < 7 else 24.0)
    assert [c.active for c in worn] == [True]
    overhauled = local_day0 + timedelta(days=16)
    assert ev.renew("s", "P", overhauled)  # recorded on day 14 for day 16 (planned)
    after = _pump_days(ev, range(14, 30), lambda d: 20.0, lambda d: 24.0 if d < 16 else 30.0)
    assert [c.active for c in after] == [False]  # cleared at the next reading
    assert after[0].at < T0 + timedelta(days=14, minutes=10)
    memory = ev.memories(everything=True)[key]
    assert memory["baseline"] == pytest.approx(3**0.5 * 380 * 20 * 0.85 / 1000 / 30, rel=0.01)


def test_a_pulse_meter_is_judged_on_the_flow_its_counter_gives() -> None:
    """Review of issue 20, F16: a pulse meter reports only its count (10 litres a pulse); the
    night-flow rule derives the flow from the count's rise over 15-minute spans and raises
    the leak that starts on day 5, and the pulse counter's steps raise nothing before it."""
    ev = Evaluator(rules(), [Equipment("s", "PM", "water_meter", "B")])

    def flow(hour: int, day: int) -> float:
        return (0.04 if 1 <= hour < 5 else 1.5) + (0.3 if day >= 5 else 0.0)

    volume, counted = 0.0, list[tuple[datetime, float]]()
    for at, rate in minutes(8, flow, step_min=5):
        counted.append((at, float(int(volume * 100)) / 100))  # whole pulses of 10 litres
        volume += rate * 5 / 60
    changes = [c for c in feed(ev, "PM", "volume_m3", counted) if c.rule.id == "meters.night_flow"]
    assert [c.active for c in changes] == [True]
    assert changes[0].at.date() == (T0 + timedelta(days=5)).date()  # the first leaking night
    assert changes[0].value == pytest.approx(0.34, abs=0.05)


def _pulses(samples: list[tuple[datetime, float]], litres: float) -> list[tuple[datetime, float]]:
    """The count a pulse meter of `litres` a pulse shows (m³, whole pulses) for a flow."""
    volume, out = 0.0, []
    for (at, rate), (nxt, _) in zip(samples, [*samples[1:], samples[-1]], strict=True):
        out.append((at, int(volume * 1000 / litres) * litres / 1000))
        volume += rate * (nxt - at).total_seconds() / 3600
    return out


@pytest.mark.parametrize(("litres", "leak"), [(10.0, 0.06), (100.0, 0.3)])
def test_a_pulse_meter_sees_the_small_leak_a_register_meter_sees(
    litres: float, leak: float
) -> None:
    """Review of issue 20, N2: a leak just over the margin (0.05 m³/h) on a building quiet
    at night, 1-minute polls. A flow-register meter flags it from its first night; a pulse
    meter of 10 L (and a 100 L copy of the profile with a 0.3 m³/h leak) did not — the
    minimum of 15-minute spans read a pulse low. Judged on the night's whole count it flags
    the same nights, and clears after the leak is fixed."""
    meters = [Equipment("s", m, "water_meter", "B") for m in ("WM", "PM")]
    ev = Evaluator(rules(), meters)

    def flow(hour: int, day: int) -> float:
        quiet = 1 <= hour < 5
        return (0.0 if quiet else 1.5) + (leak if 5 <= day < 8 else 0.0)

    samples = minutes(10, flow, step_min=1)
    register = feed(ev, "WM", "flow_m3h", samples)
    counted = feed(ev, "PM", "volume_m3", _pulses(samples, litres))
    seen = {
        name: [(c.active, c.at.date()) for c in found if c.rule.id == "meters.night_flow"]
        for name, found in (("register", register), ("pulse", counted))
    }
    assert seen["register"] == [
        (True, (T0 + timedelta(days=5)).date()),
        (False, (T0 + timedelta(days=8)).date()),
    ]
    assert seen["pulse"] == seen["register"]


def test_a_meter_that_gives_its_flow_is_not_judged_on_its_counter() -> None:
    """The same rule on a Modbus meter (flow and volume): its counter is not used, so a
    counter that leaps (a replaced meter) raises nothing while the flow is normal."""
    ev = Evaluator(rules(), [Equipment("s", "WM", "water_meter", "B")])
    samples = minutes(6, lambda hour, day: 0.04 if 1 <= hour < 5 else 1.5)
    changes = []
    for i, (at, rate) in enumerate(samples):
        ms = int(at.timestamp() * 1000)
        batch = [
            Reading("WM", "flow_m3h", ms, rate, Quality.GOOD),
            Reading("WM", "volume_m3", ms, 1000.0 * i, Quality.GOOD),  # nonsense counter
        ]
        changes += ev.feed_batch("s", batch)
    assert [c for c in changes if c.rule.id.startswith("meters.")] == []


def test_expected_use_off_hours_is_a_lasting_new_normal_and_a_further_rise_still_alarms() -> None:
    """Third review of issue 20, M2: off-hours use rises for good (a 24-hour tenant from day
    7: 24 kW in the evenings, 34 kW in the small hours, over a 10 kW base load); a person
    answers "expected use" on the alarm: it clears and the tenant's varying use raises
    nothing more — not even after an hour back at the base load (a lull is no end of the
    tenant) — while a further rise on top of it (60 kW from day 16) raises a new alarm.
    A supervisor's reversal re-arms the meter on the tenant's level."""
    meter = Equipment("s", "EM", "electricity_meter", "B", occupancy=(OFFICE,))
    ev = Evaluator(rules(), [meter])
    key = ("s", "EM", "meters.power_off_hours")

    def power(hour: int, day: int) -> float:
        if 8 <= hour < 19 and day % 7 < 5:
            return 60.0  # the office, weekdays
        if day < 7 or (day == 11 and hour in (2, 3)):
            return 10.0  # the base load (and a lull of the tenant on day 11)
        tenant = 24.0 if hour >= 19 else 34.0
        return tenant + (50.0 if day >= 16 else 0.0)

    samples = minutes(20, power)
    first = [s for s in samples if s[0] <= T0 + timedelta(days=7, hours=13)]  # to Mon 21:00
    then = samples[len(first) :]
    raised = [c.active for c in feed(ev, "EM", "power_kw", first) if c.rule.id == key[2]]
    assert raised == [True]
    assert ev.teach(key)  # "expected use", as the rules service takes it from `rule_lessons`
    later = [c for c in feed(ev, "EM", "power_kw", then) if c.rule.id == key[2]]
    assert [c.active for c in later] == [False, True]
    assert later[1].at >= T0 + timedelta(days=16)  # only the further rise alarms again
    memory = ev.memories(everything=True)[key]
    assert memory["learned"] == pytest.approx([10.0] * len(memory["learned"]))  # never learned
    assert ev.teach(key, withdraw=True)
    assert ev.memories(everything=True)[key]["taught"] is None


def _page_and_rule(
    days: int, current: object, flow: object, since_day: int | None
) -> tuple[bool, bool | None]:
    """The pump page's `drifting` (`maintenance.pumpeff`, from hourly means of the readings
    since the register's date, as `pumpstore` reads them) and the rule's verdict on the same
    readings, the rule given the same date; the pump installed before its first day."""
    zone = ZoneInfo("Asia/Shanghai")
    pump = Equipment("s", "P", "pump", "B", {}, {"current_a": 40.0})
    ev = Evaluator(rules(), [pump])
    day0 = (T0 + timedelta(hours=8)).date()
    ev.renew("s", "P", date(2024, 5, 1))
    if since_day is not None:
        _pump_days(ev, range(since_day), current, flow)
        ev.renew("s", "P", day0 + timedelta(days=since_day))
    _pump_days(ev, range(since_day or 0, days), current, flow)
    hours = [
        HourMeans(T0 + timedelta(days=d, hours=h), flow(d), 3.0, current(d), 6)  # type: ignore[operator]
        for d in range(days)
        for h in range(24)
    ]
    early = [h for h in hours if since_day is None or h.at >= T0 + timedelta(days=since_day)]
    page = efficiency("P", hours[-28 * 24 :], early, zone, rated=pump.rated, params={})
    memory = ev.memories(everything=True)[("s", "P", "pump.energy_drift")]
    return page.drifting, memory["verdict"]


def test_the_pump_page_and_the_rule_agree_on_the_reviews_drift_and_on_a_replaced_pump() -> None:
    """Third review of issue 20, M3: P-01 18 days, motor current +15 % from day 11 — the page
    and the rule both say drifting (one baseline: the first days since install); a pump
    replaced on day 8 by a bigger one (30 A for 40 m³/h) — neither does (before: the rule
    judged the new pump against the old one's baseline and said drifting)."""
    worn = _page_and_rule(18, lambda d: 20.0 * (1.15 if d >= 11 else 1.0), lambda d: 30.0, None)
    assert worn == (True, True)
    bigger = _page_and_rule(
        24, lambda d: 20.0 if d < 8 else 30.0, lambda d: 30.0 if d < 8 else 40.0, 8
    )
    assert bigger == (False, False)


# -- the site's working calendar (D5): holidays and make-up workdays in the schedule ----------
# Monday 2026-09-21 00:00 in Shanghai: three weeks over the National Day holiday (1–7 October)
# and its make-up Saturday (10 October, 调休上班).
AUTUMN = datetime(2026, 9, 20, 16, 0, tzinfo=UTC)
WORKDAY_OFFICE = OccupancyWindow(start=time(8), end=time(19))  # Monday to Friday


def _office_weeks(lights_left_on: str | None = None) -> list[tuple[datetime, float]]:
    """An office working China's official days 08–19 (60 kW), 10 kW otherwise; on
    `lights_left_on` (a local date) the daytime load is left on though nobody works."""
    cal = CalendarSpec(official="cn")
    out = []
    for i in range(21 * 24 * 6):
        at = AUTUMN + timedelta(minutes=i * 10)
        local = at + timedelta(hours=8)
        day = local.date()
        working = is_workday(cal, day) or day.isoformat() == lights_left_on
        out.append((at, 60.0 if working and 8 <= local.hour < 19 else 10.0))
    return out


def _alarms(calendar: CalendarSpec | None, samples: list[tuple[datetime, float]]) -> list[str]:
    meter = Equipment(
        "s", "EM", "electricity_meter", "B", occupancy=(WORKDAY_OFFICE,), calendar=calendar
    )
    changes = feed(Evaluator(rules(), [meter]), "EM", "power_kw", samples)
    return [(c.at + timedelta(hours=8)).strftime("%m-%d %H:%M") for c in changes if c.active]


def test_a_make_up_saturdays_daytime_use_is_no_waste_on_the_official_calendar() -> None:
    # Monday-to-Friday only: the 调休 Saturday's office day is off-hours use (a false alarm)
    assert [a[:5] for a in _alarms(None, _office_weeks())] == ["10-10"]
    assert _alarms(CalendarSpec(official="cn"), _office_weeks()) == []


def test_a_holiday_mondays_daytime_use_is_waste_on_the_official_calendar() -> None:
    samples = _office_weeks(lights_left_on="2026-10-05")  # Monday of the National Day week
    found = _alarms(CalendarSpec(official="cn"), samples)
    assert [a[:5] for a in found] == ["10-05"]
    # Monday-to-Friday only, that Monday is a workday: the waste is missed (and the make-up
    # Saturday alarms instead)
    assert "10-05" not in [a[:5] for a in _alarms(None, samples)]


def test_expected_use_on_weekday_nights_lasts_across_the_quiet_weekends() -> None:
    """Fifth review of issue 20, M3: a tenant working weekday nights (40 kW Mon–Fri 20:00–
    06:00 from week 2 over a 10 kW base load, the office Mon–Fri 08–19): "expected use" on
    its first alarm ended at each weekend's quiet off-hours (a day's worth of them), and the
    alarm was back every Monday night. Now only two whole weeks of quiet off-hours end it:
    four weeks later, no more alarm; once the tenant has been gone two weeks, its return is
    an alarm again."""
    meter = Equipment("s", "EM", "electricity_meter", "B", occupancy=(OFFICE,))
    ev = Evaluator(rules(), [meter])
    key = ("s", "EM", "meters.power_off_hours")

    def power(hour: int, day: int) -> float:
        weekday = day % 7  # T0 is a Monday
        if 8 <= hour < 19 and weekday < 5:
            return 60.0
        gone = 42 <= day < 63  # the tenant away three weeks
        evening = weekday < 5 and hour >= 20
        small_hours = 0 < weekday <= 5 and hour < 6  # the night that began the day before
        if day >= 14 and not gone and (evening or small_hours):
            return 40.0
        return 10.0

    raised: list[str] = []
    for at, value in minutes(70, power):
        for c in feed(ev, "EM", "power_kw", [(at, value)]):
            if c.rule.id == key[2] and c.active:
                raised.append((c.at + timedelta(hours=8)).strftime("%a %d %b"))
                assert ev.teach(key)  # the engineer's "expected use", each time
    # before: ['Mon 16 Mar', 'Mon 23 Mar', 'Mon 30 Mar', 'Mon 06 Apr', …] — every Monday night
    assert raised == ["Mon 16 Mar", "Mon 04 May"], raised


def test_expected_use_lasts_over_the_spring_festival() -> None:
    """Review 20f, L1: the 2026 Spring Festival (15–23 February) is nine days of off-hours,
    216 quiet hours — two weeks' worth of a weekday-night tenant's quiet off-hours by itself:
    "expected use" ended on its last day and the tenant's first night back (24 February) was
    an alarm again. A holiday's off-hours no longer count toward ending it."""
    cn = CalendarSpec(official="cn")
    office = OccupancyWindow(start=time(8), end=time(20))  # 108 off-hours a week, 216 in two
    meter = Equipment("s", "EM", "electricity_meter", "B", occupancy=(office,), calendar=cn)
    ev = Evaluator(rules(), [meter])
    key = ("s", "EM", "meters.power_off_hours")
    start = datetime(2026, 1, 4, 16, 0, tzinfo=UTC)  # Monday 5 January, local midnight
    raised: list[str] = []
    for i in range(8 * 7 * 24 * 6):
        at = start + timedelta(minutes=i * 10)
        local = at + timedelta(hours=8)
        night_of = local.date() if local.hour >= 20 else local.date() - timedelta(days=1)
        on_shift = local.hour >= 20 or local.hour < 6
        if is_workday(cn, local.date()) and 8 <= local.hour < 20:
            value = 60.0  # the office
        elif night_of >= date(2026, 1, 19) and on_shift and is_workday(cn, night_of):
            value = 40.0  # the tenant, the nights that start on a working day
        else:
            value = 10.0
        for c in feed(ev, "EM", "power_kw", [(at, value)]):
            if c.rule.id == key[2] and c.active:
                raised.append((c.at + timedelta(hours=8)).strftime("%a %d %b"))
                assert ev.teach(key)  # the engineer's "expected use", each time
    assert raised == ["Mon 19 Jan"]  # before: ['Mon 19 Jan', 'Tue 24 Feb']
