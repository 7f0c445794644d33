"""Notices as people read them (pure): one alarm, or a digest of several, in the recipient's
language, with the equipment, fault, value, time in the site's zone, the rescue clock of an
entrapment, and the links to open and to acknowledge the alarm."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bldgwatch.alerts.escalation import AlarmFacts
from bldgwatch.core import i18n

PREFIX = "alerts."
"""The notices' keys in the message catalogue (`core/locale`): `alerts.<text>` and
`alerts.fault.<fault code>`."""


def _locale(language: str) -> str:
    return i18n.normalize_locale(language) or i18n.FALLBACK_LOCALE


def text(language: str, key: str, **fields: object) -> str:
    """The notice text `key` in `language` (English when the language is unknown), filled in;
    counts and minutes keep their plain digits (`1500 min`), as in an SMS."""
    plain = {k: str(v) if isinstance(v, int) else v for k, v in fields.items()}
    return i18n.render(PREFIX + key, plain, _locale(language))


def fault_name(language: str, fault_code: str, fallback: str) -> str:
    """The fault's name in `language`; `fallback` (the rule's message) for unknown codes."""
    found = i18n.template(f"{PREFIX}fault.{fault_code}", _locale(language))
    return fallback if found is None else found


@dataclass(frozen=True, slots=True)
class SiteInfo:
    """What a notice names of a site: its name, zone, buildings and equipment."""

    site: str
    name: str
    zone: ZoneInfo
    buildings: dict[str, str] = field(default_factory=dict)
    equipment: dict[str, str] = field(default_factory=dict)

    def equipment_label(self, equipment: str) -> str:
        """`Passenger lift 1 (E-01)`, or the id alone."""
        name = self.equipment.get(equipment)
        return f"{name} ({equipment})" if name else equipment

    def building_label(self, building: str) -> str:
        """The building's name, or its id."""
        return self.buildings.get(building) or building


@dataclass(frozen=True, slots=True)
class RescueClock:
    """The entrapment rescue clock: which fault families run on it, and its length."""

    minutes: float
    families: frozenset[str]

    def left(self, alarm: AlarmFacts, now: datetime) -> float | None:
        """Minutes left (negative: overdue) for an alarm on the clock, else None."""
        if alarm.family not in self.families:
            return None
        deadline = alarm.raised_at + timedelta(minutes=self.minutes)
        return (deadline - now).total_seconds() / 60


@dataclass(frozen=True, slots=True)
class NoticeItem:
    """One alarm in a message: its facts, how far its escalation is, its links."""

    alarm: AlarmFacts
    repeat: int = 0
    roles: tuple[str, ...] = ()
    level: int = 0
    open_url: str = ""
    ack_url: str | None = None


@dataclass(frozen=True, slots=True)
class Notice:
    """A rendered message: subject, plain text, and the parameters an SMS template takes."""

    language: str
    subject: str
    text: str
    sms_params: dict[str, str]
    alarm_ids: tuple[str, ...]


def local_time(when: datetime, zone: ZoneInfo, *, short: bool = False) -> str:
    """`2026-12-06 03:12:05 (Asia/Shanghai, UTC+08:00)`, 24-hour; short: `12-06 03:12`."""
    local = when.astimezone(zone)
    if short:
        return local.strftime("%m-%d %H:%M")
    offset = local.strftime("%z")
    return f"{local:%Y-%m-%d %H:%M:%S} ({zone.key}, UTC{offset[:3]}:{offset[3:]})"


def _rescue(language: str, left: float, limit: float, *, short: bool) -> str:
    minutes = math.ceil(left) if left > 0 else math.floor(-left)
    if short:
        key = "rescue_short_left" if left > 0 else "rescue_short_over"
        return text(language, key, minutes=minutes)
    key = "rescue_left" if left > 0 else "rescue_over"
    return text(language, key, minutes=minutes, limit=f"{limit:g}")


def _fault(language: str, alarm: AlarmFacts) -> str:
    return fault_name(language, alarm.fault_code, alarm.message or alarm.fault_code)


def _single(
    language: str,
    item: NoticeItem,
    site: SiteInfo,
    *,
    rescue: RescueClock,
    now: datetime,
    ttl: float,
) -> tuple[str, list[str]]:
    a = item.alarm
    subject = text(
        language,
        "title",
        priority=a.priority,
        priority_name=text(language, f"priority.{a.priority}"),
        fault=_fault(language, a),
    )
    lines = [
        subject,
        text(language, "equipment", equipment=site.equipment_label(a.equipment)),
        text(
            language,
            "place",
            site=site.name or site.site,
            building=site.building_label(a.building),
        ),
    ]
    if a.value is not None:
        lines.append(text(language, "value", value=f"{a.value:g}"))
    lines.append(text(language, "raised", time=local_time(a.raised_at, site.zone)))
    left = rescue.left(a, now)
    if left is not None:
        lines.append(_rescue(language, left, rescue.minutes, short=False))
    if item.repeat > 0:
        lines.append(text(language, "reminder", n=item.repeat + 1))
    elif item.level > 0 and item.roles:
        roles = "、" if language == "zh-CN" else ", "
        names = roles.join(text(language, f"role.{r}") for r in item.roles)
        lines.append(text(language, "escalated", roles=names))
    lines.append(text(language, "open", url=item.open_url))
    if item.ack_url:
        lines.append(text(language, "ack", url=item.ack_url, hours=f"{ttl:g}"))
    return subject, lines


def _digest(
    language: str, items: list[NoticeItem], site: SiteInfo, rescue: RescueClock, now: datetime
) -> tuple[str, list[str]]:
    subject = text(language, "digest_title", count=len(items))
    lines = [subject]
    for n, item in enumerate(items, start=1):
        a = item.alarm
        lines.append(
            text(
                language,
                "digest_line",
                n=n,
                priority=a.priority,
                fault=_fault(language, a),
                equipment=site.equipment_label(a.equipment),
                time=local_time(a.raised_at, site.zone, short=True),
            )
        )
        left = rescue.left(a, now)
        if left is not None:
            rescue_text = _rescue(language, left, rescue.minutes, short=True)
            lines.append(text(language, "digest_rescue", rescue=rescue_text))
        if item.ack_url:
            lines.append(text(language, "digest_ack", url=item.ack_url))
    return subject, lines


def render(
    items: list[NoticeItem],
    *,
    language: str,
    site: SiteInfo,
    rescue: RescueClock,
    now: datetime,
    list_url: str,
    link_ttl_h: float,
) -> Notice:
    """The message for one recipient: a single alarm, or a digest (most urgent first)."""
    if not items:
        raise ValueError("a notice needs at least one alarm")
    ordered = sorted(items, key=lambda i: (i.alarm.priority, i.alarm.raised_at))
    if len(ordered) == 1:
        subject, lines = _single(language, ordered[0], site, rescue=rescue, now=now, ttl=link_ttl_h)
    else:
        subject, lines = _digest(language, ordered, site, rescue, now)
        lines.append(text(language, "digest_open", url=list_url))
    first = ordered[0]
    left = rescue.left(first.alarm, now)
    sms = {
        "priority": f"P{first.alarm.priority}",
        "fault": _fault(language, first.alarm),
        "equipment": site.equipment_label(first.alarm.equipment),
        "time": local_time(first.alarm.raised_at, site.zone, short=True),
        "rescue": "" if left is None else _rescue(language, left, rescue.minutes, short=True),
        "count": str(len(ordered)),
        "link": first.ack_url or first.open_url,
    }
    return Notice(
        language=language,
        subject=subject,
        text="\n".join(lines),
        sms_params=sms,
        alarm_ids=tuple(i.alarm.alarm_id for i in ordered),
    )
