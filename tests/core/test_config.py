"""Config loading: a wrong field stops a process with a message naming the field."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bldgwatch.core.config import MqttSettings, StrictModel, load_config
from bldgwatch.core.errors import ConfigError


class _Cfg(StrictModel):
    mqtt: MqttSettings = MqttSettings()
    name: str


def test_valid_config_loads(tmp_path: Path) -> None:
    path = tmp_path / "ok.yaml"
    path.write_text("name: x\nmqtt: {port: 1884}\n")
    assert load_config(path, _Cfg).mqtt.port == 1884


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("name: x\nmqtt: {port: 70000}\n", "mqtt.port"),
        ("name: x\nmqtt: {prot: 1}\n", "mqtt.prot"),
        ("mqtt: {}\n", "name"),
        ("- a list\n", "top level must be a mapping"),
        ("name: [unclosed\n", "not valid YAML"),
    ],
)
def test_bad_config_names_the_field(tmp_path: Path, text: str, field: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as err:
        load_config(path, _Cfg)
    assert field in str(err.value)
    assert str(path) in str(err.value)


def test_a_file_that_is_not_utf8_is_named_not_a_traceback(tmp_path: Path) -> None:
    """Final review MEDIUM-1: a config saved in GBK (a zh-CN Windows editor's habit) stopped
    every loader with a UnicodeDecodeError traceback."""
    path = tmp_path / "gbk.yaml"
    path.write_bytes("name: 一号网关\n".encode("gbk"))
    with pytest.raises(ConfigError, match=r"not UTF-8 text .*save the file as UTF-8") as err:
        load_config(path, _Cfg)
    assert str(path) in str(err.value)


def test_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "nope.yaml", _Cfg)


@pytest.mark.parametrize(
    "component", ["simulate", "gateway", "ingest", "rules", "maintenance", "alerts", "console"]
)
def test_every_process_stops_at_start_on_a_wrong_field(tmp_path: Path, component: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("mqtt: {port: not-a-port}\nsurely_not_a_field: 1\n")
    proc = subprocess.run(
        [sys.executable, "-m", "bldgwatch.cli", component, "--config", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 2, proc.stderr
    assert "surely_not_a_field" in proc.stderr
    assert str(path) in proc.stderr


def test_command_line_options_override_the_file_and_are_validated(tmp_path: Path) -> None:
    from bldgwatch.core.runner import run_component

    path = tmp_path / "ok.yaml"
    path.write_text("name: from-file\n")
    seen: list[_Cfg] = []
    assert (
        run_component(
            path, _Cfg, lambda cfg, _stop: seen.append(cfg), overrides={"name": "from-cli"}
        )
        == 0
    )
    assert seen[0].name == "from-cli"
    assert (
        run_component(
            path, _Cfg, lambda cfg, _stop: seen.append(cfg), overrides={"mqtt": {"port": 0}}
        )
        == 2
    )
    assert len(seen) == 1


def test_rules_shard_option_is_checked(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text("instance: r1\n")
    proc = subprocess.run(
        [sys.executable, "-m", "bldgwatch.cli", "rules", "--config", str(path), "--shard", "3/2"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 2, proc.stderr
    assert "shard" in proc.stderr
