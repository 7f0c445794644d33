"""Maintenance's texts come from the project's catalogue (`core/locale`, keys `maintenance.*`)
and render as its own tables did: plain numbers, lists, faults, alarm notes and months."""

from __future__ import annotations

import pytest

from bldgwatch.maintenance.i18n import LANGUAGES, Message, render
from bldgwatch.maintenance.texts import english, fault, named, text


def test_an_alarm_note_shows_the_value_that_raised_it_or_nothing() -> None:
    params = {"fault": fault("PUMP_CAVITATION"), "transition": named("transition", "activate")}
    raised = Message("note.alarm", {**params, "state": "UNACK", "value": 87.25})
    assert {lang: render(raised, lang) for lang in LANGUAGES} == {
        "zh-CN": "报警 汽蚀：触发（UNACK） 87.25",
        "en": "alarm cavitation: raised (UNACK) 87.25",
    }
    assert english(Message("note.alarm", {**params, "state": "UNACK", "value": None})) == (
        "alarm cavitation: raised (UNACK)"
    )


@pytest.mark.parametrize(
    ("month", "en", "zh"), [(4, "April 2026", "2026年4月"), (12, "December 2026", "2026年12月")]
)
def test_a_report_month_is_named_in_each_language(month: int, en: str, zh: str) -> None:
    assert text("report.month", "en", year=2026, month=month) == en
    assert text("report.month", "zh-CN", year=2026, month=month) == zh


def test_numbers_stay_plain_and_lists_join_in_the_language() -> None:
    mail = Message("mail.report.subject", {"site": "demo", "month": "2026-04"})
    assert english(mail) == "[demo] Maintenance report 2026-04"
    body = {"site": "demo", "month": "4", "files": ["a.html", "a.pdf"], "url": "u"}
    body |= {"good": "99 %", "failures": 1, "open": 0, "cost": "¥0"}
    assert text("mail.report.body", "zh-CN", **body).startswith(
        "附件为 demo 4 设备维护月报（a.html、a.pdf）"
    )
    assert text("mail.report.body", "en", **body).startswith(
        "The maintenance report of demo for 4 is attached (a.html, a.pdf)"
    )
    note = Message(
        "note.escalated", {"level": Message("escalation.overdue"), "what": "x", "late_min": 1234}
    )
    assert english(note) == "overdue: x overdue by 1234 min"
    assert text("note.followup", "zh-CN", outcome=named("outcome", "satisfied"), score=5) == (
        "回访：满意，满意度 5"
    )


def test_unknown_codes_and_keys_show_as_written() -> None:
    assert english(fault("PUMP_NEW_THING")) == "PUMP_NEW_THING"
    assert named("cause", "meteor") == "meteor"
    assert named("status", None) == "–"
    assert english(Message("no.such.key", {"text": "as written"})) == "as written"
    assert english(Message("no.such.key")) == "no.such.key"
