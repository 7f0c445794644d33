"""The gateway's configuration model (one YAML file; see sample.yaml)."""

from __future__ import annotations

from pathlib import Path
from typing import Self

from pydantic import Field, model_validator

from core import topics
from core.config import MqttSettings, StrictModel
from core.errors import ConfigError
from core.models import EquipmentInfo
from core.profiles import DeviceProfile, load_profiles
from gateway.errors import PlanError
from gateway.planner import DEFAULT_MAX_GAP, plan_profile


class QueueSettings(StrictModel):
    """The durable local queue and how batches leave it."""

    path: Path = Field(Path("var/gateway/gw-1.sqlite"), description="SQLite file of the queue.")
    max_bytes: int = Field(
        256 * 1024 * 1024,
        ge=4096,
        description="Quota; beyond it the oldest readings are dropped (and counted).",
    )
    batch_max_readings: int = Field(
        500, ge=1, le=100_000, description="Readings per batch, at most."
    )
    flush_interval_s: float = Field(
        0.5, gt=0, description="Send at least this often when readings wait, seconds."
    )
    max_inflight_batches: int = Field(
        10,
        ge=1,
        le=1000,
        description="Batches sent and not yet acknowledged by the broker, at most.",
    )


class DeviceConfig(StrictModel):
    """One Modbus TCP device."""

    equipment: str = Field(description="Equipment id, e.g. P-01 (unique in the gateway).")
    building: str = Field(description="Building id the equipment stands in.")
    profile: str = Field(description="Profile id; its equipment_type names the measurement.")
    host: str = Field(description="Device (or Modbus gateway) host name or address.")
    port: int = Field(502, ge=1, le=65535, description="Modbus TCP port.")
    unit: int = Field(1, ge=0, le=255, description="Modbus unit (device) id.")
    poll_interval_s: float = Field(1.0, gt=0, description="Poll period, seconds.")
    timeout_s: float = Field(1.0, gt=0, description="Response timeout per request, seconds.")
    retries: int = Field(1, ge=0, le=10, description="Retries of a request after a timeout.")
    max_gap: int = Field(
        DEFAULT_MAX_GAP, ge=0, le=124, description="Unused registers a merged read may span."
    )
    unavailable_after: int = Field(
        3, ge=1, description="Consecutive failed polls before the device is unavailable."
    )
    reconnect_min_s: float = Field(1.0, gt=0, description="First reconnect delay, seconds.")
    reconnect_max_s: float = Field(60.0, gt=0, description="Longest reconnect delay, seconds.")


class SensorConfig(StrictModel):
    """One MQTT-native sensor publishing JSON."""

    equipment: str = Field(description="Equipment id, e.g. TS-01 (unique in the gateway).")
    type: str = Field(description="Equipment type (the measurement), e.g. temp_sensor.")
    building: str = Field(description="Building id.")
    topic: str = Field(description="Topic (or filter) the sensor publishes on.")
    points: dict[str, str] = Field(
        min_length=1, description="Point name → dotted JSON path of its value, e.g. data.temp."
    )
    timestamp_path: str | None = Field(
        None,
        description="Dotted JSON path of the source time (ISO-8601 or epoch ms); "
        "unset: the time the message arrived.",
    )
    qos: int = Field(1, ge=0, le=2, description="Subscription QoS.")
    mqtt: MqttSettings | None = Field(
        None, description="The sensor's own broker; unset: the gateway's broker connection."
    )


class GatewayConfig(StrictModel):
    """Configuration of one gateway."""

    site: str = Field(description="Site id (a topic level).")
    gateway_id: str = Field(description="Gateway id (a topic level), unique in the site.")
    mqtt: MqttSettings = Field(default_factory=MqttSettings, description="Upstream broker.")
    queue: QueueSettings = Field(default_factory=QueueSettings, description="Durable queue.")
    status_interval_s: float = Field(10.0, gt=0, description="Status publish period, seconds.")
    stop_flush_timeout_s: float = Field(
        5.0, ge=0, description="At stop, how long to keep sending what waits, seconds."
    )
    profiles_dir: Path | None = Field(
        None, description="Extra folder of device profiles (site overrides of the built-in ones)."
    )
    devices: list[DeviceConfig] = Field(default_factory=list, description="Modbus TCP devices.")
    mqtt_sensors: list[SensorConfig] = Field(
        default_factory=list, description="MQTT-native sensors."
    )

    @model_validator(mode="after")
    def _check(self) -> Self:
        for name, value in (("site", self.site), ("gateway_id", self.gateway_id)):
            try:
                topics.readings(value, "x")
            except ValueError as err:
                raise ValueError(f"{name}: {err}") from err
        seen: set[str] = set()
        for eq in [d.equipment for d in self.devices] + [s.equipment for s in self.mqtt_sensors]:
            if eq in seen:
                raise ValueError(f"equipment {eq}: duplicate equipment id")
            seen.add(eq)
        addresses: dict[tuple[str, int, int], str] = {}
        for dev in self.devices:
            key = (dev.host, dev.port, dev.unit)
            if key in addresses:
                raise ValueError(
                    f"device {dev.equipment}: {dev.host}:{dev.port} unit {dev.unit} is already "
                    f"used by {addresses[key]}"
                )
            addresses[key] = dev.equipment
        self._check_profiles()
        return self

    def _check_profiles(self) -> None:
        try:
            profiles = self.load_profiles()
        except ConfigError as err:
            raise ValueError(f"profiles: {err}") from err
        for dev in self.devices:
            profile = profiles.get(dev.profile)
            if profile is None:
                raise ValueError(
                    f"device {dev.equipment}: unknown profile {dev.profile!r} "
                    f"(known: {', '.join(sorted(profiles))})"
                )
            try:
                plan_profile(profile, max_gap=dev.max_gap)
            except PlanError as err:
                raise ValueError(f"device {dev.equipment}: {err}") from err

    def load_profiles(self) -> dict[str, DeviceProfile]:
        """Built-in profiles, overridden by those in `profiles_dir`."""
        return load_profiles(*([self.profiles_dir] if self.profiles_dir else []))

    def equipment_table(self, profiles: dict[str, DeviceProfile]) -> dict[str, EquipmentInfo]:
        """Equipment id → (type, building) for the batches' equipment table."""
        table = {
            d.equipment: EquipmentInfo(profiles[d.profile].equipment_type, d.building)
            for d in self.devices
        }
        table.update({s.equipment: EquipmentInfo(s.type, s.building) for s in self.mqtt_sensors})
        return table
