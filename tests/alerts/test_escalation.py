"""Escalation plans (pure): which policies take an alarm, the notices over time, what a
moment makes due (collapsed after a gap), quiet hours."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bldgwatch.alerts.documents import Policy
from bldgwatch.alerts.escalation import AlarmFacts, occurrences, plan, policy_applies, quiet_until

SHANGHAI = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 12, 5, 19, 0, tzinfo=UTC)  # 03:00 in Shanghai, a Sunday


def facts(**over: object) -> AlarmFacts:
    base: dict[str, object] = {
        "alarm_id": "a1",
        "site": "demo",
        "building": "B1",
        "equipment": "E-01",
        "equipment_type": "elevator",
        "rule": "elevator.entrapment_at_floor",
        "fault_code": "ELEV_ENTRAPMENT_AT_FLOOR",
        "family": "entrapment",
        "severity": "critical",
        "priority": 1,
        "message": "E-01: passengers trapped",
        "value": 1.0,
        "raised_at": T0,
    }
    return AlarmFacts(**{**base, **over})  # type: ignore[arg-type]


def policy(**over: object) -> Policy:
    doc: dict[str, object] = {
        "id": "p1",
        "rota": "duty",
        "channels": ["robot"],
        "steps": [
            {"after_min": 0, "notify": ["primary"]},
            {"after_min": 10, "notify": ["backup"]},
            {"after_min": 20, "notify": ["supervisor"]},
        ],
        "repeat_every_min": 3,
        "max_repeats": 2,
    }
    return Policy.model_validate({**doc, **over})


def test_occurrences_escalate_and_repeat_to_everyone_reached() -> None:
    got = [
        (o.key, (o.due - T0) / timedelta(minutes=1), o.targets) for o in occurrences(policy(), T0)
    ]
    assert got == [
        ("0.0", 0, ("primary",)),
        ("0.1", 3, ("primary",)),
        ("0.2", 6, ("primary",)),  # max_repeats 2: no third repeat before level 1
        ("1.0", 10, ("backup",)),
        ("1.1", 13, ("primary", "backup")),
        ("1.2", 16, ("primary", "backup")),
        ("2.0", 20, ("supervisor",)),
        ("2.1", 23, ("primary", "backup", "supervisor")),
        ("2.2", 26, ("primary", "backup", "supervisor")),
    ]


def test_repeats_stop_at_the_next_level() -> None:
    p = policy(repeat_every_min=5, max_repeats=10)
    keys = [o.key for o in occurrences(p, T0) if o.level == 0]
    assert keys == ["0.0", "0.1"]  # 5 min; 10 min is level 1's start


def test_plan_issues_due_steps_and_says_when_to_look_again() -> None:
    p = policy()
    first = plan(p, start=T0, issued=0, now=T0, priority=1, zone=SHANGHAI)
    assert [o.key for o in first.issue] == ["0.0"]
    assert first.issued == 1 and first.next_at == T0 + timedelta(minutes=3)
    nothing = plan(p, start=T0, issued=1, now=T0 + timedelta(minutes=2), priority=1, zone=SHANGHAI)
    assert nothing.issue == [] and nothing.issued == 1


def test_a_gap_is_collapsed_level_starts_kept_repeats_only_the_latest() -> None:
    later = plan(
        policy(), start=T0, issued=1, now=T0 + timedelta(minutes=17), priority=1, zone=SHANGHAI
    )
    assert [o.key for o in later.issue] == ["1.0", "1.2"]
    assert later.issued == 6 and later.next_at == T0 + timedelta(minutes=20)


def test_the_plan_ends() -> None:
    end = plan(policy(), start=T0, issued=0, now=T0 + timedelta(hours=5), priority=1, zone=SHANGHAI)
    assert end.issued == 9 and end.next_at is None


def test_quiet_hours_hold_low_priorities_until_the_window_ends() -> None:
    quiet = {"start": "22:00", "end": "07:00", "priorities": [3, 4]}
    p = policy(quiet_hours=quiet)
    held = plan(p, start=T0, issued=0, now=T0, priority=3, zone=SHANGHAI)
    assert held.issue == [] and held.issued == 0
    assert held.next_at == datetime(2026, 12, 5, 23, 0, tzinfo=UTC)  # 07:00 Shanghai
    loud = plan(p, start=T0, issued=0, now=T0, priority=1, zone=SHANGHAI)
    assert [o.key for o in loud.issue] == ["0.0"]
    # At 07:00 what fell due meanwhile goes out, collapsed.
    morning = plan(p, start=T0, issued=0, now=held.next_at, priority=3, zone=SHANGHAI)
    assert [o.key for o in morning.issue] == ["0.0", "1.0", "2.0", "2.2"]


def test_quiet_until_before_midnight_ends_next_morning() -> None:
    p = policy(quiet_hours={"start": "22:00", "end": "07:00"})
    evening = datetime(2026, 12, 5, 14, 30, tzinfo=UTC)  # 22:30 Shanghai
    assert quiet_until(p.quiet_hours, 4, evening, SHANGHAI) == datetime(
        2026, 12, 5, 23, 0, tzinfo=UTC
    )
    noon = datetime(2026, 12, 5, 4, 0, tzinfo=UTC)
    assert quiet_until(p.quiet_hours, 4, noon, SHANGHAI) is None


@pytest.mark.parametrize(
    ("match", "hours", "alarm", "applies"),
    [
        ({}, [], {}, True),
        ({"priorities": [1]}, [], {"priority": 2}, False),
        ({"equipment_types": ["pump"]}, [], {}, False),
        ({"rules": ["elevator.entrapment_*"]}, [], {}, True),
        ({"rules": ["pump.*"]}, [], {}, False),
        ({"buildings": ["B2"]}, [], {}, False),
        ({"fault_codes": ["ELEV_ENTRAPMENT*"]}, [], {}, True),
        # Night hours in Shanghai: 03:00 is inside 22:00-08:00, not inside 08:00-22:00.
        ({}, [{"start": "22:00", "end": "08:00"}], {}, True),
        ({}, [{"start": "08:00", "end": "22:00"}], {}, False),
        ({}, [{"start": "22:00", "end": "08:00", "days": [0, 1, 2, 3, 4]}], {}, False),
    ],
)
def test_policy_matching(
    match: dict[str, object], hours: list[object], alarm: dict[str, object], applies: bool
) -> None:
    p = policy(match=match, hours=hours)
    assert policy_applies(p, facts(**alarm), SHANGHAI) is applies


def test_a_disabled_policy_takes_nothing() -> None:
    assert not policy_applies(policy(enabled=False), facts(), SHANGHAI)
