"""`bldgwatch score --history FILE.csv [--as-of]`: one JSON object per asset."""

from __future__ import annotations

import subprocess
import sys
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


# -- the command as a user runs it: its own process, messy files, no traceback ---------------
BLDGWATCH = str(Path(sys.executable).with_name("bldgwatch"))
AS_OF_ARG = ["--as-of", "2026-03-01T00:00:00Z"]


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [BLDGWATCH, *args], capture_output=True, text=True, timeout=120, check=False
    )


def test_the_command_reads_an_excel_csv_and_speaks_chinese(tmp_path: Path) -> None:
    path = tmp_path / "excel.csv"
    path.write_bytes(
        (
            "asset_id,asset_class,event,at\r\n"
            "P-1,pump,install,2025/12/1 8:00\r\n"
            "P-1,pump,failure,2026/1/10 9:30\r\n"
            "E-1,elevator,installed,2000-01-01\r\n"
        ).encode("utf-8-sig")
    )
    done = _run("score", "--history", str(path), *AS_OF_ARG, "--lang", "zh-CN")
    assert done.returncode == 0, done.stderr
    rows = {r["asset_id"]: r for r in map(orjson.loads, done.stdout.splitlines())}
    assert rows["P-1"]["stage"] == "early" and rows["P-1"]["reason"].startswith("早期失效期")
    assert rows["E-1"]["reason_text"]["en"].startswith("late life")
    assert rows["E-1"]["reason_message"]["key"] == "stage.reason"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            b'asset_id,asset_class,event,at\nP-1,pump,install,2020-01-01\nP-1,"pump,failure,x\n',
            "line 3: unterminated quote",
        ),
        ("asset_id,asset_class,event,at\nP-1,水泵,故障,2021-01-01\n".encode("gbk"), "not UTF-8"),
        (b"asset_id,asset_class,event,at\nP-1,pump,exploded,2021-01-01\n", "line 2: unknown"),
        (b"", "line 1: empty file"),
    ],
)
def test_a_bad_file_is_refused_with_a_message_and_no_traceback(
    content: bytes, message: str, tmp_path: Path
) -> None:
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    done = _run("score", "--history", str(path), *AS_OF_ARG)
    assert done.returncode == 2
    assert message in done.stderr and "Traceback" not in done.stderr
    assert done.stdout == ""


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--history", "/nonexistent/x.csv"], "No such file"),
        (["--as-of", "soon"], "--as-of: bad time 'soon'"),
        (["--lang", "fr"], "--lang: 'fr' is not one of en, zh-CN"),
        (["--model", "magic"], "--model must be bayes, mle or bands"),
    ],
)
def test_bad_options_are_refused_without_a_traceback(
    args: list[str], message: str, tmp_path: Path
) -> None:
    path = tmp_path / "ok.csv"
    path.write_text("asset_id,asset_class,event,at\nP-1,pump,install,2020-01-01\n")
    done = _run("score", "--history", str(path), *args)
    assert done.returncode == 2 and message in done.stderr, done.stderr
    assert "Traceback" not in done.stderr


def test_skipping_bad_rows_scores_the_rest_and_lists_them(tmp_path: Path) -> None:
    path = tmp_path / "some-bad.csv"
    path.write_text(
        "asset_id,asset_class,event,at\nP-1,pump,install,2020-01-01\nP-2,pump,oops,2020-01-01\n"
    )
    done = _run("score", "--history", str(path), *AS_OF_ARG, "--skip-bad-rows")
    assert done.returncode == 0
    assert [orjson.loads(r)["asset_id"] for r in done.stdout.splitlines()] == ["P-1"]
    assert "score: skipped line 3: unknown event 'oops'" in done.stderr


def test_fleetgen_writes_a_fleet_the_scorer_reads(tmp_path: Path) -> None:
    history, truth = tmp_path / "fleet.csv", tmp_path / "truth.json"
    done = _run(
        "fleetgen", "--history", str(history), "--truth", str(truth), "--seed", "7",
        "--units-per-class", "15", "--classes", "2", "--missing-install", "0.3",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    known = orjson.loads(truth.read_bytes())
    assert len(known["classes"]) == 2
    scored = _run("score", "--history", str(history), "--as-of", known["as_of"])
    assert scored.returncode == 0, scored.stderr
    rows = [orjson.loads(r) for r in scored.stdout.splitlines()]
    assert {r["asset_id"] for r in rows} <= set(known["assets"])
    unknown = [r for r in rows if not known["assets"][r["asset_id"]]["install_known"]]
    assert unknown and all(r["age_basis"] in ("overhaul", "first_record") for r in unknown)
    bad = _run("fleetgen", "--history", str(history), "--classes", "99")
    assert bad.returncode == 2 and "classes must be 1..12" in bad.stderr


def test_an_asset_without_install_uses_its_best_age_bound() -> None:
    rows = ["asset_id,asset_class,event,at"]
    for n in range(12):  # a fitted class: 12 pumps installed 2 to 24 years ago
        rows.append(f"P-{n:02d},pump,installed,{2024 - 2 * n}-03-01")
        rows += [f"P-{n:02d},pump,failure,{2024 - 2 * n + k}-06-01" for k in range(2 * n)]
    rows += [
        "X-1,pump,failure,2012-05-01",  # no install, no renewal: at least ~13.8 years
        "X-1,pump,failure,2020-05-01",
        "X-2,pump,overhaul,2024-03-01",  # no install but overhauled: 2 years since overhaul
        "X-2,pump,failure,2010-01-01",  # before the overhaul: not on its current age axis
    ]
    from bldgwatch.maintenance.lifecycle import score_fleet

    scored = {life.asset_id: s for life, s in score_fleet(read_history(rows), AS_OF)}
    x1, x2 = scored["X-1"], scored["X-2"]
    assert x1.params["model"] == FIT_MODEL_NAME and x1.params["age_basis"] == "first_record"
    assert x1.params["age_at_least"] == pytest.approx(13.83, abs=0.01)
    assert x1.params["age_estimate_years"] >= x1.params["age_at_least"]
    assert x1.p_early < 0.01  # at least 13.8 years old: not burn-in
    assert "at least 13.8 years since the first record" in x1.reason
    assert "自首条记录起至少 13.8 年" in x1.texts["zh-CN"]
    assert x2.params["age_basis"] == "overhaul" and x2.params["age_years"] == pytest.approx(
        2.0, abs=0.01
    )
    assert x2.params["fit_imputed_ages"] == 1  # X-1 joined its class's fit
