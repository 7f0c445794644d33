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


def _reference(batch: ReadingBatch) -> list[str]:
    """The lines one reading at a time through core.lineproto (the slow, obvious way)."""
    from bldgwatch.core import lineproto

    groups: dict[tuple[str, int], dict[str, float | bool]] = {}
    for r in batch.readings:
        if r.quality is not Quality.BAD:
            groups.setdefault((r.equipment, r.ts_ms), {})[r.point] = (
                r.value if isinstance(r.value, bool) else float(r.value)
            )
    out = []
    for (eq, ts), fields in groups.items():
        info = batch.equipment[eq]
        tags = {"site": "s", "gateway": "g", "equipment": eq, "building": info.building}
        out.append(lineproto.line(info.type, tags, fields, ts))
    return out


@pytest.mark.parametrize(
    "values",
    [
        [21.5, 0.1, -3.0, 1e16, 1234567890123456.8, 0.0001, -0.0],  # one C-formatted message
        [21.5, 1e-05, 2.5e-07, 7.0, 3.25, 8.5, 9.0],  # orjson spells these otherwise: per value
        [21.5, 3, True, False, 2.0, 1.0, 0.5],  # integers and booleans: per value
    ],
)
@pytest.mark.parametrize(
    "layout",
    ["runs", "split_run", "point_twice", "bad_quality"],
)
def test_common_message_lines_match_the_reference(values: list[float], layout: str) -> None:
    """The C-joined lines of the common message equal core.lineproto's, and every layout
    that leaves the common shape (an instant in two runs, a point twice, a bad reading)
    still comes out right."""
    stamps = [1000, 1000, 1000, 2000, 2000, 3000, 3000]
    points = ["a", "b", "c", "a", "b", "a", "b"]
    eqs = ["P-01", "P-01", "P-01", "P-01", "P-01", "TS-01", "TS-01"]
    quality = [G] * 7
    if layout == "split_run":
        eqs[4], stamps[4] = "TS-01", 3000  # TS-01 at 3000 starts, then P-01 … TS-01 again
        eqs[5], stamps[5], points[5] = "P-01", 2000, "c"
    elif layout == "point_twice":
        points[1] = "a"
    elif layout == "bad_quality":
        quality[2] = B
    batch = _batch(
        *(
            Reading(e, p, t, v, q)
            for e, p, t, v, q in zip(eqs, points, stamps, values, quality, strict=True)
        )
    )
    assert batch_to_lines(batch).lines == _reference(batch)
