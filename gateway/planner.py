"""Block-read planner (pure): merge a table's points into the fewest Modbus requests.

Nearby points are read together when the merged request stays within `max_block`
registers (or bits) and the unused span between two points is at most `max_gap`.
Addresses a device answered with exception 2 (illegal data address) are "bad": no
request may cover them, and a point that covers one cannot be read at all.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from bldgwatch.core.profiles import DeviceProfile, PointSpec, Table
from bldgwatch.gateway.errors import PlanError

DEFAULT_MAX_GAP = 10


@dataclass(frozen=True, slots=True)
class ReadBlock:
    """One request: `count` registers (or bits) of `table` from `address`, holding `points`."""

    table: Table
    address: int
    count: int
    points: tuple[PointSpec, ...]

    @property
    def end(self) -> int:
        """One past the last address read."""
        return self.address + self.count


@dataclass(frozen=True, slots=True)
class Plan:
    """The requests of one device, and the points that cannot be read (they cover bad addresses)."""

    blocks: tuple[ReadBlock, ...]
    skipped: tuple[str, ...] = field(default=())


def _covers_bad(start: int, end: int, bad: Collection[int]) -> bool:
    return any(start <= a < end for a in bad)


def plan_table(
    table: Table,
    specs: Iterable[PointSpec],
    *,
    max_block: int,
    max_gap: int = DEFAULT_MAX_GAP,
    bad: Collection[int] = frozenset(),
) -> tuple[list[ReadBlock], list[str]]:
    """Plan one table's points; returns the blocks and the names of unreadable points.

    Greedy left to right is optimal here: any run of consecutive points that fits is
    feasible, and so is every sub-run, so closing a block as late as possible never
    costs a request.
    """
    if max_block < 1 or max_gap < 0:
        raise PlanError(f"max_block must be >= 1 and max_gap >= 0, got {max_block}, {max_gap}")
    blocks: list[ReadBlock] = []
    skipped: list[str] = []
    start = end = 0
    members: list[PointSpec] = []
    for spec in sorted(specs, key=lambda s: s.address):
        if spec.table is not table:
            raise PlanError(f"point {spec.name!r} is in {spec.table}, not {table}")
        if spec.width > max_block:
            raise PlanError(
                f"point {spec.name!r} needs {spec.width} registers, more than max_block {max_block}"
            )
        s_end = spec.address + spec.width
        if _covers_bad(spec.address, s_end, bad):
            skipped.append(spec.name)
            continue
        fits = (
            members
            and spec.address - end <= max_gap
            and s_end - start <= max_block
            and not _covers_bad(end, spec.address, bad)
        )
        if fits:
            members.append(spec)
            end = s_end
            continue
        if members:
            blocks.append(ReadBlock(table, start, end - start, tuple(members)))
        members, start, end = [spec], spec.address, s_end
    if members:
        blocks.append(ReadBlock(table, start, end - start, tuple(members)))
    return blocks, skipped


def plan_profile(
    profile: DeviceProfile,
    *,
    max_gap: int = DEFAULT_MAX_GAP,
    bad: Mapping[Table, Collection[int]] | None = None,
) -> Plan:
    """Plan every table of a profile, in table order (coil, discrete, holding, input)."""
    bad = bad or {}
    by_table: dict[Table, list[PointSpec]] = {}
    for spec in profile.points:
        by_table.setdefault(spec.table, []).append(spec)
    blocks: list[ReadBlock] = []
    skipped: list[str] = []
    for table in Table:
        specs: Sequence[PointSpec] = by_table.get(table, [])
        if not specs:
            continue
        try:
            t_blocks, t_skipped = plan_table(
                table,
                specs,
                max_block=profile.max_block,
                max_gap=max_gap,
                bad=bad.get(table, frozenset()),
            )
        except PlanError as err:
            raise PlanError(f"profile {profile.profile}: {err}") from err
        blocks.extend(t_blocks)
        skipped.extend(t_skipped)
    return Plan(tuple(blocks), tuple(skipped))
