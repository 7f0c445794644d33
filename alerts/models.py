"""SQL tables of alerting: each site's documents (contacts, channels, rotas, policies), the
escalations under way, the notification outbox, the messages sent, every delivery attempt
and the acknowledge links. Alerts owns them: every write goes through this package."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column

from bldgwatch.core.db import Base, UtcDateTime


class AlertSiteRow(Base):
    """A site as the alerts service knows it from its site file (name, zone, names)."""

    __tablename__ = "alert_sites"

    site: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    timezone: Mapped[str] = mapped_column(String(64))
    buildings: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    equipment: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class _Document:
    """Columns every edited document has: site, id, the document, who changed it when."""

    site: Mapped[str] = mapped_column(String(64), primary_key=True)
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    document: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_by: Mapped[str] = mapped_column(String(64))


class AlertContactRow(_Document, Base):
    """A person to notify (`alerts.documents.Contact`)."""

    __tablename__ = "alert_contacts"


class AlertRotaRow(_Document, Base):
    """An on-call rota (`alerts.documents.Rota`)."""

    __tablename__ = "alert_rotas"


class AlertPolicyRow(_Document, Base):
    """A notification policy (`alerts.documents.Policy`); `position` orders the listing."""

    __tablename__ = "alert_policies"

    position: Mapped[int] = mapped_column(Integer, default=0)


class AlertChannelRow(_Document, Base):
    """A channel: its kind, settings (`document`) and sealed secrets (never in clear)."""

    __tablename__ = "alert_channels"

    kind: Mapped[str] = mapped_column(String(16))
    secrets: Mapped[str] = mapped_column(Text, default="", doc="Fernet token of a JSON map.")
    enabled: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())


class EscalationRow(Base):
    """One policy's escalation of one alarm: how far it got, when to look next, why it ended.

    The policy and the alarm's facts are kept as they were at activation, so editing a policy
    changes future alarms, not the escalations under way.
    """

    __tablename__ = "alert_escalations"

    alarm_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    policy_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    site: Mapped[str] = mapped_column(String(64), index=True)
    round: Mapped[int] = mapped_column(Integer, doc="Activations of the alarm so far.")
    status: Mapped[str] = mapped_column(String(12), doc="active or stopped.")
    activation_event: Mapped[str] = mapped_column(String(36))
    started_at: Mapped[datetime] = mapped_column(UtcDateTime)
    issued: Mapped[int] = mapped_column(Integer, doc="Occurrences of the plan handled so far.")
    next_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True, index=True)
    policy: Mapped[dict[str, Any]] = mapped_column(JSON)
    alarm: Mapped[dict[str, Any]] = mapped_column(JSON)
    stop_reason: Mapped[str | None] = mapped_column(String(24), nullable=True)
    stopped_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    stopped_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class MessageRow(Base):
    """A message to one recipient, about one alarm or a digest of several, and its fate."""

    __tablename__ = "alert_messages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    site: Mapped[str] = mapped_column(String(64))
    contact_id: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    status: Mapped[str] = mapped_column(
        String(12), doc="queued, sending, retry, sent, failed, unknown (crash mid-send), cancelled."
    )
    held: Mapped[bool] = mapped_column(Boolean, doc="Held back by the flood rule.")
    channels: Mapped[list[str]] = mapped_column(JSON, doc="Channels in fallback order.")
    channel_index: Mapped[int] = mapped_column(Integer, default=0)
    attempt: Mapped[int] = mapped_column(Integer, default=0, doc="Tries on the current channel.")
    next_try_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    channel_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    alarm_count: Mapped[int] = mapped_column(Integer)
    language: Mapped[str] = mapped_column(String(8))
    subject: Mapped[str] = mapped_column(Text, default="")

    __table_args__ = (
        Index("ix_alert_messages_status_next", "status", "next_try_at"),
        Index("ix_alert_messages_contact_created", "site", "contact_id", "created_at"),
    )


class NotificationRow(Base):
    """The outbox: one notice of one escalation step to one person, until it is in a message."""

    __tablename__ = "alert_notifications"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    alarm_id: Mapped[str] = mapped_column(String(36), index=True)
    policy_id: Mapped[str] = mapped_column(String(64))
    site: Mapped[str] = mapped_column(String(64))
    round: Mapped[int] = mapped_column(Integer)
    occurrence: Mapped[str] = mapped_column(String(16), doc="level.repeat of the plan.")
    level: Mapped[int] = mapped_column(Integer)
    repeat: Mapped[int] = mapped_column(Integer)
    target: Mapped[str] = mapped_column(String(80), doc="primary, backup, … or contact:ID.")
    contact_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    priority: Mapped[int] = mapped_column(Integer)
    channels: Mapped[list[str]] = mapped_column(JSON)
    due_at: Mapped[datetime] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    status: Mapped[str] = mapped_column(
        String(12), doc="pending, queued, sent, failed, unknown, cancelled, unresolved."
    )
    message_id: Mapped[int | None] = mapped_column(
        ForeignKey("alert_messages.id"), nullable=True, index=True
    )

    __table_args__ = (
        UniqueConstraint(
            "alarm_id", "policy_id", "round", "occurrence", "contact_id", name="uq_alert_step"
        ),
        Index("ix_alert_notifications_status_due", "status", "due_at"),
    )


class AttemptRow(Base):
    """One try to deliver a message on one channel: outcome, provider answer, latency."""

    __tablename__ = "alert_attempts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("alert_messages.id"), index=True)
    site: Mapped[str] = mapped_column(String(64))
    contact_id: Mapped[str] = mapped_column(String(64))
    channel_id: Mapped[str] = mapped_column(String(64))
    channel_kind: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    status: Mapped[str] = mapped_column(
        String(16),
        doc="sent, failed, rate_limited, skipped, interrupted, error (the sender failed first).",
    )
    latency_ms: Mapped[float | None] = mapped_column(Float, nullable=True)
    response: Mapped[str] = mapped_column(Text, default="")


class AckTokenRow(Base):
    """An acknowledge link: whom it was sent to, until when it works, and its one use."""

    __tablename__ = "alert_ack_tokens"

    id: Mapped[str] = mapped_column(String(24), primary_key=True)
    alarm_id: Mapped[str] = mapped_column(String(36), index=True)
    site: Mapped[str] = mapped_column(String(64))
    contact_id: Mapped[str] = mapped_column(String(64))
    message_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    issued_at: Mapped[datetime] = mapped_column(UtcDateTime)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    used_from: Mapped[str | None] = mapped_column(String(64), nullable=True)
    used_agent: Mapped[str | None] = mapped_column(String(200), nullable=True)
    outcome: Mapped[str | None] = mapped_column(String(24), nullable=True)
