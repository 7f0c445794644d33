"""The demo's building and the configuration of every component, as typed models.

`bldgwatch demo` writes these to var/demo/*.yaml and starts each component with its file,
exactly as an operator would; the end-to-end tests use the same builder. Building the models
here means a renamed or mistyped field fails at once, not when a child process reads its file.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel

from bldgwatch.alerts.config import AlertsConfig, DeliverySettings
from bldgwatch.broker_auth import BrokerAuth, GatewayGrant
from bldgwatch.console.config import ConsoleConfig, HttpSettings
from bldgwatch.core.config import DatabaseSettings, InfluxSettings, MqttSettings
from bldgwatch.core.files import write_private
from bldgwatch.core.site import SiteSpec
from bldgwatch.gateway.config import DeviceConfig as GatewayDevice
from bldgwatch.gateway.config import FleetSettings, GatewayConfig, QueueSettings
from bldgwatch.gateway.config import SensorConfig as GatewaySensor
from bldgwatch.gateway.fleet import write_key
from bldgwatch.ingest.config import IngestConfig
from bldgwatch.maintenance.config import (
    AttachmentSettings,
    MaintenanceConfig,
    PartSpec,
    ReportSettings,
)
from bldgwatch.rules.config import RulesConfig
from bldgwatch.servers import free_ports
from bldgwatch.simulators.config import DeviceConfig as SimDevice
from bldgwatch.simulators.config import ScheduledFault, SimulatorConfig
from bldgwatch.simulators.config import SensorConfig as SimSensor

SITE = "demo"
GATEWAY = "gw-1"

DEMO_ENERGY: dict[str, Any] = {"tariff_electricity": 0.85, "tariff_water": 4.2, "currency": "CNY"}
"""The demo site file's `energy:` entry (issue 20): the tariffs its savings are valued at."""

SITE_SPEC: dict[str, Any] = {
    "site": SITE,
    "name": "Demo Tower",
    "timezone": "Asia/Shanghai",  # its days, months, PM due times and reports are Shanghai's
    # In use 07:00-22:00 every day (Shanghai time): meters' use outside it is off-hours use.
    "occupancy": [
        {
            "days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
            "start": "07:00",
            "end": "22:00",
        }
    ],
    # Its workdays (rounds, occupancy) follow China's official holidays and make-up workdays.
    "calendar": {"official": "cn"},
    "buildings": [{"id": "B1", "name": "Tower A", "area_m2": 32_000}],
    "equipment": [
        {
            "id": "E-01",
            "type": "elevator",
            "building": "B1",
            "gateway": GATEWAY,
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
            "gateway": GATEWAY,
            "name": "Domestic water pump 1",
            "location": "B2 plant room",
            "model": "CR 32-4",
            "machine_class": "II",
            "installed": "2013-06-15",
            "rated": {"current_a": 30.0, "power_kw": 15.0},
            # The data sheet's curve (flow m³/h, head m, efficiency): the energy page reads
            # the pump's operating point against it.
            "curve": [
                {"flow_m3h": 0.0, "head_m": 61.2},
                {"flow_m3h": 20.0, "head_m": 55.4, "efficiency": 0.55},
                {"flow_m3h": 40.0, "head_m": 38.2, "efficiency": 0.68},
                {"flow_m3h": 60.0, "head_m": 9.6, "efficiency": 0.5},
            ],
        },
        {
            "id": "SP-01",
            "type": "shaft_panel",
            "building": "B1",
            "gateway": GATEWAY,
            "name": "Shaft 3F distribution",
            "location": "3F electrical shaft",
            "installed": "2016-03-01",
            "rated": {"current_a": 100.0},
        },
        {
            "id": "TS-01",
            "type": "temp_sensor",
            "building": "B1",
            "gateway": GATEWAY,
            "name": "Shaft 3F ambient",
            "location": "3F electrical shaft",
            "installed": "2023-09-01",
        },
        # Metering (issue 20): the building's main meters, and sub-meters on the pump set and
        # the lifts under the electricity main (sub-metering balance: the rest is lighting,
        # HVAC and the rest of the building, "unaccounted" until it is metered too).
        {
            "id": "EM-01",
            "type": "electricity_meter",
            "building": "B1",
            "gateway": GATEWAY,
            "name": "Main incomer meter",
            "location": "B1 switch room",
            "model": "SDM630-Modbus",
            "installed": "2016-03-01",
            "meter": {"system": "mains"},
        },
        {
            "id": "EM-02",
            "type": "electricity_meter",
            "building": "B1",
            "gateway": GATEWAY,
            "name": "Pump set sub-meter",
            "location": "B2 plant room",
            "model": "SDM630-Modbus",
            "installed": "2016-03-01",
            "meter": {"system": "pumps", "parent": "EM-01"},
        },
        {
            "id": "EM-03",
            "type": "electricity_meter",
            "building": "B1",
            "gateway": GATEWAY,
            "name": "Lift sub-meter",
            "location": "Machine room",
            "model": "SDM630-Modbus",
            "installed": "2016-03-01",
            "meter": {"system": "elevators", "parent": "EM-01"},
        },
        {
            "id": "WM-01",
            "type": "water_meter",
            "building": "B1",
            "gateway": GATEWAY,
            "name": "Water main meter",
            "location": "B2 water inlet",
            "installed": "2016-03-01",
            "meter": {"system": "mains"},
        },
    ],
}

DEMO_PARTS = [  # a first parts list for the demo site's equipment
    PartSpec(part_no="6205-2RS", name="深沟球轴承 6205-2RS", unit="pc", unit_cost=45.5),
    PartSpec(part_no="MS-32", name="机械密封 CR32", unit="set", unit_cost=380.0),
    PartSpec(part_no="GR-LI2", name="锂基润滑脂", unit="kg", unit_cost=32.0),
    PartSpec(part_no="DR-ROLLER", name="门机滚轮", unit="pc", unit_cost=68.0),
    PartSpec(part_no="CT-32A", name="交流接触器 32A", unit="pc", unit_cost=210.0),
]

COMPONENTS = ("simulate", "gateway", "ingest", "rules", "maintenance", "alerts", "console")
SENSOR_TOPIC = f"sensors/{SITE}/TS-01"
DEMO_GATEWAYS = (GatewayGrant(SITE, GATEWAY),)  # reads sensors/demo/# (SENSOR_TOPIC too)
"""The demo's gateway accounts (bldgwatch.broker_auth): gw-1 reads its MQTT sensor."""


@dataclass(frozen=True)
class DemoPorts:
    """Where everything listens."""

    mqtt: int
    influx_url: str
    http: int
    modbus: dict[str, int]


@dataclass(frozen=True)
class DemoConfigs:
    """The site file and every component's config, each as its own typed model."""

    site: SiteSpec
    simulate: SimulatorConfig
    gateway: GatewayConfig
    ingest: IngestConfig
    rules: RulesConfig
    maintenance: MaintenanceConfig
    alerts: AlertsConfig
    console: ConsoleConfig

    def documents(self) -> dict[str, BaseModel]:
        """Each model by the stem of the file it is written to."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


def allocate_modbus_ports() -> dict[str, int]:
    """A free port for each Modbus device of the demo building, no two the same."""
    ports = free_ports(len(DEVICES))
    return {eq: port for (eq, _kind, _profile, _params), port in zip(DEVICES, ports, strict=True)}


DEFAULT_FAULTS = (
    # The pump's bearing overheats within the first half minute ...
    ScheduledFault(
        equipment="P-01",
        fault="bearing_overheat",
        at_s=5.0,
        duration_s=None,
        params={"rate_c_per_s": 3.0},
    ),
    # ... and leakage current creeps up in the electrical shaft later on.
    ScheduledFault(equipment="SP-01", fault="leakage_rising", at_s=40.0, duration_s=None),
)

# equipment, simulator model, profile, model parameters
DEVICES = (
    ("E-01", "elevator", "elevator-generic", {"rated_speed_m_s": 1.75}),
    ("P-01", "pump", "pump-generic", {"rated_current_a": 30.0}),
    ("SP-01", "shaft_panel", "shaft-panel-generic", {"rated_current_a": 100.0}),
    # The main sees the whole building: its base and peak hold the pumps' and lifts' own.
    ("EM-01", "electricity_meter", "electricity-meter-sdm", {"base_kw": 40.0, "peak_kw": 180.0}),
    ("EM-02", "electricity_meter", "electricity-meter-sdm", {"base_kw": 6.0, "peak_kw": 15.0}),
    ("EM-03", "electricity_meter", "electricity-meter-sdm", {"base_kw": 3.0, "peak_kw": 25.0}),
    ("WM-01", "water_meter", "water-meter-modbus", {"mean_m3h": 4.0}),
)


def alerts_key_path(var_dir: Path) -> Path:
    """Where the demo keeps its alerts key (made by the demo at start, mode 0600)."""
    return var_dir / "demo" / "alerts.key"


def gateway_keys_dir(var_dir: Path) -> Path:
    """The console's folder of gateway fleet keys in the demo."""
    return var_dir / "demo" / "gateway-keys"


def fleet_key_path(var_dir: Path) -> Path:
    """The demo gateway's copy of its fleet key."""
    return var_dir / "gateway" / "fleet.key"


def ensure_fleet_key(var_dir: Path) -> None:
    """Provision the demo gateway's fleet key (console's and gateway's copies) once, as
    `bldgwatch gateway-key` does at an install."""
    console_copy = gateway_keys_dir(var_dir) / SITE / f"{GATEWAY}.key"
    if console_copy.exists() and fleet_key_path(var_dir).exists():
        return
    key = write_key(console_copy)
    write_key(fleet_key_path(var_dir), key)


def component_configs(
    *,
    ports: DemoPorts,
    var_dir: Path,
    db_url: str,
    auth: BrokerAuth,
    influx_database: str = "bldgwatch",
    faults: Sequence[ScheduledFault] | None = None,
    speed: float = 1.0,
) -> DemoConfigs:
    """The site file and every component's config for the demo building; each component
    speaks to the broker as its own account of `auth`."""
    broker = MqttSettings(host="127.0.0.1", port=ports.mqtt)

    def mqtt_as(username: str) -> MqttSettings:
        return auth.settings(broker, username)

    influx = InfluxSettings(api="v1", url=ports.influx_url, database=influx_database)
    database = DatabaseSettings(url=db_url)
    site = SiteSpec.model_validate({**SITE_SPEC, "energy": DEMO_ENERGY})
    # Ingest checks its site files when its config is built: the register is written first.
    site_file = write_configs_of({"site": site}, var_dir / "demo")["site"]
    sensor_topic = SENSOR_TOPIC
    simulate = SimulatorConfig(
        site=SITE,
        seed=42,
        speed=speed,
        step_s=0.2,
        mqtt=mqtt_as("simulate"),
        ground_truth=var_dir / "demo" / "ground-truth.jsonl",
        devices=[
            SimDevice(
                equipment=eq,
                kind=kind,
                profile=prof,
                host="127.0.0.1",
                port=ports.modbus[eq],
                unit=1,
                params=params,
            )
            for eq, kind, prof, params in DEVICES
        ],
        sensors=[
            SimSensor(equipment="TS-01", kind="temp_sensor", topic=sensor_topic, interval_s=2.0)
        ],
        faults=list(DEFAULT_FAULTS if faults is None else faults),
    )
    gateway = GatewayConfig(
        site=SITE,
        gateway_id=GATEWAY,
        mqtt=mqtt_as(f"{SITE}/{GATEWAY}"),
        queue=QueueSettings(path=var_dir / "gateway" / f"{GATEWAY}.sqlite"),
        status_interval_s=10.0,
        fleet=FleetSettings(
            key_file=fleet_key_path(var_dir), state_dir=var_dir / "gateway" / "fleet"
        ),
        devices=[
            GatewayDevice(
                equipment=eq,
                building="B1",
                profile=prof,
                host="127.0.0.1",
                port=ports.modbus[eq],
                unit=1,
                poll_interval_s=1.0,
                timeout_s=1.0,
            )
            for eq, _kind, prof, _params in DEVICES
        ],
        mqtt_sensors=[
            GatewaySensor(
                equipment="TS-01",
                type="temp_sensor",
                building="B1",
                topic=sensor_topic,
                points={"temperature_c": "temperature_c"},
                timestamp_path="ts",
            )
        ],
    )
    return DemoConfigs(
        site=site,
        simulate=simulate,
        gateway=gateway,
        ingest=IngestConfig(
            instance="ingest-1", mqtt=mqtt_as("ingest"), influx=influx, site_files=[site_file]
        ),
        rules=RulesConfig(
            instance="rules-1",
            mqtt=mqtt_as("rules"),
            database=database,
            site_files=[site_file],
            influx=influx,  # alarm transitions as Grafana annotations (alarm_events)
        ),
        maintenance=MaintenanceConfig(
            instance="maintenance-1",
            mqtt=mqtt_as("maintenance"),
            database=database,
            site_files=[site_file],
            influx=influx,
            reports=ReportSettings(console_url=f"http://127.0.0.1:{ports.http}"),
            parts=DEMO_PARTS,
        ),
        alerts=AlertsConfig(
            instance="alerts-1",
            mqtt=mqtt_as("alerts"),
            database=database,
            site_files=[site_file],
            console_url=f"http://127.0.0.1:{ports.http}",
            key_file=alerts_key_path(var_dir),
            delivery=DeliverySettings(http_timeout_s=2.0),
        ),
        console=ConsoleConfig(
            http=HttpSettings(host="127.0.0.1", port=ports.http),
            database=database,
            influx=influx,
            mqtt=mqtt_as("console"),
            site_files=[site_file],
            dev=True,
            attachments=AttachmentSettings(folder=var_dir / "attachments"),
            alerts_key_file=alerts_key_path(var_dir),
            gateway_keys_dir=gateway_keys_dir(var_dir),
        ),
    )


def write_configs(configs: DemoConfigs, folder: Path) -> dict[str, Path]:
    """Write each document to folder/<name>.yaml as an operator's file; return the paths."""
    return write_configs_of(configs.documents(), folder)


def write_configs_of(documents: dict[str, BaseModel], folder: Path) -> dict[str, Path]:
    """Write each model to folder/<name>.yaml (mode 0600: they hold broker passwords)."""
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o700)  # the configs hold broker passwords
    paths = {}
    for name, model in documents.items():
        path = folder / f"{name}.yaml"
        doc = model.model_dump(mode="json", exclude_unset=True)
        write_private(path, yaml.safe_dump(doc, sort_keys=False, allow_unicode=True))
        paths[name] = path
    return paths
