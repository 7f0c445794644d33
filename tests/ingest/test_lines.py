"""Batch → line protocol: golden cases (wire JSON in, expected lines out) and tables."""

from __future__ import annotations

from pathlib import Path

import pytest

from bldgwatch.core.codec import decode_batch
from bldgwatch.core.models import EquipmentInfo, Quality, Reading, ReadingBatch
from bldgwatch.ingest.lines import batch_to_lines

CASES = Path(__file__).parent / "cases"


@pytest.mark.parametrize("case", sorted(p.name for p in CASES.iterdir() if p.is_dir()))
def test_golden_case(case: str) -> None:
    decoded = decode_batch((CASES / case / "batch.json").read_bytes())
    assert decoded.rejected == []
    expected = (CASES / case / "expected.lp").read_text().splitlines()
    assert batch_to_lines(decoded.batch).lines == expected


def _batch(*readings: Reading) -> ReadingBatch:
    return ReadingBatch(
        site="s",
        gateway="g",
        seq=1,
        equipment={"P-01": EquipmentInfo("pump", "B1"), "TS-01": EquipmentInfo("temp_sensor", "")},
        readings=list(readings),
    )


G, U, B = Quality.GOOD, Quality.UNCERTAIN, Quality.BAD
TAGS = "building=B1,equipment=P-01,gateway=g,site=s"


@pytest.mark.parametrize(
    ("readings", "lines", "points", "dropped"),
    [
        pytest.param([], [], 0, 0, id="empty"),
        pytest.param(
            [Reading("P-01", "flow", 5, 1.5, G), Reading("P-01", "flow", 6, 2, G)],
            [f"pump,{TAGS} flow=1.5 5", f"pump,{TAGS} flow=2.0 6"],
            2,
            0,
            id="one-line-per-timestamp",
        ),
        pytest.param(
            [Reading("P-01", "flow", 5, 1.5, G), Reading("P-01", "running", 5, True, U)],
            [f"pump,{TAGS} flow=1.5,running=true 5"],
            2,
            0,
            id="points-share-a-line-uncertain-written",
        ),
        pytest.param(
            [Reading("P-01", "flow", 5, 1.5, B), Reading("P-01", "running", 5, False, B)],
            [],
            0,
            2,
            id="all-bad-quality-no-line",
        ),
        pytest.param(
            [Reading("P-01", "flow", 5, 1.0, G), Reading("P-01", "flow", 5, 3.0, G)],
            [f"pump,{TAGS} flow=3.0 5"],
            2,
            0,
            id="same-point-twice-last-wins",
        ),
        pytest.param(
            [Reading("TS-01", "temp_c", 9, 21, G)],
            ["temp_sensor,equipment=TS-01,gateway=g,site=s temp_c=21.0 9"],
            1,
            0,
            id="empty-building-tag-left-out",
        ),
    ],
)
def test_lines_table(readings: list[Reading], lines: list[str], points: int, dropped: int) -> None:
    out = batch_to_lines(_batch(*readings))
    assert out.lines == lines
    assert (out.points, out.dropped_bad_quality) == (points, dropped)
