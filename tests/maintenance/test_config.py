"""The service's config: the sample validates, a bad file stops with the field named."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from bldgwatch.core.config import load_config
from bldgwatch.core.runner import EXIT_CONFIG, run_component
from bldgwatch.maintenance.config import MaintenanceConfig
from bldgwatch.maintenance.service import run

SAMPLE = Path(__file__).resolve().parents[2] / "maintenance" / "sample.yaml"


def test_sample_validates() -> None:
    cfg = load_config(SAMPLE, MaintenanceConfig)
    assert cfg.instance == "maintenance-1"
    assert cfg.site_files == [Path("var/demo/site.yaml")]
    assert cfg.sla.priorities[4].resolution_h == 168
    assert cfg.stage.classes["pump"].late_years == 10


def test_minimal_config_has_defaults(tmp_path: Path) -> None:
    path = tmp_path / "m.yaml"
    path.write_text("instance: m-2\n")
    cfg = load_config(path, MaintenanceConfig)
    assert cfg.session_expiry_s == 3600 and cfg.status_interval_s == 10.0
    assert cfg.mqtt.port == 1883
    assert cfg.sla.fault_codes["ELEV_ENTRAPMENT"].response_min == 30


def test_bad_config_exits_2_naming_the_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "m.yaml"
    path.write_text("stage: {classes: {pump: {early_years: 1, late_years: 'soon'}}}\n")
    assert run_component(path, MaintenanceConfig, run) == EXIT_CONFIG
    assert "stage.classes.pump.late_years" in capsys.readouterr().err


def test_a_plans_contractor_that_is_no_contractor_id_stops_the_service(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A typo would have left the plan's orders with the team, said only in a log line
    (review 18e L7)."""
    path = tmp_path / "m.yaml"
    plan = "{equipment_type: elevator, title: T5002, every_days: 15, contractor: 'Lift Co'}"
    path.write_text(f"plans: {{calendar: [{plan}]}}\n")
    assert run_component(path, MaintenanceConfig, run) == EXIT_CONFIG
    assert "plans.calendar.0.contractor" in capsys.readouterr().err


def test_roster_ids_differing_only_in_case_stop_the_service(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Technician ids are matched as console user names are, without regard to case."""
    path = tmp_path / "m.yaml"
    tech = "{id: %s, sites: [demo], skills: [mechanical]}"
    path.write_text(f"roster: {{technicians: [{tech % 'wang'}, {tech % 'Wang'}]}}\n")
    assert run_component(path, MaintenanceConfig, run) == EXIT_CONFIG
    err = capsys.readouterr().err
    assert "roster.technicians" in err and "['Wang', 'wang']" in err, err


def test_bad_site_file_stops_before_touching_the_store(tmp_path: Path) -> None:
    site = tmp_path / "site.yaml"
    site.write_text("site: demo\nbuildings: []\nequipment: [{id: P-01, type: pump, building: X}]\n")
    db = tmp_path / "never.db"
    cfg = MaintenanceConfig.model_validate(
        {"site_files": [str(site)], "database": {"url": f"sqlite:///{db}"}}
    )
    stop = threading.Event()
    with pytest.raises(SystemExit) as info:
        run(cfg, stop)
    assert info.value.code == EXIT_CONFIG
    assert not db.exists()


def test_sample_plans_roster_and_notices() -> None:
    cfg = load_config(SAMPLE, MaintenanceConfig)
    assert [p.id for p in cfg.plans.calendar][:1] == ["elevator.half_monthly"]
    assert cfg.plans.counters[0].every == 2000
    li = cfg.roster.technicians[0]
    assert li.on_call[0].start.hour == 18 and cfg.roster.skill_for("pump") == "mechanical"
    assert cfg.influx is not None and cfg.stage.min_fit_failures == 30
