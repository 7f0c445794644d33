"""Request and response bodies of the alerting routes. The editable documents themselves
(contacts, rotas, policies) are the owner's models (`alerts.documents`), used as they are."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from bldgwatch.core.config import StrictModel


class ChannelIn(StrictModel):
    """A channel as written: its kind, settings, secrets (write-only) and switch."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "kind": "dingtalk",
                    "settings": {"url": "https://oapi.dingtalk.com/robot/send"},
                    "secrets": {"access_token": "…", "sign_secret": "SEC…"},
                }
            ]
        }
    )

    kind: str = Field(description="email, wecom, dingtalk, feishu, webhook or sms.")
    settings: dict[str, Any] = Field(default_factory=dict, description="The kind's settings.")
    secrets: dict[str, str | None] | None = Field(
        None,
        description="Secrets to set: a value (sealed with the alerts key), "
        "`env:BLDGWATCH_ALERTS_…` or `file:NAME`; null removes one; absent ones are kept.",
    )
    enabled: bool = True


class ChannelOut(BaseModel):
    """A channel as read: never its secrets, only which are set."""

    id: str
    kind: str
    enabled: bool
    settings: dict[str, Any]
    secrets_set: list[str] = Field(description="Names of the secrets that have a value.")
    updated_at: datetime
    updated_by: str


class Person(BaseModel):
    """A contact named in an answer."""

    id: str
    name: str | None = Field(None, description="None when the contact no longer exists.")


class OnCallOut(BaseModel):
    """Who a rota puts on call at a moment."""

    rota: str
    at: datetime
    shift: str
    starts_at: datetime
    ends_at: datetime
    source: str = Field(description="cycle, holiday or override.")
    primary: Person
    backup: Person | None
    supervisor: Person | None


class AttemptOut(BaseModel):
    """One delivery attempt."""

    at: datetime
    channel: str
    kind: str
    status: str = Field(description="sent, failed, rate_limited, skipped or interrupted.")
    latency_ms: float | None
    response: str = Field(description="What the provider answered (secrets masked).")


class NotifiedOut(BaseModel):
    """One notice to one person."""

    policy: str
    round: int = Field(description="Activation of the alarm it belongs to (1, 2, …).")
    level: int = Field(description="Escalation level (0 = first step).")
    repeat: int = Field(description="0 = the level's first notice, then reminders.")
    target: str = Field(description="primary, backup, supervisor or contact:ID.")
    recipient: Person | None = Field(description="None when nobody was on call.")
    due_at: datetime
    status: str = Field(
        description="pending, queued, sent, failed, unknown, cancelled or unresolved."
    )
    channel: str | None = Field(description="The channel that delivered it.")
    sent_at: datetime | None
    digest_of: int = Field(description="Alarms in the message (1: this one alone).")
    attempts: list[AttemptOut]


class EscalationOut(BaseModel):
    """How one policy's escalation stands."""

    policy: str
    round: int
    status: str = Field(description="active or stopped.")
    started_at: datetime
    next_at: datetime | None
    stop_reason: str | None = Field(
        description="acknowledged, ack_link, cleared, shelved, suppressed, out_of_service."
    )
    stopped_at: datetime | None
    stopped_by: str | None


class LinkUseOut(BaseModel):
    """A used acknowledge link."""

    recipient: Person
    used_at: datetime
    used_from: str | None = Field(description="Client address the link was opened from.")
    outcome: str | None


class AlarmNotifications(BaseModel):
    """Per alarm: who was notified, when, by which channel, and who acknowledged."""

    alarm_id: str
    state: str
    acknowledged_by: str | None
    acknowledged_at: datetime | None
    escalations: list[EscalationOut]
    notifications: list[NotifiedOut]
    link_uses: list[LinkUseOut]


class AckLinkResult(BaseModel):
    """What using an acknowledge link did."""

    alarm_id: str
    outcome: str = Field(description="acknowledged or already_acknowledged.")
    state: str
    acknowledged_by: str | None


class Deleted(BaseModel):
    """What a delete removed."""

    site: str
    id: str
    deleted: bool = True
