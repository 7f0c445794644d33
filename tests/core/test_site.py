"""The site register's time zone: every site has one (days and shifts follow it)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bldgwatch.core.config import parse_config
from bldgwatch.core.errors import ConfigError
from bldgwatch.core.site import SiteSpec

SITE = {"site": "s", "buildings": [{"id": "B1"}], "equipment": []}


def test_a_site_defaults_to_shanghai_and_converts_times() -> None:
    spec = parse_config(SITE, SiteSpec)
    assert spec.timezone == "Asia/Shanghai"
    local = datetime(2026, 12, 5, 19, 0, tzinfo=UTC).astimezone(spec.zone())
    assert (local.day, local.hour) == (6, 3)


def test_a_named_zone_is_kept() -> None:
    spec = parse_config({**SITE, "timezone": "Europe/Berlin"}, SiteSpec)
    assert datetime(2026, 7, 1, 12, tzinfo=UTC).astimezone(spec.zone()).hour == 14


@pytest.mark.parametrize("zone", ["Mars/Olympus", "", "../etc/passwd"])
def test_an_unknown_zone_is_refused_naming_the_field(zone: str) -> None:
    with pytest.raises(ConfigError, match=r"timezone: .*unknown time zone"):
        parse_config({**SITE, "timezone": zone}, SiteSpec)
