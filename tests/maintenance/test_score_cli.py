"""`bldgwatch score --history FILE.csv [--as-of]`: one JSON object per asset."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from typer.testing import CliRunner

from bldgwatch.cli import app
from bldgwatch.maintenance.errors import HistoryError
from bldgwatch.maintenance.lifecycle import read_history
from bldgwatch.maintenance.scoring import FIT_MODEL_NAME
from tests.maintenance.test_lifecycle_accuracy import AS_OF, simulate_fleet


def test_score_writes_one_json_object_per_asset(tmp_path: Path) -> None:
    text, ages = simulate_fleet(seed=5)
    history = tmp_path / "history.csv"
    history.write_text(text)
    result = CliRunner().invoke(
        app, ["score", "--history", str(history), "--as-of", AS_OF.isoformat()]
    )
    assert result.exit_code == 0, result.output
    rows = [orjson.loads(line) for line in result.stdout.splitlines()]
    assert {r["asset_id"] for r in rows} == set(ages)
    for row in rows:
        assert row["stage"] in {"early", "mid", "late"}
        assert row["p_early"] + row["p_mid"] + row["p_late"] == pytest.approx(1, abs=1e-3)
        assert row["asset_class"] in {"elevator", "pump"}
        assert row["model"] == FIT_MODEL_NAME and row["params"]["beta3"] > 1
        assert row["expected_next_failure_years"] > 0 and row["reason"]


@pytest.mark.parametrize(
    ("csv", "message"),
    [
        ("asset_id,event,at\n", "header lacks asset_class"),
        ("asset_id,asset_class,event,at\nP,pump,exploded,2026-01-01\n", "line 2: unknown event"),
        ("asset_id,asset_class,event,at\nP,pump,failure,yesterday\n", "line 2: bad time"),
        ("asset_id,asset_class,event,at\nP,pump,failure,\n", "line 2: missing at"),
    ],
)
def test_bad_history_is_refused_with_the_line(csv: str, message: str, tmp_path: Path) -> None:
    with pytest.raises(HistoryError, match=message):
        read_history(csv.splitlines(keepends=True))
    path = tmp_path / "bad.csv"
    path.write_text(csv)
    result = CliRunner().invoke(app, ["score", "--history", str(path)])
    assert result.exit_code == 2 and message in result.output


def test_unfitted_classes_and_unknown_ages_still_get_a_stage() -> None:
    csv = (
        "asset_id,asset_class,event,at\n"
        "P-1,pump,installed,2025-12-01T00:00:00Z\n"
        "P-1,pump,failure,2026-01-10T00:00:00Z\n"
        "P-2,pump,failure,2026-01-10T00:00:00Z\n"  # never installed: age unknown
        "E-1,elevator,installed,2000-01-01T00:00:00Z\n"
        "E-1,elevator,replaced,2025-06-01T00:00:00Z\n"  # age renewed
    )
    from bldgwatch.maintenance.lifecycle import score_fleet

    scored = {life.asset_id: s for life, s in score_fleet(read_history(csv.splitlines()), AS_OF)}
    assert scored["P-1"].stage.value == "early" and scored["P-1"].params["model"] == "age-bands-v1"
    assert scored["P-2"].stage.value == "mid" and "unknown" in scored["P-2"].reason
    assert scored["E-1"].stage.value == "early" and scored["E-1"].params["age_basis"] == "overhaul"
