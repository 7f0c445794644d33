"""deploy/grafana: the files parse and query only measurements and points that exist."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from bldgwatch.core.profiles import load_profiles

GRAFANA = Path(__file__).resolve().parents[2] / "deploy" / "grafana"
DASHBOARDS = sorted((GRAFANA / "dashboards").glob("*.json"))
ALARM_EVENT_COLUMNS = {
    # tags and fields of rules.annotations.event_line
    "site", "building", "equipment", "equipment_type", "rule", "fault_code", "severity",
    "transition", "title", "text", "state", "previous_state", "priority", "alarm_id",
    "event_id", "value", "actor", "comment",
}  # fmt: skip
QUOTED = re.compile(r'"([A-Za-z0-9_]+)"')


def points_by_type() -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for prof in load_profiles().values():
        names = out.setdefault(prof.equipment_type, {"site", "building", "equipment", "gateway"})
        for point in prof.points:
            names.update(point.point_names())
    return out


def queries(dash: dict[str, Any]) -> list[str]:
    found = [t["query"] for p in dash["panels"] for t in p["targets"]]
    found += [a["query"] for a in dash["annotations"]["list"]]
    found += [v["query"] for v in dash["templating"]["list"]]
    return found


def test_one_dashboard_per_profiled_equipment_type() -> None:
    assert {p.stem for p in DASHBOARDS} == set(points_by_type())


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.stem)
def test_dashboard_queries_reference_existing_points(path: Path) -> None:
    dash = json.loads(path.read_text(encoding="utf-8"))
    known = points_by_type()
    assert dash["uid"] and dash["panels"]
    assert any("alarm_events" in a["query"] for a in dash["annotations"]["list"])
    for query in queries(dash):
        measurement = re.search(r'FROM "([a-z_]+)"', query)
        assert measurement is not None, query
        name = measurement.group(1)
        allowed = ALARM_EVENT_COLUMNS if name == "alarm_events" else known[name]
        if name != "alarm_events":
            assert name == path.stem, query
        columns = set(QUOTED.findall(query)) - {name}
        assert columns <= allowed, (query, columns - allowed)


def test_provisioning_files_parse() -> None:
    ds = yaml.safe_load((GRAFANA / "provisioning/datasources/bldgwatch.yaml").read_text())
    [source] = ds["datasources"]
    assert (source["type"], source["uid"]) == ("influxdb", "bldgwatch-influx")
    boards = yaml.safe_load((GRAFANA / "provisioning/dashboards/bldgwatch.yaml").read_text())
    assert boards["providers"][0]["type"] == "file"
    for path in DASHBOARDS:
        uids = {
            t["datasource"]["uid"]
            for p in json.loads(path.read_text())["panels"]
            for t in p["targets"]
        }
        assert uids == {source["uid"]}
