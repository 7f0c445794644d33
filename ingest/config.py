"""ingest's configuration model (validated at start; see ingest/sample.yaml)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal, Self

from pydantic import Field, field_validator, model_validator

from bldgwatch.core import topics
from bldgwatch.core.config import InfluxSettings, MqttSettings, StrictModel, duration_s
from bldgwatch.core.errors import ConfigError
from bldgwatch.core.safejson import DecodeLimits
from bldgwatch.core.site import load_site

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class RetentionConfig(StrictModel):
    """Retention and downsampling that ingest sets up on start (InfluxDB 1.x only)."""

    enabled: bool = Field(
        True,
        description="Create/alter the retention policies and continuous queries on start "
        "(v1 API). InfluxDB 2.x: bucket retention and a task, see docs/ingest.md.",
    )
    duration: str = Field(
        "30d",
        description="How long raw readings are kept (InfluxQL duration or INF); applied to "
        "influx.retention_policy, or to `autogen` when that is unset.",
    )
    downsample: bool = Field(
        True, description="Keep 1-minute mean/min/max of every field in `rollup_policy`."
    )
    rollup_policy: str = Field("rollup_1y", description="Retention policy of the rollups.")
    rollup_duration: str = Field("52w", description="How long the rollups are kept.")
    rollup_interval: str = Field("1m", description="Rollup window (GROUP BY time(...)).")

    @field_validator("duration", "rollup_duration", "rollup_interval")
    @classmethod
    def _check_duration(cls, value: str) -> str:
        duration_s(value)
        return value

    @field_validator("rollup_policy")
    @classmethod
    def _check_name(cls, value: str) -> str:
        if not _NAME.match(value):
            raise ValueError(f"{value!r} must be letters, digits and underscores")
        return value


class IngestConfig(StrictModel):
    """Configuration of one ingest instance."""

    instance: str = Field(
        "ingest-1",
        description="Instance name: MQTT client id suffix and "
        "status topic level; keep it stable, the persistent session is its.",
    )
    group: str = Field(
        "ingest",
        description="Shared-subscription group; instances in one group split the readings stream.",
    )
    shared_subscription: bool = Field(
        False,
        description="Take the readings through the MQTT 5 shared subscription $share/{group}/... "
        "so several instances split the stream. Mosquitto 2.0 does not restore shared "
        "subscriptions after a broker restart: readings published before the instances "
        "subscribe again are dropped. false: a plain subscription of the persistent session, "
        "which Mosquitto restores, so nothing is lost (one instance per broker).",
    )
    mqtt: MqttSettings = Field(default_factory=MqttSettings, description="The MQTT broker.")
    influx: InfluxSettings = Field(default_factory=InfluxSettings, description="InfluxDB.")
    session_expiry_s: int = Field(
        3600,
        ge=0,
        description="How long the broker keeps the "
        "session (and unacknowledged readings) while ingest is down.",
    )
    batch_lines: int = Field(5000, ge=1, description="Lines per InfluxDB write.")
    batch_messages: int = Field(
        20,
        ge=1,
        description="Also write when this many messages wait for their ack. Keep it at or "
        "below the broker's per-client in-flight limit (Mosquitto max_inflight_messages): "
        "the broker sends no more unacknowledged messages than that.",
    )
    flush_interval_s: float = Field(
        0.5,
        gt=0,
        description="Longest a line waits for its "
        "batch to fill before it is written anyway, seconds.",
    )
    gzip: bool = Field(
        False,
        description="Compress write bodies (Content-Encoding: gzip; v1 API). Worth it over a "
        "slow link; on loopback it only adds CPU work on both ends.",
    )
    max_pending_lines: int = Field(
        200_000,
        ge=1,
        description="Buffer bound; when full, "
        "ingest stops taking messages and the broker holds them.",
    )
    backoff_max_s: float = Field(
        30.0, gt=0, description="Longest wait between retries of a failing write, seconds."
    )
    max_future_s: float = Field(
        300, ge=0, description="Readings further ahead of the clock than this are refused, seconds."
    )
    max_age_s: float = Field(
        2_592_000,
        gt=0,
        description="Readings older than this (the retention) are refused, seconds.",
    )
    retention: RetentionConfig = Field(
        default_factory=RetentionConfig,
        description="Retention policy and downsampling set up on start (v1).",
    )
    status_interval_s: float = Field(
        10.0, gt=0, description="Period of the retained status and counters message, seconds."
    )
    metrics_port: int = Field(
        0, ge=0, le=65535, description="Port of the Prometheus `/metrics` endpoint; 0 = off."
    )
    metrics_host: str = Field("127.0.0.1", description="Address the `/metrics` endpoint binds.")
    telegraf_topics: list[str] = Field(
        default_factory=list,
        description="Topic filters whose payloads are InfluxDB line protocol (Telegraf's MQTT "
        'output with data_format = "influx"), taken through the shared subscription too.',
    )
    telegraf_precision: Literal["ns", "us", "ms", "s"] = Field(
        "ns", description="Timestamp precision of the line-protocol payloads (Telegraf: ns)."
    )
    site_files: list[Path] = Field(
        default_factory=list,
        description="The site register: site YAML files saying which gateway owns which "
        "equipment. Readings of equipment not in them (`unknown_equipment`) or from a gateway "
        "that does not own it (`not_owner`) are dead-lettered.",
    )
    register_required: bool = Field(
        True,
        description="Refuse to start without site_files. false stores readings of any "
        "equipment from any gateway: for development and benchmarks only.",
    )
    decode: DecodeLimits = Field(
        default_factory=DecodeLimits, description="Message size, nesting and number limits."
    )
    shutdown_timeout_s: float = Field(
        10.0,
        gt=0,
        description="How long stopping waits for "
        "the last writes; what is left stays unacknowledged.",
    )

    @field_validator("group")
    @classmethod
    def _check_group(cls, value: str) -> str:
        topics.shared(value, topics.ALL_READINGS)  # ValueError names the bad level
        return value

    @field_validator("instance")
    @classmethod
    def _check_instance(cls, value: str) -> str:
        topics.service_status("ingest", value)
        return value

    @field_validator("telegraf_topics")
    @classmethod
    def _check_telegraf(cls, value: list[str]) -> list[str]:
        for topic_filter in value:
            levels = topic_filter.split("/")
            if (
                not topic_filter
                or topic_filter.startswith("$")
                or any(
                    "#" in lv and (lv != "#" or i != len(levels) - 1) for i, lv in enumerate(levels)
                )
                or any("+" in lv and lv != "+" for lv in levels)
            ):
                raise ValueError(f"{topic_filter!r} is not a valid MQTT topic filter")
            if topic_filter.startswith("bw/"):
                raise ValueError(f"{topic_filter!r}: bw/ topics carry bldgwatch's own format")
        return value

    @field_validator("site_files")
    @classmethod
    def _check_site_files(cls, value: list[Path]) -> list[Path]:
        for path in value:
            try:
                load_site(path)
            except ConfigError as err:
                raise ValueError(str(err)) from err
        return value

    @model_validator(mode="after")
    def _check(self) -> Self:
        if self.max_pending_lines < self.batch_lines:
            raise ValueError("max_pending_lines must be at least batch_lines")
        if self.retention.enabled and self.max_age_s > duration_s(self.retention.duration):
            raise ValueError("max_age_s must not exceed retention.duration")
        if (
            self.retention.enabled
            and "raw_retention" in self.influx.model_fields_set
            and self.influx.raw_retention != self.retention.duration
        ):
            # The console and maintenance read `influx.raw_retention` to know which days
            # only the hourly counters still hold: one value for both.
            raise ValueError("influx.raw_retention must equal retention.duration")
        return self
