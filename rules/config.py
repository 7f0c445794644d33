"""The rules worker's configuration model (one YAML file; see sample.yaml), and the shard
spec it names."""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from pathlib import Path

from pydantic import Field, field_validator

from bldgwatch.core import topics
from bldgwatch.core.config import DatabaseSettings, InfluxSettings, MqttSettings, StrictModel
from bldgwatch.core.safejson import DecodeLimits

COMPONENT = "rules"


@dataclass(frozen=True, slots=True)
class Shard:
    """`i/N`: this worker owns the sites whose crc32 modulo N is i."""

    index: int
    count: int

    @classmethod
    def parse(cls, text: str) -> Shard:
        """Parse `i/N` (0 <= i < N); ValueError otherwise."""
        parts = text.split("/")
        if len(parts) != 2 or not all(p.strip().isdigit() for p in parts):
            raise ValueError(f"shard {text!r} is not i/N")
        index, count = int(parts[0]), int(parts[1])
        if count < 1 or not 0 <= index < count:
            raise ValueError(f"shard {text!r}: need 0 <= i < N")
        return cls(index, count)

    def owns(self, site: str) -> bool:
        """Stable across processes and machines (unlike hash())."""
        return zlib.crc32(site.encode("utf-8")) % self.count == self.index


class RulesConfig(StrictModel):
    """Configuration of one rules worker."""

    instance: str = Field("rules-1", description="Instance name (client id, status topic).")
    mqtt: MqttSettings = Field(default_factory=MqttSettings, description="Broker connection.")
    database: DatabaseSettings = Field(
        default_factory=DatabaseSettings, description="Relational store of alarms."
    )
    site_files: list[Path] = Field(
        default_factory=list, description="Site files: equipment types, params and ratings."
    )
    packs: list[str] = Field(
        default_factory=lambda: [
            "pump",
            "elevator",
            "shaft_panel",
            "temp_sensor",
            "comms",
            "meters",
        ],
        description="Built-in rule packs (rules/packs/NAME.yaml).",
    )
    rule_files: list[Path] = Field(default_factory=list, description="Extra rule files.")
    shard: str = Field("0/1", description="i/N: handle sites whose crc32 mod N == i.")
    session_expiry_s: int = Field(
        3600, ge=0, description="How long the broker keeps the session while disconnected."
    )
    status_interval_s: float = Field(10.0, gt=0, description="Retained status period, s.")
    chatter_window_s: float = Field(60.0, gt=0, description="Chattering window (source time).")
    chatter_threshold: int = Field(
        3, ge=2, description="Activations within the window that make an alarm chattering."
    )
    tick_interval_s: float = Field(
        1.0, gt=0, description="Clock tick: stale points, delays, shelf expiry, escalation."
    )
    horizon_s: float = Field(
        30.0,
        ge=0,
        description="A condition counts as held this long after its last reading (poll gaps, "
        "report-by-exception); a longer gap restarts its on-/off-delay.",
    )
    escalate_after_s: float = Field(
        900.0, ge=0, description="Escalate alarms unacknowledged this long (0 = never)."
    )
    flood_window_s: float = Field(600.0, gt=0, description="Flood window (EEMUA 191: 10 min).")
    flood_start_above: int = Field(10, ge=1, description="A flood starts above this many.")
    flood_end_below: int = Field(5, ge=1, description="A flood ends below this many.")
    outbox_sweep_s: float = Field(
        0.5,
        gt=0,
        description="How often the alarm outbox is read and what it holds published (operator "
        "actions from the console, events left unconfirmed), seconds of wall time.",
    )
    memory_save_s: float = Field(
        60.0,
        gt=0,
        description="How often what the learning rules learned (the meters' night-flow and "
        "off-hours baselines, the pumps' early specific energy) is stored in the database, "
        "seconds of wall time; also at a clean stop. A crash loses at most this much of it.",
    )
    resend_window_s: float = Field(
        60.0,
        ge=0,
        description="After a reconnect, alarm events the broker acknowledged within this long "
        "before the connection dropped are published again (consumers dedupe on event_id). "
        "Keep it well above the broker's autosave_interval: a broker killed before its "
        "autosave loses what it acknowledged since. 0: never.",
    )
    influx: InfluxSettings | None = Field(
        None, description="Write alarm transitions to InfluxDB (Grafana annotations); off if unset."
    )
    max_future_s: float = Field(
        300.0,
        ge=0,
        description="Readings further ahead of the clock than this are dead-lettered "
        "(`future_timestamp`), seconds; as in ingest.",
    )
    max_age_s: float = Field(
        2_592_000.0,
        gt=0,
        description="Readings older than this are dead-lettered (`too_old`), seconds.",
    )
    decode: DecodeLimits = Field(
        default_factory=DecodeLimits, description="Message size, nesting and number limits."
    )
    metrics_port: int = Field(
        0, ge=0, le=65535, description="Port of the Prometheus `/metrics` endpoint; 0 = off."
    )
    metrics_host: str = Field("127.0.0.1", description="Address the `/metrics` endpoint binds.")

    @field_validator("instance")
    @classmethod
    def _check_instance(cls, value: str) -> str:
        topics.service_status(COMPONENT, value)  # a valid topic level
        return value

    @field_validator("shard")
    @classmethod
    def _check_shard(cls, value: str) -> str:
        Shard.parse(value)
        return value
