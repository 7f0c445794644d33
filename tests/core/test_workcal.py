"""A site's working calendar (D5, issues 19/20): China's official holidays and make-up
workdays from `chinesecalendar`, the site's own days over them, Monday to Friday without one
and outside the years the package knows."""

from __future__ import annotations

import logging
from datetime import date, datetime

import pytest

from bldgwatch.core import workcal
from bldgwatch.core.config import parse_config
from bldgwatch.core.errors import ConfigError
from bldgwatch.core.site import OccupancyWindow, SiteSpec, occupied
from bldgwatch.core.workcal import CalendarSpec, is_workday, special_days, weekday_as

SITE = {"site": "s", "buildings": [{"id": "B1"}], "equipment": []}
CN = CalendarSpec(official="cn")


def test_official_cn_knows_national_day_and_the_make_up_saturday() -> None:
    assert not is_workday(CN, date(2026, 10, 1))  # Thursday, 国庆
    assert is_workday(CN, date(2026, 10, 10))  # Saturday, 调休上班
    assert is_workday(CN, date(2026, 9, 20))  # Sunday, 调休上班
    assert is_workday(CN, date(2026, 10, 12))  # an ordinary Monday
    # without a calendar: Monday to Friday, as before
    assert is_workday(None, date(2026, 10, 1)) and not is_workday(None, date(2026, 10, 10))


def test_the_sites_own_days_override_the_official_calendar() -> None:
    cal = parse_config(
        {
            **SITE,
            "calendar": {
                "official": "cn",
                "holidays": [date(2026, 10, 9), {"from": "2026-12-24", "to": "2026-12-25"}],
                "workdays": ["2026-10-07"],
            },
        },
        SiteSpec,
    ).calendar
    assert cal is not None
    assert not is_workday(cal, date(2026, 10, 9))  # Friday, the site's own
    assert not is_workday(cal, date(2026, 12, 24)) and not is_workday(cal, date(2026, 12, 25))
    assert is_workday(cal, date(2026, 10, 7))  # worked though official holiday
    assert cal.stored()["holidays"][1] == {"from": "2026-12-24", "to": "2026-12-25"}
    assert CalendarSpec.model_validate(cal.stored()) == cal


@pytest.mark.parametrize(
    ("calendar", "message"),
    [
        ({"holidays": ["2026-10-09"], "workdays": ["2026-10-09"]}, "in both"),
        (
            {"holidays": [{"from": "2026-10-01", "to": "2026-10-09"}], "workdays": ["2026-10-05"]},
            "2026-10-05 in both",
        ),
        ({"holidays": ["2026-13-01"]}, "calendar.holidays.0"),
        ({"workdays": [{"from": "2026-10-09", "to": "2026-10-01"}]}, "`to` is before `from`"),
        ({"official": "us"}, "calendar.official"),
        ({"holiday": ["2026-10-09"]}, "calendar.holiday"),
    ],
)
def test_a_bad_calendar_is_refused_naming_the_field(
    calendar: dict[str, object], message: str
) -> None:
    with pytest.raises(ConfigError, match="invalid configuration") as err:
        parse_config({**SITE, "calendar": calendar}, SiteSpec)
    assert message in str(err.value)


def test_outside_the_known_years_monday_to_friday_and_the_own_days_said_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    cal = CalendarSpec.model_validate({"official": "cn", "holidays": ["2031-01-01"]})
    workcal._warned.clear()
    with caplog.at_level(logging.WARNING, logger="bldgwatch.core.workcal"):
        assert is_workday(cal, date(2031, 1, 2))  # Thursday
        assert not is_workday(cal, date(2031, 1, 1))  # the site's own
        assert not is_workday(cal, date(2031, 1, 4))  # Saturday
        assert is_workday(cal, date(2031, 1, 6))
    said = [r for r in caplog.records if "2031" in r.getMessage()]
    assert len(said) == 1 and "not known" in said[0].getMessage()
    assert not workcal.covers(cal, date(2031, 1, 2)) and workcal.covers(cal, date(2026, 1, 2))
    assert workcal.describe(cal, date(2030, 12, 20))["covered"] is False


def test_the_days_ahead_say_up_to_which_day_the_calendar_knows_them() -> None:
    """Review 19i L3: the rounds page said "next 60 days: no holidays" over days the official
    calendar does not know (元旦 of the next year among them). The description names the last
    day it knows, and none when it knows none of them."""
    cal = CalendarSpec.model_validate({"official": "cn"})
    year = max(y for y in range(2004, 2101) if workcal.covers(cal, date(y, 6, 1)))
    seen = workcal.describe(cal, date(year, 12, 8))
    assert (seen["covered"], seen["known_until"]) == (False, f"{year}-12-31")
    beyond = workcal.describe(cal, date(year + 1, 3, 1))
    assert (beyond["covered"], beyond["known_until"]) == (False, None)
    within = workcal.describe(cal, date(year, 3, 1))
    assert (within["covered"], within["known_until"]) == (True, None)


def test_special_days_ahead_name_the_official_holiday_in_both_languages() -> None:
    found = special_days(CN, date(2026, 9, 28), 14)
    assert [(d["day"], d["kind"]) for d in found] == [
        ("2026-10-01", "holiday"),
        ("2026-10-02", "holiday"),
        ("2026-10-05", "holiday"),
        ("2026-10-06", "holiday"),
        ("2026-10-07", "holiday"),
        ("2026-10-10", "workday"),
    ]
    assert (found[0]["name"], found[0]["name_zh"]) == ("National Day", "国庆节")
    assert special_days(None, date(2026, 9, 28), 14) == []


def test_a_holiday_is_a_sunday_and_a_make_up_workday_a_monday_for_occupancy() -> None:
    office = [OccupancyWindow(start="08:00", end="18:00")]  # type: ignore[arg-type]
    assert weekday_as(CN, date(2026, 10, 1)) == 6 and weekday_as(CN, date(2026, 10, 10)) == 0
    # Review 20f, L2: a holiday on a Saturday is a Sunday too (it kept Saturday's hours);
    # an ordinary Saturday stays a Saturday.
    assert weekday_as(CN, date(2026, 10, 3)) == 6 and weekday_as(CN, date(2026, 2, 21)) == 6
    assert weekday_as(CN, date(2026, 10, 17)) == 5
    shop = [OccupancyWindow(start="09:00", end="12:00", days=["sat"])]  # type: ignore[arg-type]
    assert not occupied(shop, datetime(2026, 10, 3, 10), CN)  # 国庆's Saturday
    assert occupied(shop, datetime(2026, 10, 17, 10), CN)
    own = CalendarSpec(holidays=[date(2026, 10, 17)])  # type: ignore[list-item]
    assert weekday_as(own, date(2026, 10, 17)) == 6  # the site's own holiday, a Saturday
    assert not occupied(office, datetime(2026, 10, 5, 10), CN)  # holiday Monday
    assert occupied(office, datetime(2026, 10, 10, 10), CN)  # make-up Saturday
    assert occupied(office, datetime(2026, 10, 5, 10))  # without a calendar: as before
    assert not occupied(office, datetime(2026, 10, 10, 10))
