"""The console's configuration model (YAML, validated at start)."""

from __future__ import annotations

from pydantic import Field

from bldgwatch.core.config import DatabaseSettings, InfluxSettings, MqttSettings, StrictModel
from bldgwatch.maintenance.config import AttachmentSettings


class HttpSettings(StrictModel):
    """Where the console listens."""

    host: str = Field("127.0.0.1", description="Address to bind; 0.0.0.0 for all interfaces.")
    port: int = Field(8080, ge=1, le=65535, description="TCP port of the API and dashboard.")


class SecuritySettings(StrictModel):
    """Token lifetimes and login rate limits. The signing secret comes from the environment
    variable `BLDGWATCH_SECRET` (at least 32 bytes), never from this file."""

    access_ttl_s: int = Field(900, ge=30, le=86400, description="Lifetime of an access token.")
    refresh_ttl_s: int = Field(
        7 * 86400, ge=60, le=90 * 86400, description="Lifetime of a refresh token."
    )
    login_attempts: int = Field(
        5, ge=1, le=100, description="Failed logins allowed per user and address in the window."
    )
    login_window_s: int = Field(
        300, ge=1, le=86400, description="Window of the login rate limit, seconds."
    )
    dev_admin_password: str = Field(
        "bldgwatch-dev",
        min_length=8,
        description="Dev mode only: password of the `admin` user created at start.",
    )


class LiveSettings(StrictModel):
    """The live event stream (`/api/live`)."""

    buffer: int = Field(
        2000, ge=10, le=1_000_000, description="Events kept for clients that reconnect."
    )
    client_queue: int = Field(
        1000, ge=10, le=100_000, description="Events queued per slow client before it is cut off."
    )


class ConsoleConfig(StrictModel):
    """Config of `bldgwatch console`: HTTP listener, relational store, InfluxDB, broker."""

    http: HttpSettings = Field(default_factory=HttpSettings, description="HTTP listener.")
    database: DatabaseSettings = Field(
        default_factory=DatabaseSettings,
        description="Relational store with alarms, assets, work orders and the console's "
        "users (migrated at start).",
    )
    influx: InfluxSettings = Field(
        default_factory=InfluxSettings, description="InfluxDB holding the readings."
    )
    mqtt: MqttSettings | None = Field(
        None,
        description="Broker the live stream listens to (alarm, work-order and gateway-status "
        "topics); the console publishes nothing. Without it the live stream stays empty.",
    )
    security: SecuritySettings = Field(
        default_factory=SecuritySettings, description="Tokens and login limits."
    )
    live: LiveSettings = Field(default_factory=LiveSettings, description="Live event stream.")
    attachments: AttachmentSettings = Field(
        default_factory=AttachmentSettings,
        description="Where photos and documents of work orders are kept (the console "
        "receives and serves them), with size and type limits.",
    )
    dev: bool = Field(
        False,
        description="Development mode: a built-in signing secret is allowed and an `admin` "
        "user (password `security.dev_admin_password`) is created at start. Outside dev, "
        "BLDGWATCH_SECRET must be set to at least 32 bytes.",
    )
