"""`bldgwatch score --history` on messy files as people write them (issue 17, point 4; from
the review of the scorer: each test names the defect it caught)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import orjson

from tests.clirun import bldgwatch

HEAD = "asset_id,asset_class,event,at\n"
AS_OF = "2026-01-01T00:00:00Z"


def _score(
    tmp_path: Path, text: str, *extra: str, model: str = "bands"
) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "history.csv"
    path.write_text(text, encoding="utf-8")
    return bldgwatch(
        "score", "--history", str(path), "--as-of", AS_OF, "--model", model, *extra, cwd=tmp_path
    )


def test_one_stray_quote_with_skip_bad_rows_does_not_silently_drop_the_rest(
    tmp_path: Path,
) -> None:
    """Finding: csv.Error ends the reading, so with --skip-bad-rows every row after the first
    quoting error is lost while stderr names only that one line and the exit code is 0."""
    rows = ['P0,pump,"installed" ,2020-01-01\n']  # a hand-edited cell: quote, then a space
    for i in range(1, 50):
        rows += [f"P{i},pump,installed,2020-01-01\n", f"P{i},pump,failure,2021-03-01\n"]
    done = _score(tmp_path, HEAD + "".join(rows), "--skip-bad-rows")
    scored = [orjson.loads(line) for line in done.stdout.splitlines()]
    # observed before: 0 assets scored, exit 0, stderr "skipped line 2: ',' expected after '\"'"
    assert len(scored) == 49, (done.returncode, len(scored), done.stderr)
    assert done.returncode == 0 and "skipped line 2:" in done.stderr, done.stderr


def test_a_quoting_error_is_explained_in_words_a_user_understands(tmp_path: Path) -> None:
    """Finding: the reason is the csv module's internal message (`',' expected after '"'`)."""
    done = _score(tmp_path, HEAD + 'P1,pump,"failure"x,2021-01-05\n')
    assert done.returncode == 2
    assert "quote" in done.stderr.lower(), done.stderr


def test_dates_as_chinese_excel_shows_them_are_read(tmp_path: Path) -> None:
    """Finding: Excel (zh-CN) shows dates as 2020-1-5 or 2020年1月5日; both are refused."""
    for when in ("2020-1-5", "2020年1月5日"):
        done = _score(tmp_path, HEAD + f"P1,pump,installed,{when}\n")
        assert done.returncode == 0, (when, done.stderr)


def test_chinese_words_for_a_failure_are_read(tmp_path: Path) -> None:
    """Finding: 报修 (repair call) and 维修 (repair), how a Chinese log names a failure, are
    'unknown event'; only 故障 is known."""
    text = HEAD + "P1,pump,安装,2020-01-05\nP1,pump,报修,2021-01-05\nP1,pump,维修,2021-03-05\n"
    done = _score(tmp_path, text)
    assert done.returncode == 0, done.stderr


def test_an_impossible_install_date_is_not_scored_silently(tmp_path: Path) -> None:
    """Finding: an install in year 1 is accepted; the pump is 'late life' at 2025 years and
    nothing on stdout or stderr says the date is implausible."""
    done = _score(tmp_path, HEAD + "P1,pump,installed,0001-01-01\nP1,pump,failure,2021-01-01\n")
    row = orjson.loads(done.stdout.splitlines()[0]) if done.returncode == 0 else None
    assert done.returncode == 2 or "0001" in done.stderr or row is None, row


def test_events_after_the_as_of_time_or_before_the_install_are_reported(tmp_path: Path) -> None:
    """Finding: a failure before the install and an install after the as-of time are dropped
    without a word (the unit is then scored on a made-up basis)."""
    text = (
        HEAD
        + "P1,pump,failure,2019-01-05\nP1,pump,installed,2020-01-05\n"  # failure before install
        + "P2,pump,installed,2030-01-05\nP2,pump,failure,2025-06-01\n"  # install in the future
    )
    done = _score(tmp_path, text)
    assert "line 2" in done.stderr and "line 4" in done.stderr, (done.returncode, done.stderr)


def test_duplicate_rows_are_not_counted_twice_silently(tmp_path: Path) -> None:
    """Finding: the same failure pasted twice counts as two failures, with no warning."""
    text = HEAD + "P1,pump,installed,2020-01-05\n" + "P1,pump,failure,2025-06-01\n" * 2
    done = _score(tmp_path, text)
    row = orjson.loads(done.stdout.splitlines()[0])
    assert row["reason_message"] is not None
    recent = row["reason_message"]["params"]["facts"][1]["params"]["n"]
    assert recent == 1 or "duplicate" in done.stderr.lower(), (recent, done.stderr)


def test_a_header_only_file_says_there_is_nothing_to_score(tmp_path: Path) -> None:
    """Finding: exit 0, no output, no message."""
    done = _score(tmp_path, HEAD)
    assert done.returncode == 2 or done.stderr.strip(), (done.returncode, done.stderr)
