"""The gateway's configuration model (one YAML file; see sample.yaml)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal, Self

from pydantic import Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from bldgwatch.core import dlt645, topics
from bldgwatch.core.config import MqttSettings, StrictModel
from bldgwatch.core.errors import ConfigError
from bldgwatch.core.models import EquipmentInfo
from bldgwatch.core.profiles import (
    DeviceProfile,
    Dlt645Profile,
    load_dlt645_profiles,
    load_profiles,
)
from bldgwatch.core.registers import Order
from bldgwatch.core.safejson import DEFAULT_MAX_MESSAGE_BYTES, DecodeLimits
from bldgwatch.gateway.errors import PlanError
from bldgwatch.gateway.overrides import OverrideError, PointOverride, apply_overrides
from bldgwatch.gateway.planner import DEFAULT_MAX_GAP, plan_profile

# Topic levels beside {gateway} under bw/v1/{site}/ (core.topics), and the config topic's
# level: not usable as gateway ids.
RESERVED_GATEWAY_IDS = frozenset({"alarms", "workorders", "deadletter", "config"})


def gateway_id_refusal(gateway_id: str) -> str | None:
    """Why `gateway_id` cannot name a gateway (None: it can). One rule for the gateway's
    config, `bldgwatch install --gateway` and `bldgwatch gateway-key` (review 21e L1: an
    account named `alarms` wrote inside what every service reads as alarms)."""
    try:
        topics.readings("site", gateway_id)
    except ValueError as err:
        return f"gateway_id: {err}"
    if gateway_id in RESERVED_GATEWAY_IDS or gateway_id.startswith("_"):
        return (
            f"gateway_id: {gateway_id!r} names another topic family; "
            "the broker ACL would let it write there"
        )
    return None


def _refused(kind: str, english: str, where: str, **ctx: object) -> PydanticCustomError:
    """A check of the whole configuration refusing it: its catalogue key is
    `validation.gateway_<kind>` (the console says it in the reader's language, naming the
    field at `where`, e.g. `devices.1.equipment`); `english` where there is none (the
    gateway's own log)."""
    return PydanticCustomError(f"gateway_{kind}", english, {"where": where, **ctx})


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
    flush_deadline_s: float = Field(
        0.025,
        ge=0,
        le=10,
        description="Polled readings gather this long at most, seconds, then are written in "
        "one transaction and sent at once as one batch: the freshness of readings at the "
        "broker. A reading reaches the disk within this long of its poll (a gateway killed "
        "in that window loses at most that much, as if those polls had not been made). 0: "
        "every poll is written as it comes and batches leave when full or every "
        "flush_interval_s. Changes of priority points are written and sent at once.",
    )
    priority_points: list[str] = Field(
        default_factory=lambda: ["*fault*", "*alarm*", "*error*"],
        description="Points sent at once, without waiting for a batch, when their value "
        "changes: shell patterns of point names (fault or alarm codes). Every bool point "
        "(status-word bits, alarm, door and trip signals) and any change of quality is sent "
        "so too.",
    )
    max_inflight_batches: int = Field(
        10,
        ge=1,
        le=1000,
        description="Batches sent and not yet acknowledged by the broker, at most.",
    )
    backlog_share: float = Field(
        0.8,
        ge=0,
        le=1,
        description="While a backlog drains and live readings wait too, the share of batches "
        "taken from the backlog (oldest first); the rest carry the newest readings.",
    )
    live_window_s: float = Field(
        5.0, gt=0, description="Readings younger than this count as live, seconds."
    )
    batch_max_bytes: int = Field(
        256 * 1024,
        ge=1024,
        le=DEFAULT_MAX_MESSAGE_BYTES,
        description="Largest PUBLISH packet a batch may make, bytes; at most the consumers' "
        "default decode.max_message_bytes (1 MiB), so ingest and rules parse every batch the "
        "broker accepts. The broker's Maximum Packet Size (from its CONNACK) lowers it "
        "further. A batch that would be larger leaves in smaller ones.",
    )
    resend_window_s: float = Field(
        60.0,
        ge=0,
        description="After a reconnect, batches the broker acknowledged within this long "
        "before the connection dropped are sent again (consumers take a resend as a "
        "redelivery). Keep it above the broker's autosave_interval: a broker killed before "
        "its autosave loses what it acknowledged since. 0: never.",
    )

    @model_validator(mode="after")
    def _check_flush(self) -> Self:
        if self.flush_deadline_s > self.flush_interval_s:
            raise ValueError(
                f"flush_deadline_s ({self.flush_deadline_s}) must not exceed flush_interval_s "
                f"({self.flush_interval_s}): batches leave at least every interval anyway"
            )
        blank = [p for p in self.priority_points if not p.strip()]
        if blank:
            raise ValueError("priority_points: an empty pattern matches no point")
        return self


class SerialPortConfig(StrictModel):
    """One RS-485 line (Modbus RTU); one owner serialises every unit id on it."""

    name: str = Field(description="Name devices refer to, e.g. bus1.")
    device: str = Field(description="Serial device, e.g. /dev/ttyUSB0.")
    baudrate: int = Field(9600, gt=0, description="Bits per second.")
    bytesize: Literal[7, 8] = Field(8, description="Data bits.")
    parity: Literal["N", "E", "O"] = Field("N", description="Parity: N, E or O.")
    stopbits: Literal[1, 2] = Field(1, description="Stop bits.")
    timeout_s: float = Field(0.5, gt=0, description="Response timeout per request, seconds.")
    retries: int = Field(1, ge=0, le=10, description="Retries of a request after a timeout.")
    inter_frame_delay_s: float | None = Field(
        None,
        ge=0,
        description="Quiet time after each exchange before the next request, seconds; "
        "unset: 3.5 character times (at least 1.75 ms), as the Modbus RTU spec asks.",
    )

    def frame_gap_s(self) -> float:
        """The quiet time between two exchanges on the line."""
        if self.inter_frame_delay_s is not None:
            return self.inter_frame_delay_s
        bits_per_char = 1 + self.bytesize + (0 if self.parity == "N" else 1) + self.stopbits
        return max(0.00175, 3.5 * bits_per_char / self.baudrate)


class MetricsSettings(StrictModel):
    """The local HTTP endpoint with Prometheus-format counters."""

    enabled: bool = Field(True, description="Serve /metrics and /healthz.")
    host: str = Field("127.0.0.1", description="Address to listen on.")
    port: int = Field(9108, ge=0, le=65535, description="TCP port (0: any free port).")


class FleetSettings(StrictModel):
    """Configuration pushed from the console (docs/gateway.md): the key provisioned at
    install, where the last good pushed configuration is kept, and when a new one that does
    not poll is rolled back."""

    key_file: Path = Field(
        description="This gateway's HMAC key (hex, mode 0600); the console holds the same."
    )
    state_dir: Path = Field(
        Path("var/gateway/fleet"),
        description="Folder of the last good pushed configuration and the highest version seen.",
    )
    trial_polls: int = Field(
        3,
        ge=1,
        le=100,
        description="A pushed configuration is rolled back when none of its devices answers "
        "within this many polls each while the previous one's did.",
    )
    trial_timeout_s: float = Field(
        180.0,
        gt=0,
        le=3600,
        description="The longest a pushed configuration is on trial, whatever its poll "
        "intervals and timeouts: a device that has not answered within this many seconds "
        "counts as failed (review 21e H1: a push with a day's poll interval, or a device that "
        "never answers, held the trial and every later push). A configuration with MQTT "
        "sensors and no device is rolled back when no sensor message gave a reading within "
        "it; one with devices is judged by its devices only, whatever its sensors deliver.",
    )


class PolledDeviceConfig(StrictModel):
    """What every polled device has: its equipment, schedule, availability and reporting."""

    equipment: str = Field(description="Equipment id, e.g. P-01 (unique in the gateway).")
    building: str = Field(description="Building id the equipment stands in.")
    profile: str = Field(description="Profile id; its equipment_type names the measurement.")
    poll_interval_s: float = Field(
        1.0,
        ge=0.1,
        description="Poll period, seconds (at least 0.1: a device, an RS-485 line and the "
        "broker behind it stand no faster; review 21e M1).",
    )
    unavailable_after: int = Field(
        3, ge=1, description="Consecutive failed polls before the device is unavailable."
    )
    reconnect_min_s: float = Field(1.0, gt=0, description="First reconnect delay, seconds.")
    reconnect_max_s: float = Field(60.0, gt=0, description="Longest reconnect delay, seconds.")
    deadband: float | None = Field(
        None,
        ge=0,
        description="Report-by-exception: report a number only when it moved more than this "
        "since the last report (bools and states: on change); unset: report every poll.",
    )
    max_report_interval_s: float = Field(
        300.0, gt=0, description="With a deadband: report at least this often anyway, seconds."
    )

    @property
    def where(self) -> str:
        """Where the device answers, for logs."""
        raise NotImplementedError


class DeviceConfig(PolledDeviceConfig):
    """One Modbus device: TCP (host, port) or RTU (a unit on a named serial port)."""

    host: str | None = Field(
        None, description="Modbus TCP: device (or Modbus gateway) host name or address."
    )
    port: int = Field(502, ge=1, le=65535, description="Modbus TCP port.")
    serial_port: str | None = Field(
        None, description="Modbus RTU: name of the serial port (in serial_ports) it hangs on."
    )
    unit: int = Field(1, ge=0, le=255, description="Modbus unit (device) id.")
    timeout_s: float = Field(1.0, gt=0, description="Response timeout per request, seconds.")
    retries: int = Field(1, ge=0, le=10, description="Retries of a request after a timeout.")
    max_gap: int = Field(
        DEFAULT_MAX_GAP, ge=0, le=124, description="Unused registers a merged read may span."
    )
    order: Order | None = Field(
        None, description="Default byte/word order; the profile's if unset."
    )
    max_block: int | None = Field(
        None, ge=1, le=125, description="Most registers per request; the profile's if unset."
    )
    points: list[PointOverride] = Field(
        default_factory=list,
        description="Per-device changes to the profile: override, add or disable points.",
    )

    @model_validator(mode="after")
    def _check_link(self) -> Self:
        if (self.host is None) == (self.serial_port is None):
            raise ValueError(
                f"device {self.equipment}: give either host (Modbus TCP) or serial_port (RTU)"
            )
        if self.serial_port is not None and not 1 <= self.unit <= 247:
            raise ValueError(f"device {self.equipment}: an RTU unit id must be 1–247")
        return self

    @property
    def where(self) -> str:
        """Where the device answers, for logs."""
        link = f"{self.host}:{self.port}" if self.host else f"serial {self.serial_port}"
        return f"{link} unit {self.unit}"

    def effective_profile(self, profiles: dict[str, DeviceProfile]) -> DeviceProfile:
        """The named profile with this device's overrides applied."""
        base = profiles[self.profile]
        if not self.points and self.order is None and self.max_block is None:
            return base
        return apply_overrides(
            self.equipment, base, self.points, order=self.order, max_block=self.max_block
        )


class Dlt645MeterConfig(PolledDeviceConfig):
    """One DL/T 645-2007 meter on a named serial port (commonly 2400 baud, 8E1), read for the
    data identifiers of its profile (core/profiles/dlt645)."""

    serial_port: str = Field(description="Name of the serial port (in serial_ports) it hangs on.")
    address: str = Field(
        description="Meter address: the 12 digits of its meter number (表号/通信地址), or "
        "AAAAAAAAAAAA (wildcard) when it is the only meter on its port."
    )

    @field_validator("address")
    @classmethod
    def _address(cls, address: str) -> str:
        text = address.upper()
        dlt645.encode_address(text)  # ValueError naming the address
        if text == dlt645.BROADCAST:
            raise ValueError("999999999999 is the broadcast address: no meter replies to it")
        return text

    @property
    def where(self) -> str:
        """Where the meter answers, for logs."""
        return f"serial {self.serial_port} meter {self.address}"


class SensorConfig(StrictModel):
    """One MQTT-native sensor publishing JSON."""

    equipment: str = Field(description="Equipment id, e.g. TS-01 (unique in the gateway).")
    type: str = Field(description="Equipment type (the measurement), e.g. temp_sensor.")
    building: str = Field(description="Building id.")
    topic: str = Field(
        description="Topic (or filter) the sensor publishes on. On the gateway's own broker "
        "use sensors/{site}/...: the broker's ACL lets a gateway read its site's sensors only."
    )
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
    serial_ports: list[SerialPortConfig] = Field(
        default_factory=list, description="RS-485 lines for Modbus RTU devices."
    )
    devices: list[DeviceConfig] = Field(default_factory=list, description="Modbus devices.")
    dlt645_meters: list[Dlt645MeterConfig] = Field(
        default_factory=list, description="DL/T 645-2007 meters on the serial ports."
    )
    mqtt_sensors: list[SensorConfig] = Field(
        default_factory=list, description="MQTT-native sensors."
    )
    metrics: MetricsSettings = Field(
        default_factory=MetricsSettings, description="Local HTTP /metrics (Prometheus)."
    )
    decode: DecodeLimits = Field(
        default_factory=DecodeLimits,
        description="Size, nesting and number limits of MQTT sensor payloads.",
    )
    fleet: FleetSettings | None = Field(
        None,
        description="Take configurations pushed from the console; unset: this file only.",
    )

    @model_validator(mode="after")
    def _check(self) -> Self:
        for name, value in (("site", self.site), ("gateway_id", self.gateway_id)):
            try:
                topics.readings(value, "x")
            except ValueError as err:
                raise ValueError(f"{name}: {err}") from err
        refusal = gateway_id_refusal(self.gateway_id)
        if refusal is not None:
            raise ValueError(refusal)
        seen: set[str] = set()
        for where, eq in self.equipment_ids():
            if eq in seen:
                raise _refused(
                    "duplicate_equipment", "equipment {equipment}: duplicate equipment id",
                    where, equipment=eq,
                )  # fmt: skip
            seen.add(eq)
        self._check_addresses()
        self._check_profiles()
        return self

    def equipment_ids(self) -> list[tuple[str, str]]:
        """Every equipment id with where it is written (`devices.1.equipment`)."""
        sections: list[tuple[str, list[str]]] = [
            ("devices", [d.equipment for d in self.devices]),
            ("dlt645_meters", [m.equipment for m in self.dlt645_meters]),
            ("mqtt_sensors", [s.equipment for s in self.mqtt_sensors]),
        ]
        return [
            (f"{section}.{i}.equipment", eq)
            for section, ids in sections
            for i, eq in enumerate(ids)
        ]

    def _check_addresses(self) -> None:
        ports = [p.name for p in self.serial_ports]
        for i, name in enumerate(ports):
            if name in ports[:i]:
                raise _refused(
                    "duplicate_port", "serial port {port}: duplicate name",
                    f"serial_ports.{i}.name", port=name,
                )  # fmt: skip
        devices = [p.device for p in self.serial_ports]
        for i, device in enumerate(devices):
            if device in devices[:i]:
                raise _refused(
                    "duplicate_serial_device",
                    "serial device {device}: two ports name the same device",
                    f"serial_ports.{i}.device", device=device,
                )  # fmt: skip
        known = ", ".join(ports) or "-"
        addresses: dict[str, str] = {}
        for i, dev in enumerate(self.devices):
            if dev.serial_port is not None and dev.serial_port not in ports:
                raise _refused(
                    "unknown_port",
                    "device {equipment}: unknown serial_port '{port}' (known: {known})",
                    f"devices.{i}.serial_port", equipment=dev.equipment, port=dev.serial_port,
                    known=known,
                )  # fmt: skip
            if dev.where in addresses:
                raise _refused(
                    "address_used", "device {equipment}: {address} is already used by {other}",
                    f"devices.{i}", equipment=dev.equipment, address=dev.where,
                    other=addresses[dev.where],
                )  # fmt: skip
            addresses[dev.where] = dev.equipment
        self._check_meter_addresses(ports)

    def _check_meter_addresses(self, ports: list[str]) -> None:
        by_port: dict[str, list[tuple[int, Dlt645MeterConfig]]] = {}
        for n, meter in enumerate(self.dlt645_meters):
            if meter.serial_port not in ports:
                raise _refused(
                    "unknown_meter_port",
                    "meter {equipment}: unknown serial_port '{port}' (known: {known})",
                    f"dlt645_meters.{n}.serial_port", equipment=meter.equipment,
                    port=meter.serial_port, known=", ".join(ports) or "-",
                )  # fmt: skip
            by_port.setdefault(meter.serial_port, []).append((n, meter))
        for port, meters in by_port.items():
            for i, (n, meter) in enumerate(meters):
                for _, other in meters[:i]:
                    if meter.address == other.address:
                        raise _refused(
                            "meter_address_used",
                            "meter {equipment}: address {address} on {port} is {other}'s already",
                            f"dlt645_meters.{n}.address", equipment=meter.equipment,
                            address=meter.address, port=port, other=other.equipment,
                        )  # fmt: skip
                    if dlt645.address_matches(meter.address, other.address) or (
                        dlt645.address_matches(other.address, meter.address)
                    ):
                        raise _refused(
                            "meter_wildcard",
                            "meter {equipment}: address {address} and {other}'s {other_address} "
                            "on {port} reach the same meter; a wildcard address needs the "
                            "meter alone on its port",
                            f"dlt645_meters.{n}.address", equipment=meter.equipment,
                            address=meter.address, other=other.equipment,
                            other_address=other.address, port=port,
                        )  # fmt: skip

    def _check_profiles(self) -> None:
        try:
            profiles = self.load_profiles()
            self.load_dlt645_profiles()
        except ConfigError as err:
            raise ValueError(f"profiles: {err}") from err
        for i, dev in enumerate(self.devices):
            profile = profiles.get(dev.profile)
            if profile is None:
                raise _refused(
                    "unknown_profile",
                    "device {equipment}: unknown profile '{profile}' (known: {known})",
                    f"devices.{i}.profile", equipment=dev.equipment, profile=dev.profile,
                    known=", ".join(sorted(profiles)),
                )  # fmt: skip
            try:
                plan_profile(dev.effective_profile(profiles), max_gap=dev.max_gap)
            except OverrideError as err:
                raise ValueError(str(err)) from err
            except PlanError as err:
                raise ValueError(f"device {dev.equipment}: {err}") from err
        meter_profiles = self.load_dlt645_profiles()
        for i, meter in enumerate(self.dlt645_meters):
            if meter.profile not in meter_profiles:
                raise _refused(
                    "unknown_meter_profile",
                    "meter {equipment}: unknown DL/T 645 profile '{profile}' (known: {known})",
                    f"dlt645_meters.{i}.profile", equipment=meter.equipment,
                    profile=meter.profile, known=", ".join(sorted(meter_profiles)) or "-",
                )  # fmt: skip

    def load_profiles(self) -> dict[str, DeviceProfile]:
        """Built-in profiles, overridden by those in `profiles_dir`."""
        return load_profiles(*([self.profiles_dir] if self.profiles_dir else []))

    def load_dlt645_profiles(self) -> dict[str, Dlt645Profile]:
        """Built-in DL/T 645 profiles, overridden by those in `profiles_dir`/dlt645."""
        return load_dlt645_profiles(*([self.profiles_dir] if self.profiles_dir else []))

    def equipment_table(
        self,
        profiles: dict[str, DeviceProfile],
        meter_profiles: dict[str, Dlt645Profile] | None = None,
    ) -> dict[str, EquipmentInfo]:
        """Equipment id → (type, building) for the batches' equipment table."""
        table = {
            d.equipment: EquipmentInfo(profiles[d.profile].equipment_type, d.building)
            for d in self.devices
        }
        if self.dlt645_meters:
            meter_profiles = meter_profiles or self.load_dlt645_profiles()
            table.update(
                {
                    m.equipment: EquipmentInfo(meter_profiles[m.profile].equipment_type, m.building)
                    for m in self.dlt645_meters
                }
            )
        table.update({s.equipment: EquipmentInfo(s.type, s.building) for s in self.mqtt_sensors})
        return table
