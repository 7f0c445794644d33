"""Who is on call at a moment (pure): a rota's shift instance in the site's time zone, and
the pair the cycle, a holiday or an override puts on it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from bldgwatch.alerts.documents import OnCallPair, Rota


@dataclass(frozen=True, slots=True)
class OnCall:
    """The people on call at one moment, and the shift that puts them there."""

    primary: str
    backup: str | None
    supervisor: str | None
    shift: str
    starts_at: datetime
    ends_at: datetime
    source: str
    """cycle, holiday or override."""

    def target(self, name: str) -> str | None:
        """The contact behind primary, backup or supervisor."""
        return {"primary": self.primary, "backup": self.backup, "supervisor": self.supervisor}[name]


def _shift_start(rota: Rota, day: date, index: int, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, rota.shifts[index].start, tzinfo=zone).astimezone(UTC)


def _shift_at(rota: Rota, at: datetime, zone: ZoneInfo) -> tuple[date, int]:
    """The (local start date, shift index) of the shift instance running at `at`."""
    local_day = at.astimezone(zone).date()
    for day in (local_day, local_day - timedelta(days=1)):
        for index in reversed(range(len(rota.shifts))):
            if _shift_start(rota, day, index, zone) <= at:
                return day, index
    return local_day - timedelta(days=2), len(rota.shifts) - 1  # unreachable in practice


def _next_start(rota: Rota, day: date, index: int, zone: ZoneInfo) -> datetime:
    if index + 1 < len(rota.shifts):
        return _shift_start(rota, day, index + 1, zone)
    return _shift_start(rota, day + timedelta(days=1), 0, zone)


def on_call(rota: Rota, at: datetime, zone: ZoneInfo) -> OnCall:
    """Who is on call under `rota` at `at` (aware), the rota's times read in `zone`.

    An override covering the local time wins; then a holiday on the shift's start date; then
    the cycle, which counts shifts from the anchor's first shift whatever covers them.
    """
    if at.tzinfo is None:
        raise ValueError("on_call needs an aware time")
    day, index = _shift_at(rota, at, zone)
    starts_at = _shift_start(rota, day, index, zone)
    ends_at = _next_start(rota, day, index, zone)
    local = at.astimezone(zone).replace(tzinfo=None)
    pair: OnCallPair
    override = next((o for o in rota.overrides if o.start <= local < o.end), None)
    holiday = next((h for h in rota.holidays if h.date == day), None)
    if override is not None:
        pair, source = override, "override"
        starts_at = max(starts_at, override.start.replace(tzinfo=zone).astimezone(UTC))
        ends_at = min(ends_at, override.end.replace(tzinfo=zone).astimezone(UTC))
    elif holiday is not None:
        pair, source = holiday, "holiday"
    else:
        number = (day - rota.anchor).days * len(rota.shifts) + index
        pair, source = rota.cycle[number % len(rota.cycle)], "cycle"
    return OnCall(
        primary=pair.primary,
        backup=pair.backup,
        supervisor=rota.supervisor,
        shift=rota.shifts[index].name,
        starts_at=starts_at,
        ends_at=ends_at,
        source=source,
    )
