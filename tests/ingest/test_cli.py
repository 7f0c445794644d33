"""`bldgwatch ingest --config FILE` as a process: runs, reports, stops cleanly on SIGTERM."""

from __future__ import annotations

import queue
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import orjson
import paho.mqtt.client as paho
import pytest
import yaml

from bldgwatch.core import topics
from bldgwatch.core.config import InfluxSettings, MqttSettings
from bldgwatch.core.mqtt import MqttClient

pytestmark = pytest.mark.services

ROOT = Path(__file__).resolve().parents[2]


def test_process_publishes_status_and_stops_cleanly_on_sigterm(
    tmp_path: Path, mqtt_settings: MqttSettings, influx_settings: InfluxSettings
) -> None:
    instance = f"cli-{uuid.uuid4().hex[:8]}"
    config = {
        "instance": instance,
        "group": instance,
        "mqtt": {"host": mqtt_settings.host, "port": mqtt_settings.port},
        "influx": {"url": influx_settings.url, "database": influx_settings.database},
        "status_interval_s": 0.5,
        "register_required": False,
    }
    path = tmp_path / "ingest.yaml"
    path.write_text(yaml.safe_dump(config))
    states: queue.Queue[paho.MQTTMessage] = queue.Queue()
    watcher = MqttClient(mqtt_settings, client_id=f"t-{instance}")
    watcher.subscribe(topics.service_status("ingest", instance), states.put)
    watcher.start()
    proc = subprocess.Popen(
        [sys.executable, "-m", "bldgwatch.cli", "ingest", "--config", str(path)],
        cwd=ROOT,
        stderr=subprocess.PIPE,
    )
    try:
        assert watcher.wait_connected(10)
        assert orjson.loads(states.get(timeout=60).payload)["state"] == "running"
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err.decode()
        last = orjson.loads(states.get(timeout=10).payload)
        while last["state"] == "running":
            last = orjson.loads(states.get(timeout=10).payload)
        assert last["state"] == "stopped"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        watcher.stop()
