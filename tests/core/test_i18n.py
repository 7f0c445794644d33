"""The message catalogue: both languages complete and consistent, rendering, negotiation."""

from __future__ import annotations

import re
import string
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bldgwatch.core import i18n
from bldgwatch.core.config import parse_config
from bldgwatch.core.errors import ConfigError
from bldgwatch.core.site import SITE_LANGUAGES, SiteSpec
from bldgwatch.rules.schema import builtin_pack_path, load_rule_file

PACKS = sorted(p.stem for p in builtin_pack_path("pump").parent.glob("*.yaml"))


def _fields(text: str) -> set[str]:
    return {f for _, f, _, _ in string.Formatter().parse(text) if f}


def test_both_languages_have_the_same_keys_and_fields() -> None:
    en, zh = i18n.catalogue("en"), i18n.catalogue("zh-CN")
    assert len(en) > 100
    assert set(en) == set(zh)
    differ = {k: (_fields(en[k]), _fields(zh[k])) for k in en if _fields(en[k]) != _fields(zh[k])}
    assert differ == {}  # each message names the same things in both languages
    untranslated = [k for k in en if en[k] == zh[k] and any(c.isalpha() for c in en[k])]
    # codes and numbers only
    assert untranslated == [
        "error.line.numbered",  # "#{id} {line}": a line's number before its words
        "notice.subject",
        "notice.subject.other",
        "alerts.digest_line",
        "maintenance.unit.money",
    ]


def test_no_key_is_defined_twice_in_a_catalogue() -> None:
    """A second definition silently overrides the first (a merge left 描述 and 问题描述)."""
    folder = Path(i18n.__file__).parent / "locale"
    for po in sorted(folder.glob("*/LC_MESSAGES/*.po")):
        keys = re.findall(r'^msgid "(.+)"$', po.read_text("utf-8"), flags=re.MULTILINE)
        twice = sorted(k for k, n in Counter(keys).items() if n > 1)
        assert twice == [], f"{po}: defined twice: {twice}"


def test_the_notices_and_maintenances_texts_are_in_the_catalogue() -> None:
    """alerts and maintenance keep no text tables of their own (issue 14: one catalogue)."""
    en = i18n.catalogue("en")
    for key in ("alerts.title", "alerts.fault.ELEV_ENTRAPMENT_AT_FLOOR", "alerts.role.backup"):
        assert key in en, key
    for key in (
        "maintenance.status.open",
        "maintenance.kpi.good_condition",
        "maintenance.month.12",
    ):
        assert key in en, key
    for key in (
        "maintenance.report.title",
        "maintenance.mail.assigned",
        "maintenance.fault.PUMP_CAVITATION",
    ):
        assert key in en, key


def test_every_builtin_rule_speaks_both_languages_and_english_is_the_packs_text() -> None:
    for name in PACKS:
        for rule in load_rule_file(builtin_pack_path(name)).rules:
            assert rule.message_key in i18n.catalogue("en"), rule.id
            assert rule.message_key in i18n.catalogue("zh-CN"), rule.id
            if rule.message_key == f"rule.{rule.id}":
                assert i18n.catalogue("en")[rule.message_key] == rule.message, rule.id


def test_site_languages_are_the_catalogues() -> None:
    assert SITE_LANGUAGES == i18n.LOCALES


BEARING = {"equipment": "P-01", "value": 87.345, "limit": 85}


@pytest.mark.parametrize(
    ("locale", "params", "text"),
    [
        ("en", BEARING, "P-01: bearing temperature 87.3 °C above 85.0 °C"),
        ("zh-CN", BEARING, "P-01：轴承温度 87.3 °C，超过 85.0 °C"),
        ("zh", BEARING, "P-01：轴承温度 87.3 °C，超过 85.0 °C"),
        ("en", {**BEARING, "value": None}, "P-01: bearing temperature — °C above 85.0 °C"),
        ("en", {**BEARING, "value": float("nan")}, "P-01: bearing temperature — °C above 85.0 °C"),
        ("en", {**BEARING, "value": 1234.56}, "P-01: bearing temperature 1,234.6 °C above 85.0 °C"),
    ],
)
def test_render_formats_numbers_in_the_language(locale: str, params: dict, text: str) -> None:
    assert i18n.render("rule.pump.bearing_temp_high", params, locale) == text


def test_a_parameter_may_be_a_message_rendered_in_the_same_language() -> None:
    params = {
        "fault_code": "PUMP_BEARING_TEMP",
        "equipment": "P-01",
        "equipment_type": i18n.Message("equipment_type.pump"),
        "message": {"key": "rule.pump.bearing_temp_high", "params": BEARING},
    }
    assert i18n.render("workorder.title.alarm", params, "zh-CN") == (
        "PUMP_BEARING_TEMP：水泵 P-01 — P-01：轴承温度 87.3 °C，超过 85.0 °C"
    )
    assert i18n.Message("workorder.title.alarm", params).render("en") == (
        "PUMP_BEARING_TEMP: pump P-01 — P-01: bearing temperature 87.3 °C above 85.0 °C"
    )


@pytest.mark.parametrize(
    ("locale", "template", "text"),
    [
        ("en", "{roles:or}", "duty engineer, technician, or supervisor"),
        ("zh-CN", "{roles:or}", "值班工程师、维修技术员或主管"),
        ("en", "{roles}", "duty engineer, technician, and supervisor"),
        ("zh-CN", "{roles:and}", "值班工程师、维修技术员和主管"),
    ],
)
def test_a_list_parameter_is_a_list_in_the_language(locale: str, template: str, text: str) -> None:
    roles = [i18n.Message(f"role.{r}") for r in ("engineer", "technician", "supervisor")]
    assert i18n.format_template(template, {"roles": roles}, locale) == text
    # stored as JSON (nested messages as mappings) it renders the same
    stored = i18n.Message("x", {"roles": roles}).to_json()
    assert stored["params"]["roles"][0] == {"key": "role.engineer", "params": {}}
    assert i18n.format_template(template, stored["params"], locale) == text


def test_a_list_parameter_of_one_or_none() -> None:
    assert i18n.format_template("{r:or}", {"r": ["a"]}, "en") == "a"
    assert i18n.format_template("{r:or}", {"r": []}, "zh-CN") == i18n.MISSING
    assert i18n.format_template("{r:xor}", {"r": ["a"]}, "en") == "{r:xor}"  # as written


def test_an_unknown_key_shows_its_default_or_itself() -> None:
    text = i18n.render("rule.custom.x", {"equipment": "X"}, "zh-CN", default="{equipment} !")
    assert text == "X !"
    assert i18n.render("rule.custom.x", {}, "en") == "rule.custom.x"


def test_a_template_that_does_not_format_shows_as_written() -> None:
    assert i18n.render("x", {"value": "text"}, "en", default="{value:.1f}") == "{value:.1f}"


@pytest.mark.parametrize(
    ("template", "params", "text"),
    [
        # plain names: the parsed-once path
        ("{a} and {b:.1f}, {{literal}}", {"a": "x", "b": 1234.56}, "x and 1,234.6, {literal}"),
        ("{missing}!", {}, "—!"),
        # anything more than a plain name goes through str.format itself
        ("{a!r}", {"a": "x"}, "'x'"),
        ("{a:>{w}}", {"a": "x", "w": 3}, "  x"),
        ("{0}", {}, "—"),
        # a template that does not parse shows as written
        ("{a", {"a": 1}, "{a"),
        ("a}", {}, "a}"),
    ],
)
def test_templates_fill_the_same_on_the_fast_path_and_the_full_one(
    template: str, params: dict, text: str
) -> None:
    assert i18n.format_template(template, params, "en") == text
    # the second fill of the same template (cached parse) gives the same text
    assert i18n.format_template(template, params, "en") == text


@pytest.mark.parametrize(
    ("header", "locale"),
    [
        ("zh-CN,zh;q=0.9,en;q=0.8", "zh-CN"),
        ("en-US,en;q=0.9,zh-CN;q=0.8", "en"),
        ("fr-FR, zh-Hans;q=0.5, en;q=0.4", "zh-CN"),
        ("en;q=0.2, zh-TW;q=0.9", "zh-CN"),
        ("de, fr", None),
        ("zh;q=0, en", "en"),
        ("", None),
        (None, None),
        ("garbage;;q=x, en", "en"),
    ],
)
def test_accept_language_negotiation(header: str | None, locale: str | None) -> None:
    assert i18n.negotiate(header) == locale


def test_pick_locale_takes_the_first_that_is_known() -> None:
    assert i18n.pick_locale(None, "de", "en-GB", "zh-CN") == "en"
    assert i18n.pick_locale(None) == i18n.DEFAULT_LOCALE == "zh-CN"


def test_times_show_on_a_24_hour_clock_in_the_sites_zone_with_the_zone() -> None:
    at = datetime(2026, 12, 6, 6, 5, tzinfo=UTC)
    assert i18n.format_time(at, ZoneInfo("Asia/Shanghai"), "zh-CN") == "2026-12-06 14:05 GMT+08:00"
    assert i18n.format_time(at, ZoneInfo("America/New_York"), "en") == "2026-12-06 01:05 GMT-05:00"


@pytest.mark.parametrize(
    ("value", "unit", "precision", "locale", "text"),
    [
        (87.345, "°C", 1, "en", "87.3 °C"),
        (1.3472278195074472, "mm/s", 2, "zh-CN", "1.35 mm/s"),
        (12, "", None, "en", "12"),
        (0.125, "A", None, "en", "0.125 A"),
        (True, "", None, "zh-CN", "是"),
        (False, "", None, "en", "no"),
        (None, "°C", 1, "en", "—"),
        (float("nan"), "°C", 1, "en", "—"),
        (2500.0, "kg", 0, "en", "2,500 kg"),
    ],
)
def test_quantities_carry_their_unit_and_precision(
    value: float | bool | None, unit: str, precision: int | None, locale: str, text: str
) -> None:
    assert i18n.format_quantity(value, unit, precision, locale) == text


SITE = {"site": "s", "buildings": [{"id": "B1"}], "equipment": []}


def test_a_site_speaks_chinese_unless_told_otherwise() -> None:
    assert parse_config(SITE, SiteSpec).language == "zh-CN"
    assert parse_config({**SITE, "language": "en"}, SiteSpec).language == "en"
    with pytest.raises(ConfigError, match=r"language: .*unknown language 'fr'"):
        parse_config({**SITE, "language": "fr"}, SiteSpec)
