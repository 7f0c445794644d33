"""The alerts service's configuration model (one YAML file; see sample.yaml).

Who is notified of what, through which channel and when (policies, rotas, contacts,
channels) is data in the relational store, edited through the console's API; this file
holds only how the process runs: broker, store, key, delivery, flood grouping and links.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator

from bldgwatch.core.config import DatabaseSettings, MqttSettings, StrictModel
from bldgwatch.core.site import DEFAULT_TIMEZONE, site_zone

COMPONENT = "alerts"
KEY_ENV = "BLDGWATCH_ALERTS_KEY"
"""The environment variable holding the alerts key (a Fernet key); it wins over `key_file`."""


class DeliverySettings(StrictModel):
    """How messages leave: workers, retries, fallback and rate-limit waits."""

    workers: int = Field(8, ge=1, le=64, description="Messages sent at the same time.")
    poll_s: float = Field(
        0.1, gt=0, le=5, description="How often the outbox is read, seconds of wall time."
    )
    http_timeout_s: float = Field(5.0, gt=0, description="Timeout of one provider call, seconds.")
    attempts_per_channel: int = Field(
        3, ge=1, le=10, description="Tries on one channel before falling back to the next."
    )
    retry_initial_s: float = Field(
        2.0, gt=0, description="First retry wait (doubling, jittered: core.backoff), seconds."
    )
    retry_max_s: float = Field(60.0, gt=0, description="Longest retry wait, seconds.")
    rate_wait_max_s: float = Field(
        30.0,
        ge=0,
        description="Longest a message waits for a rate-limited channel before it falls back "
        "to the next channel, seconds.",
    )


class FloodSettings(StrictModel):
    """Flood grouping: at most `burst` messages per recipient within `window_s`; beyond that
    the recipient gets one digest per `interval_s` until the flood is over."""

    burst: int = Field(3, ge=1, description="Messages a recipient gets at once in a window.")
    window_s: float = Field(60.0, gt=0, description="The window of `burst`, seconds.")
    interval_s: float = Field(
        60.0, gt=0, description="During a flood, one digest per recipient per interval, seconds."
    )
    digest_links: int = Field(
        5, ge=0, le=50, description="Alarms of a digest that get their own acknowledge link."
    )


class AlertsConfig(StrictModel):
    """Configuration of one alerts service instance."""

    instance: str = Field("alerts-1", description="Instance id (client id, status topic).")
    mqtt: MqttSettings = Field(default_factory=MqttSettings, description="Broker connection.")
    database: DatabaseSettings = Field(
        default_factory=DatabaseSettings,
        description="Relational store: policies, rotas, contacts, channels and deliveries.",
    )
    site_files: list[Path] = Field(
        default_factory=list,
        description="Site files: each site's name, time zone, buildings and equipment names.",
    )
    default_timezone: str = Field(
        DEFAULT_TIMEZONE, description="Time zone of sites no site file names."
    )
    session_expiry_s: int = Field(
        3600,
        ge=0,
        description="How long the broker keeps the session (and queues alarm events) while "
        "the service is away, seconds.",
    )
    status_interval_s: float = Field(
        10.0, gt=0, description="Seconds between retained status messages."
    )
    tick_s: float = Field(
        1.0, gt=0, le=60, description="How often escalations are checked for a due step, seconds."
    )
    console_url: str = Field(
        "http://127.0.0.1:8080",
        description="Base URL of the console as recipients reach it: alarm and acknowledge "
        "links start with it.",
    )
    alarm_path: str = Field(
        "/alarms/{alarm_id}",
        description="Path of an alarm's page in the console ({alarm_id} is replaced).",
    )
    ack_link_ttl_h: float = Field(
        12.0, gt=0, le=168, description="How long an acknowledge link stays valid, hours."
    )
    rescue_minutes: float = Field(
        30.0,
        gt=0,
        description="Entrapment rescue clock, minutes from the alarm (DOMAIN.md: 30 min in "
        "cities); notices of entrapment say how much of it is left.",
    )
    rescue_families: list[str] = Field(
        default_factory=lambda: ["entrapment"],
        description="Fault families that run on the rescue clock.",
    )
    key_file: Path | None = Field(
        None,
        description="File with the alerts key (a Fernet key, mode 0600) that encrypts channel "
        f"secrets and signs acknowledge links; the {KEY_ENV} environment variable wins. "
        "The console needs the same key.",
    )
    secrets_dir: Path | None = Field(
        None,
        description="Folder whose files channel secrets may name as `file:NAME`; without it "
        "only encrypted values and `env:BLDGWATCH_ALERTS_*` variables are allowed.",
    )
    delivery: DeliverySettings = Field(
        default_factory=DeliverySettings, description="Workers, retries, fallback."
    )
    flood: FloodSettings = Field(default_factory=FloodSettings, description="Flood grouping.")

    @field_validator("default_timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        site_zone(value)
        return value

    @field_validator("console_url")
    @classmethod
    def _url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("console_url must start with http:// or https://")
        return value.rstrip("/")

    @field_validator("alarm_path")
    @classmethod
    def _path(cls, value: str) -> str:
        if not value.startswith("/") or "{alarm_id}" not in value:
            raise ValueError("alarm_path must start with / and contain {alarm_id}")
        return value
