"""Configuration loading: one YAML file per process, validated by a pydantic model at start."""

from __future__ import annotations

import re
import ssl
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_core import PydanticCustomError

from bldgwatch.core.errors import ConfigError

M = TypeVar("M", bound=BaseModel)


class StrictModel(BaseModel):
    """Base of every config model: unknown fields are errors, not silently ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True)


CA_PEM_MAX = 65_536
"""Longest `ca_pem` taken (characters): a CA bundle of a few certificates fits many times."""


class MqttSettings(StrictModel):
    """How a process reaches the MQTT broker."""

    host: str = Field("127.0.0.1", description="Broker host name or address.")
    port: int = Field(1883, ge=1, le=65535, description="Broker TCP port.")
    username: str | None = Field(None, description="User name, when the broker requires one.")
    password: str | None = Field(None, description="Password; prefer the environment for it.")
    tls: bool = Field(False, description="Connect with TLS.")
    ca_file: Path | None = Field(None, description="CA bundle that signed the broker's cert.")
    ca_pem: str | None = Field(
        None,
        max_length=CA_PEM_MAX,
        description="The CA certificate(s) themselves, PEM text (instead of ca_file): what a "
        "configuration pushed from the console carries, since a file named there would be on "
        "the Pi, out of the console's sight; the gateway writes it into its fleet state folder.",
    )
    keepalive: int = Field(30, ge=5, le=3600, description="MQTT keepalive, seconds.")
    reconnect_max_s: int = Field(
        30,
        ge=1,
        le=3600,
        description="Longest wait between reconnect attempts (it doubles from 1 s), seconds.",
    )
    client_id: str | None = Field(None, description="Client id; derived from the process if unset.")

    @field_validator("ca_pem")
    @classmethod
    def _check_ca_pem(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                if not value.strip():  # the ssl module takes an empty text as no certificate
                    raise ValueError("empty")
                ssl.create_default_context(cadata=value)
            except (ssl.SSLError, ValueError, TypeError) as err:  # TypeError: non-ASCII text
                raise PydanticCustomError(
                    "ca_pem_not_certificate",
                    "is not one or more PEM certificates ({error})",
                    {"error": str(err)},
                ) from err
        return value

    @model_validator(mode="after")
    def _one_ca(self) -> MqttSettings:
        if self.ca_file is not None and self.ca_pem is not None:
            raise ValueError("give ca_file or ca_pem, not both")
        return self


# An InfluxQL duration literal as retention policies take it, or INF (keep forever).
_DURATION = re.compile(r"^(\d+)(w|d|h|m)$")
_UNIT_S = {"w": 604_800, "d": 86_400, "h": 3_600, "m": 60}


def duration_s(value: str) -> float:
    """Seconds of an InfluxQL duration literal (`30d`, `52w`, `1h`); INF is infinite."""
    if value == "INF":
        return float("inf")
    found = _DURATION.match(value)
    if found is None:
        raise ValueError(f"{value!r} is not a duration like 30d, 52w, 12h or INF")
    return int(found.group(1)) * _UNIT_S[found.group(2)]


class InfluxSettings(StrictModel):
    """Where the time series live. `v1` speaks the InfluxDB 1.x HTTP API, `v2` influxdb-client."""

    api: Literal["v1", "v2"] = Field("v1", description="Which InfluxDB API to speak.")
    url: str = Field("http://127.0.0.1:8086", description="Base URL of the InfluxDB HTTP API.")
    database: str = Field("bldgwatch", description="v1: database name.")
    retention_policy: str | None = Field(None, description="v1: retention policy to write to.")
    raw_retention: str = Field(
        "30d",
        description="How long the raw readings are kept: ingest's `retention.duration` (an "
        "InfluxQL duration like 30d or 2w, or INF). Energy figures for days older than this "
        "are read from the hourly counters; ingest refuses a different `retention.duration`.",
    )
    username: str | None = Field(None, description="v1: user name.")
    password: str | None = Field(None, description="v1: password.")
    token: str | None = Field(None, description="v2: API token.")
    org: str | None = Field(None, description="v2: organisation.")
    bucket: str | None = Field(None, description="v2: bucket.")
    timeout_s: float = Field(10.0, gt=0, description="HTTP timeout per request, seconds.")

    @field_validator("raw_retention")
    @classmethod
    def _check_raw_retention(cls, value: str) -> str:
        duration_s(value)
        return value

    @property
    def raw_keep(self) -> timedelta | None:
        """How long raw readings are kept; None: for ever (INF)."""
        seconds = duration_s(self.raw_retention)
        return None if seconds == float("inf") else timedelta(seconds=seconds)


class DatabaseSettings(StrictModel):
    """The relational store (alarms, assets, work orders): SQLite file or PostgreSQL."""

    url: str = Field(
        "sqlite:///var/bldgwatch.db",
        description="SQLAlchemy URL, e.g. sqlite:///var/bldgwatch.db or "
        "postgresql+psycopg://user@host:5432/bldgwatch.",
    )


def _field_path(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(part) for part in loc) or "(top level)"


def format_validation_error(source: str, err: ValidationError) -> str:
    """One line per problem, each naming the field path, e.g. `mqtt.port: ...`."""
    lines = [f"{source}: invalid configuration"]
    for problem in err.errors():
        lines.append(f"  {_field_path(problem['loc'])}: {problem['msg']}")
    return "\n".join(lines)


def parse_config(data: Any, model: type[M], *, source: str = "<config>") -> M:
    """Validate already-loaded data against `model`; raise ConfigError naming each bad field."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: the top level must be a mapping, got {type(data).__name__}")
    try:
        return model.model_validate(data)
    except ValidationError as err:
        raise ConfigError(format_validation_error(source, err)) from err


def load_yaml(path: Path) -> Any:
    """Read a YAML file, turning I/O and syntax errors into ConfigError."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise ConfigError(f"{path}: cannot read: {err.strerror}") from err
    except UnicodeDecodeError as err:  # e.g. GBK, as a zh-CN Windows editor often saves
        raise ConfigError(
            f"{path}: not UTF-8 text (byte {err.start}): save the file as UTF-8"
        ) from err
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise ConfigError(f"{path}: not valid YAML: {err}") from err


def load_config(path: Path, model: type[M]) -> M:
    """Load and validate a YAML config file; the process must not start on ConfigError."""
    return parse_config(load_yaml(path), model, source=str(path))
