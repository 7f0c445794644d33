"""Topic scheme and line protocol (pure)."""

from __future__ import annotations

import pytest

from bldgwatch.core import lineproto, topics


def test_topic_scheme() -> None:
    assert topics.readings("demo", "gw-1") == "bw/v1/demo/gw-1/readings"
    assert topics.gateway_status("demo", "gw-1") == "bw/v1/demo/gw-1/status"
    assert topics.alarms("demo", "P-01") == "bw/v1/demo/alarms/P-01"
    assert topics.deadletter("demo", "ingest") == "bw/v1/demo/deadletter/ingest"
    assert topics.work_orders("demo", "P-01") == "bw/v1/demo/workorders/P-01"
    assert topics.shared("ingest", topics.ALL_READINGS) == "$share/ingest/bw/v1/+/+/readings"
    parsed = topics.parse_readings("bw/v1/demo/gw-1/readings")
    assert parsed is not None
    assert (parsed.site, parsed.gateway) == ("demo", "gw-1")
    assert topics.parse_readings("bw/v1/demo/alarms/P-01") is None
    assert topics.site_of("bw/v1/demo/alarms/P-01") == "demo"
    assert topics.sim_control("demo") == "bw/v1/_sim/demo/control"
    assert topics.site_of(topics.sim_control("demo")) is None
    assert topics.site_of(topics.service_status("ingest", "i-1")) is None


@pytest.mark.parametrize("bad", ["a/b", "+", "#", "", "$SYS", "_svc", "_sim"])
def test_topic_levels_are_checked(bad: str) -> None:
    with pytest.raises(ValueError, match="not a valid topic level"):
        topics.readings(bad, "gw")


def test_line_protocol_escapes_and_types() -> None:
    text = lineproto.line(
        "pump",
        {"site": "demo", "equipment": "P 01", "building": "B,1", "empty": ""},
        {"bearing_temp_c": 51, "running": True, "note": 'say "hi"'},
        1_767_225_600_000,
    )
    assert text == (
        r"pump,building=B\,1,equipment=P\ 01,site=demo "
        r'bearing_temp_c=51.0,running=true,note="say \"hi\"" 1767225600000'
    )
