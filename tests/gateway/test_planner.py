"""Block-read planner: table-driven cases."""

from __future__ import annotations

from typing import Any

import pytest

from bldgwatch.core.profiles import DeviceProfile, PointSpec, Table, load_profiles
from bldgwatch.core.registers import DataType
from bldgwatch.gateway.errors import PlanError
from bldgwatch.gateway.planner import plan_profile, plan_table

H = Table.HOLDING


def pt(
    name: str, address: int, dtype: DataType = DataType.UINT16, count: int | None = None
) -> PointSpec:
    return PointSpec(name=name, table=H, address=address, type=dtype, count=count)


U32 = DataType.UINT32
F64 = DataType.FLOAT64

# (case, points, max_block, max_gap, bad addresses, expected (address, count, names), skipped)
CASES = [
    (
        "contiguous",
        [pt("a", 0), pt("b", 1), pt("c", 2, U32)],
        100,
        10,
        set(),
        [(0, 4, ["a", "b", "c"])],
        [],
    ),
    (
        "unsorted input",
        [pt("c", 2, U32), pt("a", 0), pt("b", 1)],
        100,
        10,
        set(),
        [(0, 4, ["a", "b", "c"])],
        [],
    ),
    (
        "gap equal to max_gap merges",
        [pt("a", 0), pt("b", 11)],
        100,
        10,
        set(),
        [(0, 12, ["a", "b"])],
        [],
    ),
    (
        "gap above max_gap splits",
        [pt("a", 0), pt("b", 12)],
        100,
        10,
        set(),
        [(0, 1, ["a"]), (12, 1, ["b"])],
        [],
    ),
    (
        "max_gap 0 only merges neighbours",
        [pt("a", 0), pt("b", 1), pt("c", 3)],
        100,
        0,
        set(),
        [(0, 2, ["a", "b"]), (3, 1, ["c"])],
        [],
    ),
    (
        "max_block splits",
        [pt("a", 0), pt("b", 1), pt("c", 2), pt("d", 3)],
        3,
        10,
        set(),
        [(0, 3, ["a", "b", "c"]), (3, 1, ["d"])],
        [],
    ),
    (
        "a wide point closes the block",
        [pt("a", 0), pt("b", 2, F64)],
        5,
        10,
        set(),
        [(0, 1, ["a"]), (2, 4, ["b"])],
        [],
    ),
    ("exactly max_block", [pt("a", 0), pt("b", 1, U32)], 3, 10, set(), [(0, 3, ["a", "b"])], []),
    (
        "bad address in a gap splits",
        [pt("a", 0), pt("b", 4)],
        100,
        10,
        {2},
        [(0, 1, ["a"]), (4, 1, ["b"])],
        [],
    ),
    (
        "bad address inside a point skips it",
        [pt("a", 0), pt("b", 1, U32), pt("c", 3)],
        100,
        10,
        {2},
        [(0, 1, ["a"]), (3, 1, ["c"])],
        ["b"],
    ),
    (
        "bad address outside every span is harmless",
        [pt("a", 0), pt("b", 1)],
        100,
        10,
        {50},
        [(0, 2, ["a", "b"])],
        [],
    ),
    (
        "strings count their registers",
        [pt("s", 0, DataType.STRING, 8), pt("x", 8)],
        100,
        10,
        set(),
        [(0, 9, ["s", "x"])],
        [],
    ),
    (
        "far apart",
        [pt("a", 0), pt("b", 1000), pt("c", 2000)],
        125,
        10,
        set(),
        [(0, 1, ["a"]), (1000, 1, ["b"]), (2000, 1, ["c"])],
        [],
    ),
    ("empty", [], 100, 10, set(), [], []),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_plan_table(case: tuple[Any, ...]) -> None:
    _, points, max_block, max_gap, bad, expected, skipped = case
    blocks, got_skipped = plan_table(H, points, max_block=max_block, max_gap=max_gap, bad=bad)
    assert [(b.address, b.count, [p.name for p in b.points]) for b in blocks] == expected
    assert got_skipped == skipped
    for block in blocks:
        assert block.count <= max_block
        assert not any(block.address <= a < block.end for a in bad)


def test_point_wider_than_max_block_is_an_error() -> None:
    with pytest.raises(PlanError, match="'s' needs 20 registers"):
        plan_table(H, [pt("s", 0, DataType.STRING, 20)], max_block=10)


def test_point_of_another_table_is_an_error() -> None:
    coil = PointSpec(name="c", table=Table.COIL, address=0, type=DataType.BOOL)
    with pytest.raises(PlanError, match="not holding"):
        plan_table(H, [coil], max_block=10)


@pytest.mark.parametrize(
    ("profile_id", "expected"),
    [
        ("pump-generic", [(Table.DISCRETE, 0, 2), (Table.HOLDING, 0, 1), (Table.INPUT, 0, 14)]),
        ("elevator-generic", [(Table.HOLDING, 0, 10)]),
        ("shaft-panel-generic", [(Table.INPUT, 0, 14)]),
    ],
)
def test_builtin_profiles_plan_to_few_requests(
    profile_id: str, expected: list[tuple[Table, int, int]]
) -> None:
    plan = plan_profile(load_profiles()[profile_id])
    assert [(b.table, b.address, b.count) for b in plan.blocks] == expected
    assert plan.skipped == ()


def test_plan_profile_plans_around_bad_addresses_per_table() -> None:
    profile = load_profiles()["pump-generic"]
    plan = plan_profile(profile, bad={Table.INPUT: {8}})
    inputs = [(b.address, b.count) for b in plan.blocks if b.table is Table.INPUT]
    assert inputs == [(0, 8), (9, 5)]
    assert plan.skipped == ("bearing_temp_c",)


def test_plan_profile_names_the_profile_on_error() -> None:
    profile = DeviceProfile(
        profile="tiny",
        equipment_type="pump",
        max_block=2,
        points=[pt("f", 0, F64)],
    )
    with pytest.raises(PlanError, match="profile tiny"):
        plan_profile(profile)
