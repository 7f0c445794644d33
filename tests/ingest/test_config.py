"""ingest's config: the sample validates; bad fields are named; the CLI exits 2 on them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bldgwatch.core.config import load_config, parse_config
from bldgwatch.core.errors import ConfigError
from bldgwatch.ingest.config import IngestConfig

ROOT = Path(__file__).resolve().parents[2]


def test_sample_yaml_validates_with_the_documented_defaults() -> None:
    cfg = load_config(ROOT / "ingest" / "sample.yaml", IngestConfig)
    assert cfg == IngestConfig()
    assert (cfg.batch_lines, cfg.max_pending_lines, cfg.session_expiry_s) == (5000, 200_000, 3600)
    assert cfg.influx.database == "bldgwatch"


def test_every_field_is_documented() -> None:
    assert all(f.description for f in IngestConfig.model_fields.values())


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"batch_lines": 0}, "batch_lines"),
        ({"flush_interval_s": -1}, "flush_interval_s"),
        ({"mqtt": {"port": 0}}, "mqtt.port"),
        ({"influx": {"api": "v3"}}, "influx.api"),
        ({"batchlines": 10}, "batchlines"),
        ({"group": "a/b"}, "group:"),
        ({"instance": "x+"}, "instance:"),
        ({"batch_lines": 10, "max_pending_lines": 5}, "max_pending_lines"),
        ({"telegraf_topics": ["telegraf/#/x"]}, "telegraf_topics:"),
        ({"telegraf_topics": ["bw/v1/+/+/readings"]}, "telegraf_topics:"),
        ({"retention": {"duration": "30 days"}}, "retention.duration"),
        ({"retention": {"rollup_policy": "a-b"}}, "retention.rollup_policy"),
        ({"max_age_s": 90000, "retention": {"duration": "1d"}}, "max_age_s"),
        ({"metrics_port": 70000}, "metrics_port"),
        ({"influx": {"raw_retention": "30 days"}}, "influx.raw_retention"),
        # What the console and maintenance read as the raw retention must be what ingest keeps.
        (
            {"influx": {"raw_retention": "30d"}, "max_age_s": 600, "retention": {"duration": "7d"}},
            "influx.raw_retention",
        ),
    ],
)
def test_bad_config_names_the_field(data: dict[str, object], field: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse_config(data, IngestConfig, source="ingest.yaml")
    assert field in str(err.value)


def test_cli_refuses_a_bad_config_with_exit_code_2(tmp_path: Path) -> None:
    path = tmp_path / "ingest.yaml"
    path.write_text("batch_lines: lots\n")
    proc = subprocess.run(
        [sys.executable, "-m", "bldgwatch.cli", "ingest", "--config", str(path)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 2
    assert "batch_lines" in proc.stderr


def test_site_files_are_checked_at_start(tmp_path: Path) -> None:
    good = tmp_path / "site.yaml"
    good.write_text(
        "site: demo\nbuildings: [{id: B1}]\nequipment: [{id: P-01, type: pump, building: B1}]\n"
    )
    assert parse_config({"site_files": [str(good)]}, IngestConfig).site_files == [good]
    with pytest.raises(ConfigError) as err:
        parse_config({"site_files": [str(tmp_path / "missing.yaml")]}, IngestConfig)
    assert "site_files" in str(err.value)
