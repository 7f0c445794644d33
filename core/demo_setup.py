"""The demo's building and the configuration of every component, as plain data.

`bldgwatch demo` writes these to var/demo/*.yaml and starts each component with its file,
exactly as an operator would; the end-to-end tests use the same builder.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from core.servers import free_port

SITE = "demo"
GATEWAY = "gw-1"

SITE_SPEC: dict[str, Any] = {
    "site": SITE,
    "name": "Demo Tower",
    "buildings": [{"id": "B1", "name": "Tower A"}],
    "equipment": [
        {
            "id": "E-01",
            "type": "elevator",
            "building": "B1",
            "name": "Passenger lift 1",
            "location": "Core shaft 1",
            "model": "Traction 1000 kg 1.75 m/s",
            "installed": "2016-03-01",
            "rated": {"speed_m_s": 1.75, "load_kg": 1000},
            # 12 floors of 3.2 m: the top landing's level, for the overrun rule.
            "params": {"top_level_m": 35.2},
        },
        {
            "id": "P-01",
            "type": "pump",
            "building": "B1",
            "name": "Domestic water pump 1",
            "location": "B2 plant room",
            "model": "CR 32-4",
            "machine_class": "II",
            "installed": "2013-06-15",
            "rated": {"current_a": 30.0, "power_kw": 15.0},
        },
        {
            "id": "SP-01",
            "type": "shaft_panel",
            "building": "B1",
            "name": "Shaft 3F distribution",
            "location": "3F electrical shaft",
            "installed": "2016-03-01",
            "rated": {"current_a": 100.0},
        },
        {
            "id": "TS-01",
            "type": "temp_sensor",
            "building": "B1",
            "name": "Shaft 3F ambient",
            "location": "3F electrical shaft",
            "installed": "2023-09-01",
        },
    ],
}

COMPONENTS = ("simulate", "gateway", "ingest", "rules", "maintenance", "console")


@dataclass(frozen=True)
class DemoPorts:
    """Where everything listens."""

    mqtt: int
    influx_url: str
    http: int
    modbus: dict[str, int]


def allocate_modbus_ports() -> dict[str, int]:
    """A free port for each Modbus device of the demo building."""
    return {eq: free_port() for eq in ("E-01", "P-01", "SP-01")}


def component_configs(
    *,
    ports: DemoPorts,
    var_dir: Path,
    db_url: str,
    influx_database: str = "bldgwatch",
    faults: list[dict[str, Any]] | None = None,
    speed: float = 1.0,
) -> dict[str, dict[str, Any]]:
    """The YAML documents of the site file and every component, keyed by file stem."""
    mqtt = {"host": "127.0.0.1", "port": ports.mqtt}
    influx = {"api": "v1", "url": ports.influx_url, "database": influx_database}
    database = {"url": db_url}
    site_file = str(var_dir / "demo" / "site.yaml")
    if faults is None:
        faults = [
            # The pump's bearing overheats within the first half minute ...
            {
                "equipment": "P-01",
                "fault": "bearing_overheat",
                "at_s": 5.0,
                "duration_s": None,
                "params": {"rate_c_per_s": 3.0},
            },
            # ... and leakage current creeps up in the electrical shaft later on.
            {
                "equipment": "SP-01",
                "fault": "leakage_rising",
                "at_s": 40.0,
                "duration_s": None,
                "params": {},
            },
        ]
    devices = [
        ("E-01", "elevator", "elevator-generic", {"rated_speed_m_s": 1.75}),
        ("P-01", "pump", "pump-generic", {"rated_current_a": 30.0}),
        ("SP-01", "shaft_panel", "shaft-panel-generic", {"rated_current_a": 100.0}),
    ]
    sim = {
        "site": SITE,
        "seed": 42,
        "speed": speed,
        "step_s": 0.2,
        "mqtt": mqtt,
        "ground_truth": str(var_dir / "demo" / "ground-truth.jsonl"),
        "devices": [
            {
                "equipment": eq,
                "kind": kind,
                "profile": prof,
                "host": "127.0.0.1",
                "port": ports.modbus[eq],
                "unit": 1,
                "params": params,
            }
            for eq, kind, prof, params in devices
        ],
        "sensors": [
            {
                "equipment": "TS-01",
                "kind": "temp_sensor",
                "topic": f"sensors/{SITE}/TS-01",
                "interval_s": 2.0,
                "params": {},
            }
        ],
        "faults": faults,
    }
    gateway = {
        "site": SITE,
        "gateway_id": GATEWAY,
        "mqtt": mqtt,
        "queue": {"path": str(var_dir / "gateway" / f"{GATEWAY}.sqlite")},
        "status_interval_s": 10.0,
        "devices": [
            {
                "equipment": eq,
                "building": "B1",
                "profile": prof,
                "host": "127.0.0.1",
                "port": ports.modbus[eq],
                "unit": 1,
                "poll_interval_s": 1.0,
                "timeout_s": 1.0,
            }
            for eq, _kind, prof, _params in devices
        ],
        "mqtt_sensors": [
            {
                "equipment": "TS-01",
                "type": "temp_sensor",
                "building": "B1",
                "topic": f"sensors/{SITE}/TS-01",
                "points": {"temperature_c": "temperature_c"},
                "timestamp_path": "ts",
            }
        ],
    }
    return {
        "site": SITE_SPEC,
        "simulate": sim,
        "gateway": gateway,
        "ingest": {"instance": "ingest-1", "mqtt": mqtt, "influx": influx},
        "rules": {
            "instance": "rules-1",
            "mqtt": mqtt,
            "database": database,
            "site_files": [site_file],
            "influx": influx,  # alarm transitions as Grafana annotations (alarm_events)
        },
        "maintenance": {
            "instance": "maintenance-1",
            "mqtt": mqtt,
            "database": database,
            "site_files": [site_file],
            "influx": influx,
        },
        "console": {
            "http": {"host": "127.0.0.1", "port": ports.http},
            "database": database,
            "influx": influx,
            "mqtt": mqtt,
            "dev": True,
        },
    }


def write_configs(configs: dict[str, dict[str, Any]], folder: Path) -> dict[str, Path]:
    """Write each document to folder/<name>.yaml; return the paths."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name, doc in configs.items():
        path = folder / f"{name}.yaml"
        path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
        paths[name] = path
    return paths
