"""The console's configuration model (YAML, validated at start)."""

from __future__ import annotations

from pydantic import Field

from core.config import DatabaseSettings, InfluxSettings, StrictModel


class HttpSettings(StrictModel):
    """Where the console listens."""

    host: str = Field("127.0.0.1", description="Address to bind; 0.0.0.0 for all interfaces.")
    port: int = Field(8080, ge=1, le=65535, description="TCP port of the API and dashboard.")


class ConsoleConfig(StrictModel):
    """Config of `bldgwatch console`: HTTP listener, relational store, InfluxDB."""

    http: HttpSettings = Field(default_factory=HttpSettings, description="HTTP listener.")
    database: DatabaseSettings = Field(
        default_factory=DatabaseSettings,
        description="Relational store with alarms, assets and work orders (read only here; "
        "the console never migrates it).",
    )
    influx: InfluxSettings = Field(
        default_factory=InfluxSettings, description="InfluxDB holding the readings."
    )
    dev: bool = Field(
        False,
        description="Development mode: no authentication (every request acts as a dev user). "
        "Outside dev, security is enforced (issue 8).",
    )
