"""Control commands, status, sensor payloads and ground-truth lines."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import orjson
import pytest

from bldgwatch.core import topics
from bldgwatch.simulators.equipment import Episode
from bldgwatch.simulators.ground_truth import GroundTruthWriter
from bldgwatch.simulators.wire import (
    CommandError,
    iso_utc,
    parse_command,
    sensor_payload,
    status_payload,
)
from tests.simulators.helpers import T0


def test_topics() -> None:
    assert topics.sim_control("demo") == "bw/v1/_sim/demo/control"
    assert topics.sim_status("demo") == "bw/v1/_sim/demo/status"


def test_iso_utc_has_milliseconds_and_z() -> None:
    assert iso_utc(T0 + timedelta(microseconds=123456)) == "2026-11-27T10:00:00.123Z"


def test_sensor_payload() -> None:
    body = orjson.loads(sensor_payload({"temperature_c": 24.3456}, T0))
    assert body == {"temperature_c": 24.35, "ts": "2026-11-27T10:00:00.000Z"}


def test_parse_command_accepts_a_valid_start() -> None:
    cmd = parse_command(
        b'{"equipment":"P-01","fault":"bearing_overheat","action":"start",'
        b'"params":{"rate_c_per_s":3}}'
    )
    assert (cmd.equipment, cmd.fault, cmd.action, cmd.params) == (
        "P-01",
        "bearing_overheat",
        "start",
        {"rate_c_per_s": 3},
    )


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"not json", "not JSON"),
        (b"[1, 2]", "not a JSON object"),
        (b'{"equipment":"P-01","fault":"x","action":"pause"}', "action"),
        (b'{"fault":"x","action":"stop"}', "equipment"),
        (b'{"equipment":"P-01","fault":"x","action":"stop","extra":1}', "extra"),
    ],
)
def test_parse_command_rejects(payload: bytes, reason: str) -> None:
    with pytest.raises(CommandError, match=reason):
        parse_command(payload)


def test_status_lists_active_faults() -> None:
    episode = Episode("P-01", "overload", T0, {"factor": 1.3})
    body = orjson.loads(status_payload("demo", T0, [episode]))
    assert body["running"] is True
    assert body["active"] == [
        {
            "equipment": "P-01",
            "fault": "overload",
            "start": "2026-11-27T10:00:00.000Z",
            "stage": None,
            "params": {"factor": 1.3},
        }
    ]


def test_ground_truth_appends_one_line_per_episode(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "gt.jsonl"
    writer = GroundTruthWriter(path)
    end = T0 + timedelta(seconds=90)
    assert writer.write([Episode("P-01", "overload", T0, {"factor": 1.3}, end)]) == 1
    assert writer.write([Episode("E-01", "entrapment", T0, {"at_floor": False}, end, "late")]) == 1
    lines = [orjson.loads(line) for line in path.read_bytes().splitlines()]
    assert lines[0] == {
        "equipment": "P-01",
        "fault": "overload",
        "start": "2026-11-27T10:00:00.000Z",
        "end": "2026-11-27T10:01:30.000Z",
        "stage": None,
        "params": {"factor": 1.3},
    }
    assert lines[1]["params"] == {"at_floor": False} and lines[1]["stage"] == "late"
    assert GroundTruthWriter(None).write([Episode("P-01", "x", T0)]) == 0
