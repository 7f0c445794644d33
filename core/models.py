"""Domain models that cross process boundaries: readings, batches and alarm events."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import IntEnum, StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

SCHEMA_VERSION = 1


class Quality(IntEnum):
    """Quality of one reading, on the wire as a small integer."""

    GOOD = 0
    UNCERTAIN = 1
    BAD = 2


Value = float | int | bool


@dataclass(frozen=True, slots=True)
class Reading:
    """One value of one point of one equipment at its source time (epoch ms, UTC)."""

    equipment: str
    point: str
    ts_ms: int
    value: Value
    quality: Quality = Quality.GOOD


@dataclass(frozen=True, slots=True)
class EquipmentInfo:
    """What ingest needs to place an equipment's readings: its type (measurement) and building."""

    type: str
    building: str


@dataclass(slots=True)
class ReadingBatch:
    """One readings message: a batch from one gateway with its sequence number."""

    site: str
    gateway: str
    seq: int
    equipment: dict[str, EquipmentInfo]
    readings: list[Reading] = field(default_factory=list)
    sent_ms: int | None = None


class Severity(StrEnum):
    """How bad the condition is for the equipment and people."""

    CRITICAL = "critical"
    MAJOR = "major"
    MINOR = "minor"
    WARNING = "warning"


class AlarmState(StrEnum):
    """ISA-18.2 alarm states."""

    NORMAL = "normal"
    ACTIVE_UNACK = "active_unack"
    ACTIVE_ACK = "active_ack"
    RTN_UNACK = "rtn_unack"
    SHELVED = "shelved"
    SUPPRESSED = "suppressed"
    OUT_OF_SERVICE = "out_of_service"


ACTIVE_STATES = frozenset({AlarmState.ACTIVE_UNACK, AlarmState.ACTIVE_ACK})


class MaintenanceAction(StrEnum):
    """What an alarm asks of maintenance."""

    NONE = "none"
    REACTIVE = "reactive"
    PLANNED = "planned"
    CONFIRM = "confirm"
    """A reactive order once a person confirms the alarm (a leak: `POST
    /api/alarms/{id}/leak-verdict`), not when it is raised."""


class AlarmEvent(BaseModel):
    """One alarm transition as published on `bw/v1/{site}/alarms/{equipment}`."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    schema_version: int = Field(SCHEMA_VERSION, alias="schema")
    event_id: str = Field(description="Unique id of this transition; consumers dedupe on it.")
    alarm_id: str = Field(description="Id of the alarm occurrence the transition belongs to.")
    site: str
    building: str
    equipment: str
    equipment_type: str
    rule: str = Field(description="Rule id, unique within its pack.")
    fault_code: str
    family: str = Field(description="Fault family, e.g. bearing.")
    incident: str | None = Field(
        None,
        description="Incident family (the failing component, declared in the rule packs); "
        "maintenance opens one work order per equipment and incident family. None: the "
        "family (events published before it existed).",
    )
    severity: Severity
    priority: int = Field(ge=1, le=4, description="1 = emergency … 4 = low.")
    transition: str = Field(description="activate, clear, acknowledge, shelve, …")
    state: AlarmState
    previous_state: AlarmState
    at: datetime = Field(description="When the transition happened (source time, UTC).")
    value: float | None = None
    message: str = Field("", description="The alarm text in English (for old consumers).")
    message_key: str = Field(
        "", description="Catalogue key of the alarm text (core/locale); render it with `params`."
    )
    params: dict[str, Any] = Field(
        default_factory=dict,
        description="Parameters of the text: equipment, value, limit; `point` (and `per`) "
        "name the point whose unit the value is in.",
    )
    maintenance: MaintenanceAction = MaintenanceAction.NONE
    actor: str | None = None
    comment: str | None = Field(
        None, description="A note on the transition (the person's words; the system's in English)."
    )
    comment_key: str = Field(
        "",
        description="Catalogue key of a note the system writes (the escalation's wait): "
        "render it with `comment_params`; `comment` keeps the English.",
    )
    comment_params: dict[str, Any] = Field(default_factory=dict)


class WorkOrderEvent(BaseModel):
    """One work-order change as published on `bw/v1/{site}/workorders/{equipment}`."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    schema_version: int = Field(SCHEMA_VERSION, alias="schema")
    event_id: str = Field(description="Unique id of this change; consumers dedupe on it.")
    work_order_id: int
    site: str
    equipment: str
    kind: str = Field(description="reactive, preventive or request.")
    change: str = Field(description="created, alarm_attached, or the transition's target.")
    status: str
    previous_status: str | None = None
    priority: int = Field(ge=1, le=4)
    title: str
    at: datetime
    actor: str | None = None
    assigned_to: str | None = None
