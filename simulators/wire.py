"""What the simulator says and hears on MQTT and writes as ground truth (pure functions)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

import orjson
from pydantic import Field, ValidationError

from bldgwatch.core.config import StrictModel
from bldgwatch.core.models import Value
from bldgwatch.simulators.equipment import Episode


def iso_utc(when: datetime) -> str:
    """ISO-8601 UTC with milliseconds and a Z, e.g. 2026-11-27T10:00:00.000Z."""
    return when.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class ControlCommand(StrictModel):
    """A runtime fault command on the control topic."""

    equipment: str = Field(description="Equipment id, e.g. P-01.")
    fault: str = Field(description="Fault name, e.g. bearing_overheat.")
    action: Literal["start", "stop"] = Field(description="start or stop the fault.")
    params: dict[str, Any] = Field(default_factory=dict, description="Fault parameters.")


class CommandError(ValueError):
    """A control message that is not a valid command."""


def parse_command(payload: bytes) -> ControlCommand:
    """The command in a control message; CommandError says why not."""
    try:
        data = orjson.loads(payload)
    except orjson.JSONDecodeError as err:
        raise CommandError(f"not JSON: {err}") from err
    if not isinstance(data, dict):
        raise CommandError("not a JSON object")
    try:
        return ControlCommand.model_validate(data)
    except ValidationError as err:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in err.errors())
        raise CommandError(problems) from err


def episode_record(episode: Episode) -> dict[str, Any]:
    """One ground-truth line: equipment, fault, start, end, true life stage, params."""
    return {
        "equipment": episode.equipment,
        "fault": episode.fault,
        "start": iso_utc(episode.start),
        "end": iso_utc(episode.end) if episode.end is not None else None,
        "stage": episode.stage,
        "params": episode.params,
    }


def status_payload(
    site: str, now: datetime, active: list[Episode], *, running: bool = True
) -> bytes:
    """The retained status message."""
    return orjson.dumps(
        {
            "site": site,
            "running": running,
            "ts": iso_utc(now),
            "active": [
                {k: v for k, v in episode_record(ep).items() if k != "end"} for ep in active
            ],
        }
    )


def sensor_payload(values: dict[str, Value], now: datetime) -> bytes:
    """An MQTT-native sensor message: its points (floats to 2 decimals) and `ts`."""
    body: dict[str, Any] = {
        name: round(value, 2) if isinstance(value, float) else value
        for name, value in values.items()
    }
    body["ts"] = iso_utc(now)
    return orjson.dumps(body)
