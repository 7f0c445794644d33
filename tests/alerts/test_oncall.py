"""On-call rotas (pure): shifts and handovers in the site's zone, the cycle, holidays,
overrides; and the documents' checks."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from bldgwatch.alerts.documents import Contact, Policy, Rota
from bldgwatch.alerts.oncall import on_call

SHANGHAI = ZoneInfo("Asia/Shanghai")


def rota(**over: object) -> Rota:
    doc: dict[str, object] = {
        "id": "duty",
        "shifts": [{"name": "day", "start": "08:30"}, {"name": "night", "start": "20:30"}],
        "cycle": [
            {"primary": "zhang", "backup": "li"},
            {"primary": "wang", "backup": "zhao"},
            {"primary": "li", "backup": "zhang"},
        ],
        "anchor": "2026-12-01",
        "supervisor": "chen",
    }
    return Rota.model_validate({**doc, **over})


def local(day: int, hour: int, minute: int = 0, zone: ZoneInfo = SHANGHAI) -> datetime:
    return datetime(2026, 12, day, hour, minute, tzinfo=zone).astimezone(UTC)


@pytest.mark.parametrize(
    ("when", "primary", "shift"),
    [
        (local(1, 8, 30), "zhang", "day"),  # shift 0 from the anchor
        (local(1, 20, 29), "zhang", "day"),
        (local(1, 20, 30), "wang", "night"),  # the handover
        (local(2, 3, 0), "wang", "night"),  # a night shift belongs to the day it started
        (local(2, 8, 30), "li", "day"),
        (local(2, 21, 0), "zhang", "night"),  # the cycle of 3 wraps
        (local(1, 7, 0), "li", "night"),  # before the anchor's first shift: the one before
    ],
)
def test_the_cycle_takes_the_shifts_in_turn(when: datetime, primary: str, shift: str) -> None:
    who = on_call(rota(), when, SHANGHAI)
    assert (who.primary, who.shift, who.source) == (primary, shift, "cycle")
    assert who.supervisor == "chen"


def test_a_shift_knows_its_handovers() -> None:
    who = on_call(rota(), local(2, 3, 0), SHANGHAI)
    assert who.starts_at == local(1, 20, 30)
    assert who.ends_at == local(2, 8, 30)


def test_a_holiday_pair_covers_the_shifts_starting_that_day() -> None:
    r = rota(holidays=[{"date": "2026-12-02", "primary": "chen", "backup": "zhao", "name": "x"}])
    assert on_call(r, local(2, 9, 0), SHANGHAI).primary == "chen"
    assert on_call(r, local(2, 22, 0), SHANGHAI).source == "holiday"
    # The night shift of the day before runs into the holiday morning: not covered.
    assert on_call(r, local(2, 3, 0), SHANGHAI).primary == "wang"
    # The cycle kept counting under the holiday.
    assert on_call(r, local(3, 9, 0), SHANGHAI).primary == "wang"


def test_an_override_wins_for_its_hours_only() -> None:
    swap = {"start": "2026-12-02T02:00", "end": "2026-12-02T05:00", "primary": "zhao"}
    r = rota(overrides=[swap])
    who = on_call(r, local(2, 3, 0), SHANGHAI)
    assert (who.primary, who.backup, who.source) == ("zhao", None, "override")
    assert who.ends_at == local(2, 5, 0)
    assert on_call(r, local(2, 5, 0), SHANGHAI).primary == "wang"


def test_shifts_follow_the_zone_across_daylight_saving() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    r = rota(anchor="2026-03-28")
    # 29 March 2026: clocks go forward at 02:00; the 08:30 handover is still 08:30 local.
    before = datetime(2026, 3, 29, 8, 29, tzinfo=berlin).astimezone(UTC)
    after = datetime(2026, 3, 29, 8, 30, tzinfo=berlin).astimezone(UTC)
    assert on_call(r, before, berlin).shift == "night"
    assert on_call(r, after, berlin).shift == "day"
    assert after.hour == 6  # UTC+2 after the change


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        (
            {"shifts": [{"name": "a", "start": "20:00"}, {"name": "b", "start": "08:00"}]},
            "in order",
        ),
        ({"cycle": []}, "at least 1"),
        ({"holidays": [{"date": "2026-12-02", "primary": "a"}] * 2}, "twice"),
        (
            {
                "overrides": [
                    {"start": "2026-12-02T05:00", "end": "2026-12-02T04:00", "primary": "a"}
                ]
            },
            "after its start",
        ),
        ({"id": "has space"}, "pattern"),
    ],
)
def test_bad_rotas_are_refused_saying_why(doc: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        rota(**doc)


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        (
            {
                "steps": [
                    {"after_min": 5, "notify": ["primary"]},
                    {"after_min": 5, "notify": ["backup"]},
                ]
            },
            "in order",
        ),
        ({"rota": None}, "name the rota"),
        ({"steps": [{"after_min": 0, "notify": ["nobody"]}]}, "pattern"),
        ({"channels": []}, "at least 1"),
        ({"match": {"priorities": [5]}}, "1 … 4"),
        ({"quiet_hours": {"start": "22:00", "end": "07:00", "days": [9]}}, "weekdays"),
    ],
)
def test_bad_policies_are_refused_saying_why(doc: dict[str, object], message: str) -> None:
    base: dict[str, object] = {
        "id": "p",
        "rota": "duty",
        "channels": ["c"],
        "steps": [{"after_min": 0, "notify": ["primary"]}],
    }
    with pytest.raises(ValidationError, match=message):
        Policy.model_validate({**base, **doc})


@pytest.mark.parametrize(
    ("doc", "field"),
    [
        ({"phone": "12ab"}, "phone"),
        ({"email": "no-at-sign"}, "email"),
        ({"language": "fr"}, "language"),
    ],
)
def test_bad_contacts_are_refused(doc: dict[str, object], field: str) -> None:
    with pytest.raises(ValidationError, match=field):
        Contact.model_validate({"id": "x", "name": "X", **doc})
