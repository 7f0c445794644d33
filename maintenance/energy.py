"""Energy accounting (issue 20): consumption from meter counters, per meter, building and
system, by hour, day or month of the site's calendar, and the sub-metering balance. Pure: the
counter samples come in (`maintenance.energystore` reads them from InfluxDB), figures go out.

A meter's consumption between two samples is the counter's increment, read robustly:

- **rollover**: the counter fell from the top tenth of its range into the bottom tenth
  (`WRAP_BAND`), and wrapping at the meter's maximum gives an increment the meter could have
  made in that time: that wrapped increment. A fall from anywhere else is no wrap, however long
  the meter was silent (a meter back lower after a week off line was replaced or restored, not
  turned over once); nor is a first reading of exactly 0 after a gap (a failed read or a reset);
- **spike**: one reading that neither follows from the one before nor leads to the one after,
  while those two agree (a 0xFFFF, a garbled float): it is skipped and flagged;
- **reset / replacement**: the counter fell (or leapt) and no wrap explains it: a new counter,
  whose reading is not use; the interval is estimated at the mean rate and flagged; across a
  gap a rise beyond `GAP_FACTOR` × the running rate is one (a meter replaced off line);
- **gap** (no samples for a while): the increment over the gap is spread evenly over its time,
  so each hour of it gets its share and the sum over the gap is kept, neither lost nor doubled;
- **stuck**: the counter did not move for `stuck_after` in hours of the day when the meter
  normally moves (it moved in that hour on at least half of the other days read, the
  `STUCK_HISTORY` before the window included, whatever the window shown): the run is
  flagged and every bucket it touches is marked (the figure there is too low). Standing still
  in its usual idle hours (night, out of hours, between runs) is idle, not stuck; so is
  standing still in an hour no other day shows (nothing to judge it by: a one-day window's
  idle night is not a stuck meter).

A meter's rates are learned from the samples read and the history before the window (so a
figure does not depend on the window asked for), when it has at least `MIN_RISES` rising
steps (a leap on an idle meter is never its own yardstick). "Running rate" is a high quantile
of the rising steps' rates (the rate the meter shows running, not a standby load's tick:
review 20c, H5); "mean rate" is what it counted over the time its readings follow closely,
idle hours included (a reset's interval is estimated at it: review 20c, M4). A rise or a wrap
counts as plausible up to `PLAUSIBLE_FACTOR` times the running rate, and never beyond the
meter's rating
(`max_rate` per hour: the register's `meter.max_rate`, else a default per meter type). With
neither, any fall from the top tenth of the range into the bottom tenth is a rollover.
"""

from __future__ import annotations

import bisect
import itertools
import math
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

Every = Literal["hour", "day", "month"]
EVERY: tuple[Every, ...] = ("hour", "day", "month")
PLAUSIBLE_FACTOR = 50.0
"""A wrap or leap is plausible when it is at most this many times the running rate's amount."""
HOURLY_GAP = timedelta(hours=2)
"""Hourly samples further apart than this are a gap (one hour's sample missing)."""
MIN_RISES = 3
"""Rising steps a meter needs in the samples read for its rates."""
RUNNING_QUANTILE = 0.95
"""Of a meter's rising steps' rates, the one taken as the rate it shows running."""
GAP_FACTOR = 3.0
"""Across a gap a rise is plausible up to this many times the running rate's amount (a leap
on a replaced meter is not use); a meter that has shown no running rate counts nothing across
a gap that is not flagged an estimate."""
STUCK_HISTORY = timedelta(days=14)
"""How much of a meter's history before a window is read to learn the hours it normally
moves (the stuck judgement), whatever the window shown."""
SHARE_DIGITS = 6
"""A balance share is compared with its threshold rounded to this many decimals."""
STUCK_LOOKBACK = timedelta(days=60)
"""How far back (hourly) the history of a meter whose counter stood still all through the
`STUCK_HISTORY` is read: to the hours it moved before it froze (review 20d, H2)."""
WRAP_BAND = 0.1
"""A wrap goes from the top `WRAP_BAND` of the range to the bottom one: its increment is at most
this share of the range."""


@dataclass(frozen=True, slots=True)
class Sample:
    """A counter reading (UTC time, counter value)."""

    at: datetime
    value: float
    hourly: bool = False
    """From the hourly counters (a sample an hour): a gap only past `HOURLY_GAP`."""


@dataclass(frozen=True, slots=True)
class Step:
    """What a meter used between two samples, and how it was read."""

    start: datetime
    end: datetime
    amount: float
    kind: Literal["count", "rollover", "reset"] = "count"


@dataclass(frozen=True, slots=True)
class Flag:
    """Something a reader should know about a meter's figures over [start, end)."""

    meter: str
    kind: Literal["rollover", "reset", "spike", "gap", "stuck", "still"]
    start: datetime
    end: datetime
    amount: float | None = None
    """rollover, reset: what was counted for the interval; spike: the reading refused; still:
    the whole days the counter has not moved (stuck or out of use: nothing tells which)."""


@dataclass(frozen=True, slots=True)
class Bucket:
    """One hour, day or month of the site's calendar (clipped to the window asked for)."""

    label: str
    """hour: local start with offset (2026-03-29T03:00+02:00); day: 2026-03-29; month: 2026-03."""
    start: datetime
    end: datetime


@dataclass(slots=True)
class Series:
    """Consumption per bucket of one meter, building or system."""

    key: str
    values: list[float]
    stuck: list[bool]
    meters: list[str] = field(default_factory=list)
    """The meters summed (one for a meter's own series)."""
    read: list[bool] = field(default_factory=list)
    """Whether any counter reading covers the bucket: where none does (before a meter's first
    reading, after its last, a window in the future) the 0.0 in `values` is "no data"."""
    reach: list[datetime | None] = field(default_factory=list)
    """How far into each bucket its readings reach (a meter's own series): a bucket in which
    a meter's readings stop is read only up to there."""
    begin: list[datetime | None] = field(default_factory=list)
    """Where in each bucket its readings begin (a meter's own series): a bucket in which a
    meter's history starts (a new sub-meter's first day) is read only from there."""


@dataclass(frozen=True, slots=True)
class Meter:
    """A meter as the site register gives it."""

    id: str
    type: str
    building: str
    system: str
    parent: str | None
    wrap: float
    name: str = ""
    max_rate: float | None = None
    """The most it counts per hour (kW, m³/h): its rating."""
    ratio: float = 1.0
    """The instrument transformers' ratio (CT × PT): readings × ratio = the primary side."""
    earlier: tuple[tuple[datetime, float], ...] = ()
    """Ratios in force before a transformer change, (until, ratio) by time: a counter's rise
    before `until` is multiplied by that ratio, `ratio` applies from the last change on."""

    def ratio_at(self, at: datetime) -> float:
        """The ratio in force at `at`."""
        for until, ratio in self.earlier:
            if at < until:
                return ratio
        return self.ratio

    def scaled(self, start: datetime, end: datetime) -> float:
        """The ratio over [start, end): each change's share of it by time."""
        cuts = [u for u, _ in self.earlier if start < u < end]
        if not cuts:
            return self.ratio_at(start)
        edges = [start, *cuts, end]
        length = (end - start).total_seconds()
        return sum(
            (b - a).total_seconds() / length * self.ratio_at(a)
            for a, b in itertools.pairwise(edges)
        )


def buckets(start: date, end: date, every: Every, zone: ZoneInfo) -> list[Bucket]:
    """The hours, days or months of the site's calendar from local midnight of `start` to
    local midnight of `end` (excluded); months and the first and last buckets are clipped to
    that window. Hours are real hours: 23 on the day clocks go forward, 25 when they go back
    (the repeated hour shows twice, each with its own offset)."""
    lo = _midnight(start, zone)
    hi = _midnight(end, zone)
    edges: list[datetime] = []
    if every == "hour":
        at = lo
        while at < hi:
            edges.append(at)
            at += timedelta(hours=1)
    elif every == "day":
        day = start
        while day < end:
            edges.append(_midnight(day, zone))
            day += timedelta(days=1)
    else:
        month = date(start.year, start.month, 1)
        while month < end:
            edges.append(max(_midnight(month, zone), lo))
            month = date(month.year + month.month // 12, month.month % 12 + 1, 1)
    out = []
    for i, edge in enumerate(edges):
        stop = edges[i + 1] if i + 1 < len(edges) else hi
        out.append(Bucket(_label(edge, every, zone), edge, stop))
    return out


def _midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=zone).astimezone(UTC)


def _label(at: datetime, every: Every, zone: ZoneInfo) -> str:
    local = at.astimezone(zone)
    if every == "hour":
        return local.isoformat(timespec="minutes")
    if every == "day":
        return local.date().isoformat()
    return f"{local.year:04d}-{local.month:02d}"


def _rising_rates(samples: Sequence[Sample]) -> list[float]:
    return [
        (b.value - a.value) / (b.at - a.at).total_seconds()
        for a, b in itertools.pairwise(samples)
        if b.value > a.value and b.at > a.at
    ]


def counts(samples: Sequence[Sample]) -> bool:
    """Whether the counter rises at least `MIN_RISES` times (it has rates to judge by)."""
    rises = 0
    for a, b in itertools.pairwise(samples):
        if b.value > a.value and b.at > a.at:
            rises += 1
            if rises >= MIN_RISES:
                return True
    return False


def mean_rate(samples: Sequence[Sample], gap_after: timedelta, running: float) -> float:
    """The meter's mean rate (per second), idle time included: what it counted over the time
    its readings follow each other closely, rises beyond the running rate (a leap, a reset)
    and gaps left out. An outage with a reset is estimated at it: at the median of the rising
    steps, a water meter idle at night was estimated a third too high (review 20c, M4)."""
    counted = seconds = 0.0
    for a, b in itertools.pairwise(samples):
        span = (b.at - a.at).total_seconds()
        rise = b.value - a.value
        if span <= 0 or b.at - a.at > _gap(a, b, gap_after) or rise < 0:
            continue
        if running > 0 and rise > PLAUSIBLE_FACTOR * running * span:
            continue
        counted, seconds = counted + rise, seconds + span
    return counted / seconds if seconds > 0 else 0.0


def running_rate(samples: Sequence[Sample]) -> float:
    """The rate (per second) the meter has shown running: the `RUNNING_QUANTILE` of its
    rising steps' rates; 0.0 with fewer than `MIN_RISES`. The yardstick of a plausible
    rise: a pump set running minutes an hour beside a standby load ticking its register
    has a median rate of the standby tick, which made every running minute a "reset"
    (third review of issue 20, H5)."""
    rates = sorted(_rising_rates(samples))
    if len(rates) < MIN_RISES:
        return 0.0
    # Never above the `MIN_RISES`-th highest: a leap or two is no yardstick for itself.
    return min(rates[int(RUNNING_QUANTILE * (len(rates) - 1))], rates[-MIN_RISES])


def read_steps(
    meter: str,
    samples: Sequence[Sample],
    wrap: float,
    *,
    gap_after: timedelta,
    max_rate: float | None = None,
    earlier: Sequence[Sample] = (),
) -> tuple[list[Step], list[Flag]]:
    """The consumption between each pair of samples (time order), with the flags of rollovers,
    resets, spikes and gaps. Samples at the same time count once. `max_rate` is the most the
    meter can count per hour (kW, m³/h): no rise or wrap beyond it over an interval is use.
    `earlier` (the samples read before the window) only help learn the meter's rates, so a
    figure does not depend on the window asked for (third review of issue 20, H2)."""
    known = [*(e for e in earlier if not samples or e.at < samples[0].at), *samples]
    running = running_rate(known)
    rate = mean_rate(known, gap_after, running) if running > 0 else 0.0
    cap = (max_rate or math.inf) / 3600

    def plausible(seconds: float, gap: bool = False) -> float:
        if gap:  # off line: no more than the meter has shown it counts (a replaced meter)
            return min(GAP_FACTOR * running * seconds, cap * seconds)
        usual = PLAUSIBLE_FACTOR * running * seconds if running > 0 else math.inf
        return min(usual, cap * seconds)

    def read(a: Sample, b: Sample, seconds: float) -> Step | None:
        """The step if a → b is use or a wrap within reason, else None."""
        rise = b.value - a.value
        gap = b.at - a.at > _gap(a, b, gap_after)
        if 0 <= rise <= plausible(seconds, gap):
            return Step(a.at, b.at, rise)
        if b.value <= 0 and gap:
            return None  # a 0 after a gap: a failed read or a reset, never a wrap
        if rise < 0 and _wraps(a.value, b.value, wrap, plausible(seconds, gap)):
            return Step(a.at, b.at, wrap - a.value + b.value, "rollover")
        return None

    steps: list[Step] = []
    flags: list[Flag] = []
    points = list(samples)
    i = 0
    while i + 1 < len(points):
        a, b = points[i], points[i + 1]
        seconds = (b.at - a.at).total_seconds()
        if seconds <= 0:
            i += 1
            continue
        step = read(a, b, seconds)
        if step is None and i + 2 < len(points):
            # One bad reading between two that agree (0xFFFF, a garbled float): skip it.
            c = points[i + 2]
            around = (c.at - a.at).total_seconds()
            if around > 0 and read(b, c, (c.at - b.at).total_seconds()) is None:
                bridged = read(a, c, around)
                if bridged is not None:
                    steps.append(bridged)
                    flags.append(Flag(meter, "spike", a.at, c.at, b.value))
                    if bridged.kind == "rollover":
                        flags.append(Flag(meter, "rollover", a.at, c.at, bridged.amount))
                    if c.at - a.at > _gap(a, c, gap_after):
                        flags.append(Flag(meter, "gap", a.at, c.at))
                    i += 2
                    continue
        if step is None:
            # A new counter (reset, replaced meter): its reading is not use; the interval is
            # estimated at the meter's mean rate.
            step = Step(a.at, b.at, rate * seconds, "reset")
            flags.append(Flag(meter, "reset", a.at, b.at, step.amount))
        elif step.kind == "rollover":
            flags.append(Flag(meter, "rollover", a.at, b.at, step.amount))
        steps.append(step)
        if b.at - a.at > _gap(a, b, gap_after):
            flags.append(Flag(meter, "gap", a.at, b.at))
        i += 1
    return steps, flags


def _gap(a: Sample, b: Sample, gap_after: timedelta) -> timedelta:
    return max(gap_after, HOURLY_GAP) if a.hourly or b.hourly else gap_after


def _wraps(before: float, after: float, wrap: float, plausible: float) -> bool:
    """Whether a fall from `before` to `after` is a turn of the register: from its top tenth
    to its bottom tenth (the wrapped increment is at most `WRAP_BAND` of the range: the cap
    over a long gap never makes a wrap of the whole range plausible), and no more than the
    meter could have counted in the time (`plausible`, infinite without rate or rating)."""
    increment = wrap - before + after
    return after >= 0 and 0 <= increment <= min(wrap * WRAP_BAND, plausible)


def stuck_runs(
    meter: str,
    samples: Sequence[Sample],
    *,
    stuck_after: timedelta,
    rate: float,
    history: Sequence[Sample] = (),
) -> list[Flag]:
    """Runs of samples with one value during which the meter stood still for at least
    `stuck_after` in hours of the day when it normally moves: it moved in that hour of the
    (UTC) day on at least half of the other days read (`history`, the samples before them,
    included). A meter that never counts is idle, not stuck; so is one standing still in its
    usual idle hours (a water meter at night, a lighting board out of hours, a pump set
    between runs) or in an hour no other day shows (nothing to judge it by)."""
    if rate <= 0:
        return []
    first = samples[0].at if samples else None
    earlier = [h for h in history if first is None or h.at < first]
    read = [*earlier, *samples]
    cells = moving_cells(read)
    out: list[Flag] = []
    i = 0
    while i < len(read):
        j = i
        while j + 1 < len(read) and read[j + 1].value == read[i].value:
            j += 1
        # A run that reaches into the samples is judged from where it began, in the history
        # if the counter froze before them: its days are then not the yardstick of the
        # meter's usual hours (fourth review of issue 20, H2: a meter jammed for more than
        # half the history before the window was judged against its own jammed days: idle).
        start, end = read[i].at, read[j].at
        if (
            j >= len(earlier)
            and end - start >= stuck_after
            and _still_while_moving(cells, start, end) >= stuck_after
        ):
            out.append(Flag(meter, "stuck", start, end))
        i = j + 1
    return out


def moving_cells(samples: Sequence[Sample]) -> dict[tuple[date, int], bool]:
    """Per UTC day and hour of the day that samples cover: did the counter rise in it."""
    cells: dict[tuple[date, int], bool] = {}
    for a, b in itertools.pairwise(samples):
        if b.at <= a.at or b.at - a.at > timedelta(hours=1):
            continue
        key = (a.at.date(), a.at.hour)
        cells[key] = cells.get(key, False) or b.value > a.value
    return cells


def _still_while_moving(
    cells: dict[tuple[date, int], bool], start: datetime, end: datetime
) -> timedelta:
    """How much of [start, end) falls in hours of the day when the meter normally moves,
    judged on the days outside [start, end); an hour no other day shows is not one of them."""
    inside = {(d, h) for d, h in cells if _hour_overlaps(d, h, start, end)}
    moved: dict[int, list[bool]] = {}
    for (d, h), rose in cells.items():
        if (d, h) not in inside:
            moved.setdefault(h, []).append(rose)
    busy = {h for h, seen in moved.items() if 2 * sum(seen) >= len(seen)}
    total = timedelta()
    at = start.replace(minute=0, second=0, microsecond=0)
    while at < end:
        if at.hour in busy:
            total += min(end, at + timedelta(hours=1)) - max(start, at)
        at += timedelta(hours=1)
    return total


def _hour_overlaps(day: date, hour: int, start: datetime, end: datetime) -> bool:
    lo = datetime(day.year, day.month, day.day, hour, tzinfo=UTC)
    return lo < end and lo + timedelta(hours=1) > start


def spread(steps: Iterable[Step], edges: Sequence[Bucket]) -> list[float]:
    """Each step's amount shared among the buckets by the time it overlaps each; what falls
    outside the buckets is not counted."""
    out = [0.0] * len(edges)
    starts = [b.start for b in edges]
    for step in steps:
        length = (step.end - step.start).total_seconds()
        i = max(bisect.bisect_right(starts, step.start) - 1, 0)
        while i < len(edges) and edges[i].start < step.end:
            lo, hi = max(step.start, edges[i].start), min(step.end, edges[i].end)
            if hi > lo:
                out[i] += step.amount * (hi - lo).total_seconds() / length
            i += 1
    return out


def covered(steps: Iterable[Step], edges: Sequence[Bucket]) -> list[bool]:
    """Which buckets some step (an interval between two readings) overlaps."""
    out = [False] * len(edges)
    starts = [b.start for b in edges]
    for step in steps:
        i = max(bisect.bisect_right(starts, step.start) - 1, 0)
        while i < len(edges) and edges[i].start < step.end:
            if step.end > edges[i].start and step.start < edges[i].end:
                out[i] = True
            i += 1
    return out


def extent(
    steps: Iterable[Step], edges: Sequence[Bucket]
) -> tuple[list[datetime | None], list[datetime | None]]:
    """Where in each bucket the steps begin (the earliest step start, at least the bucket's
    start) and how far they reach (the latest step end, at most its end); None where no step
    overlaps it."""
    begins: list[datetime | None] = [None] * len(edges)
    reaches: list[datetime | None] = [None] * len(edges)
    starts = [b.start for b in edges]
    for step in steps:
        i = max(bisect.bisect_right(starts, step.start) - 1, 0)
        while i < len(edges) and edges[i].start < step.end:
            if step.start < edges[i].end:
                start, end = max(step.start, edges[i].start), min(step.end, edges[i].end)
                first, last = begins[i], reaches[i]
                begins[i] = start if first is None or start < first else first
                reaches[i] = end if last is None or end > last else last
            i += 1
    return begins, reaches


def marked(runs: Iterable[Flag], edges: Sequence[Bucket]) -> list[bool]:
    """Which buckets a flagged run touches."""
    runs = list(runs)
    return [any(r.start < b.end and r.end > b.start for r in runs) for b in edges]


@dataclass(slots=True)
class Accounts:
    """A site's consumption of one kind (electricity or water) over a window."""

    unit: str
    buckets: list[Bucket]
    meters: dict[str, Series]
    flags: list[Flag]

    def total(self, ids: Iterable[str], key: str) -> Series:
        """The sum of some meters' series; a bucket is read where any of them is."""
        ids = [i for i in ids if i in self.meters]
        values = [0.0] * len(self.buckets)
        stuck = [False] * len(self.buckets)
        read = [False] * len(self.buckets)
        for mid in ids:
            for k, v in enumerate(self.meters[mid].values):
                values[k] += v
                stuck[k] = stuck[k] or self.meters[mid].stuck[k]
                read[k] = read[k] or self.meters[mid].read[k]
        return Series(key, values, stuck, sorted(ids), read)


def estimated(
    flags: Iterable[Flag], ids: Collection[str], buckets: Sequence[Bucket]
) -> list[Literal["reset", "gap"] | None]:
    """Per bucket, why the figure of the meters `ids` in it is an estimate (third review of
    issue 20, M4): "reset" where a counter restart's interval (estimated at the meter's mean
    rate) touches it, "gap" where a gap crosses its edge (the rise over the gap is shared out
    evenly; a gap inside the bucket leaves its figure measured); None where measured."""
    out: list[Literal["reset", "gap"] | None] = [None] * len(buckets)
    for f in flags:
        if f.meter not in ids or f.kind not in ("reset", "gap"):
            continue
        for k, b in enumerate(buckets):
            if f.start >= b.end or f.end <= b.start or out[k] == "reset":
                continue
            if f.kind == "reset":
                out[k] = "reset"
            elif f.start < b.start or f.end > b.end:
                out[k] = "gap"
    return out


def account(
    meters: Sequence[Meter],
    samples: dict[str, list[Sample]],
    edges: list[Bucket],
    *,
    unit: str,
    gap_after: timedelta = timedelta(minutes=15),
    stuck_after: timedelta = timedelta(hours=2),
    history: dict[str, list[Sample]] | None = None,
    power: dict[str, list[tuple[datetime, float]]] | None = None,
) -> Accounts:
    """Consumption per bucket of each meter, with the flags of its counter; `history` (the
    samples of the `STUCK_HISTORY` before the window, and before a still counter's last
    rise: `maintenance.energystore.read_history`) only teaches the hours each meter normally
    moves; `power` (each meter's highest power or flow reading per hour, where it has one)
    tells a still counter's idle hours from a jam's."""
    series: dict[str, Series] = {}
    flags: list[Flag] = []
    for meter in meters:
        points = _dedupe(samples.get(meter.id, []))
        # A CT-connected meter counts the secondary side: its counter is read as it is (its
        # own wrap, its rating on that side) and each rise is multiplied by the ratio in force
        # over it, so a change of transformers rescales only what follows it (N11).
        least = min((meter.ratio, *(r for _, r in meter.earlier)))
        steps, found = read_steps(
            meter.id,
            points,
            meter.wrap,
            gap_after=gap_after,
            max_rate=None if meter.max_rate is None else meter.max_rate / least,
            earlier=_dedupe((history or {}).get(meter.id, [])),
        )
        if meter.ratio != 1.0 or meter.earlier:
            steps = [
                Step(s.start, s.end, s.amount * meter.scaled(s.start, s.end), s.kind) for s in steps
            ]
            found = [
                f  # a spike's amount is the refused reading, not use: never scaled (20c, L1)
                if f.amount is None or f.kind == "spike"
                else Flag(f.meter, f.kind, f.start, f.end, f.amount * meter.ratio_at(f.start))
                for f in found
            ]
        before = _dedupe((history or {}).get(meter.id, []))
        moves = counts(points) or counts(before)
        runs = stuck_runs(
            meter.id,
            points,
            stuck_after=stuck_after,
            # The rate the meter counts at, judged with the days before the window: a counter
            # that stood still all through the window is stuck, not idle (review 20c, H3).
            rate=1.0 if moves else 0.0,
            history=before,
        )
        rates = (power or {}).get(meter.id, [])
        # The meter's own power or flow reading decides where it has one (fifth review of
        # issue 20, M2): 0 all through a still run is idle, above 0 with a still counter is a
        # jam; without one the history judges.
        runs = [r for r in runs if _drawing(rates, r.start, r.end) is not False]
        if not moves:
            runs = _never_moved(meter.id, [*before, *points], rates)
        window = [f for f in (*found, *runs) if _overlaps(f, edges)]
        flags.extend(window)
        begins, reaches = extent(steps, edges)
        series[meter.id] = Series(
            meter.id,
            spread(steps, edges),
            marked(runs, edges),
            [meter.id],
            covered(steps, edges),
            reaches,
            begins,
        )
    flags.sort(key=lambda f: (f.start, f.meter, f.kind))
    return Accounts(unit, edges, series, flags)


def _drawing(
    rates: Sequence[tuple[datetime, float]], start: datetime, end: datetime
) -> bool | None:
    """Whether the meter's power or flow readings over [start, end] show it drawing (any
    above 0), or idle (all 0); None without readings there."""
    seen = [v for at, v in rates if start <= at <= end]
    return any(v > 0 for v in seen) if seen else None


def _never_moved(
    meter: str, samples: Sequence[Sample], rates: Sequence[tuple[datetime, float]]
) -> list[Flag]:
    """A counter that shows no rise in all that is kept of it (fifth review of issue 20, M2:
    past the look-back a jam read as idle, and its zero as a 100 % saving). Its power or flow
    reading decides where it has one: above 0 is a jam ("stuck"), 0 is idle (nothing). Without
    one, a record of at least `STUCK_HISTORY` on one value is "still" — stuck or out of use,
    nothing tells which — and its days are marked, so no saving is claimed on them; a shorter
    record (a new meter not yet in use) is idle."""
    if len(samples) < 2 or any(s.value != samples[0].value for s in samples):
        return []
    start, end = samples[0].at, samples[-1].at
    drawing = _drawing(rates, start, end)
    if drawing is not None:
        return [Flag(meter, "stuck", start, end)] if drawing else []
    if end - start < STUCK_HISTORY:
        return []
    return [Flag(meter, "still", start, end, float((end - start).days))]


def _dedupe(samples: list[Sample]) -> list[Sample]:
    out: list[Sample] = []
    for s in sorted(samples, key=lambda s: s.at):
        if out and out[-1].at == s.at:
            out[-1] = s
        else:
            out.append(s)
    return out


def _overlaps(flag: Flag, edges: Sequence[Bucket]) -> bool:
    return bool(edges) and flag.start < edges[-1].end and flag.end > edges[0].start


def by_building(meters: Sequence[Meter], accounts: Accounts) -> list[Series]:
    """Each building's consumption: the sum of its main meters (those without a parent)."""
    out = []
    for building in sorted({m.building for m in meters}):
        mains = [m.id for m in meters if m.building == building and m.parent is None]
        out.append(accounts.total(mains, building))
    return out


def by_system(meters: Sequence[Meter], accounts: Accounts) -> list[Series]:
    """Each system's own use over the site: every meter's figure less its direct sub-meters'
    (each counted in its own system), summed per system. The systems add up to the site's
    main meters, nothing counted twice: a main meter's system ("mains") is what no sub-meter
    measures, not the whole building beside the pumps and lifts inside it."""
    children: dict[str, list[str]] = {}
    for m in meters:
        if m.parent is not None:
            children.setdefault(m.parent, []).append(m.id)
    n = len(accounts.buckets)
    out = []
    for system in sorted({m.system for m in meters}):
        values, stuck, read = [0.0] * n, [False] * n, [False] * n
        ids = [m.id for m in meters if m.system == system and m.id in accounts.meters]
        for mid in ids:
            own = accounts.meters[mid]
            subs = accounts.total(children.get(mid, []), mid)
            for k in range(n):
                values[k] += own.values[k] - subs.values[k]
                stuck[k] = stuck[k] or own.stuck[k] or subs.stuck[k]
                read[k] = read[k] or own.read[k]
        out.append(Series(system, values, stuck, sorted(ids), read))
    return out


@dataclass(frozen=True, slots=True)
class BalanceRow:
    """A parent meter against the sum of its sub-meters in one bucket."""

    bucket: Bucket
    parent: float
    submeters: float
    unaccounted: float
    share: float | None
    """unaccounted / parent; None when the parent used nothing."""
    flagged: bool
    """|share| above the threshold (or sub-meters counting where the parent did not)."""
    stuck: bool
    read: bool = True
    """The parent and every direct sub-meter have readings covering the bucket: else the
    figures are "no data" (a silent sub-meter is not a loss), neither shared nor flagged."""


@dataclass(frozen=True, slots=True)
class Balance:
    """One parent meter and its direct sub-meters, bucket by bucket."""

    meter: str
    building: str
    submeters: list[str]
    rows: list[BalanceRow]


def _read(series: Series, k: int) -> bool:
    return series.read[k] if k < len(series.read) else True


def _fell_silent(series: Sequence[Series], bucket: Bucket, k: int) -> bool:
    """Whether the readings of one side of a balance (the parent or a sub-meter) stop in
    bucket `k` well before another's (its gateway died at 10:00), or start in it well after
    another's (a new sub-meter's first reading at 14:00, a mains meter commissioned part-way
    through the day: fifth review of issue 20, M4): the bucket is not a measured whole for it,
    and a balance of a whole day against a part-day is no loss (third review of issue 20, M5).
    Whichever side (fourth review, M2: the mains falling silent flagged −116 %), and "well"
    is relative to the bucket: a twelfth of it, at most `HOURLY_GAP` (a sub-meter silent from
    10:05 is not a measured 10:00 hour)."""
    tolerance = min(HOURLY_GAP, (bucket.end - bucket.start) / 12)
    for edge in ("reach", "begin"):
        found = [getattr(s, edge)[k] for s in series if k < len(getattr(s, edge))]
        ends = [r for r in found if r is not None]
        if len(ends) >= 2 and max(ends) - min(ends) > tolerance:
            return True
    return False


def balance(meters: Sequence[Meter], accounts: Accounts, *, threshold: float) -> list[Balance]:
    """For every meter with sub-meters: parent − Σ direct sub-meters per bucket, flagged where
    the unaccounted share is above `threshold` (0.1 = 10 %) either way; a bucket the parent or
    a direct sub-meter has no reading for, or whose readings stop in it well before the
    parent's, is "no data" (`read` false), never flagged."""
    out = []
    for parent in meters:
        children = [m.id for m in meters if m.parent == parent.id]
        if not children:
            continue
        own = accounts.meters[parent.id]
        subs = accounts.total(children, parent.id)
        rows = []
        for k, bucket in enumerate(accounts.buckets):
            p, s = own.values[k], subs.values[k]
            read = all(_read(accounts.meters[m], k) for m in (parent.id, *children))
            sides = [own, *(accounts.meters[m] for m in children)]
            read = read and not _fell_silent(sides, bucket, k)
            share = (p - s) / p if p > 0 and read else None
            # Rounded: a share at the threshold is not flagged by float noise (review 20d, L2).
            over = share is not None and round(abs(share), SHARE_DIGITS) > threshold
            flagged = read and (over if share is not None else s > 0)
            stuck = own.stuck[k] or subs.stuck[k]
            rows.append(BalanceRow(bucket, p, s, p - s, share, flagged, stuck, read))
        out.append(Balance(parent.id, parent.building, sorted(children), rows))
    return out
