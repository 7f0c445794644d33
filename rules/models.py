"""SQL tables of the alarm store: alarm occurrences, their transitions and comments."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Index, Integer, String, Text, false, text
from sqlalchemy.orm import Mapped, mapped_column

from bldgwatch.core.db import Base, UtcDateTime


class AlarmRow(Base):
    """One alarm occurrence of (site, equipment, rule), from activation until it is normal."""

    __tablename__ = "alarms"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    site: Mapped[str] = mapped_column(String(64), index=True)
    building: Mapped[str] = mapped_column(String(64))
    equipment: Mapped[str] = mapped_column(String(64), index=True)
    equipment_type: Mapped[str] = mapped_column(String(32))
    rule: Mapped[str] = mapped_column(String(128))
    fault_code: Mapped[str] = mapped_column(String(64))
    family: Mapped[str] = mapped_column(String(64))
    # Migration 0017_rules_incident: the rule's incident family (NULL: raised before it).
    incident: Mapped[str | None] = mapped_column(String(64), nullable=True)
    severity: Mapped[str] = mapped_column(String(16))
    priority: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(24), index=True)
    is_open: Mapped[bool] = mapped_column(Boolean, doc="True until the alarm is back to normal.")
    raised_at: Mapped[datetime] = mapped_column(UtcDateTime)
    cleared_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    acked_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    acked_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    shelved_until: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    value: Mapped[float | None] = mapped_column(Float, nullable=True)
    message: Mapped[str] = mapped_column(Text, default="")
    maintenance: Mapped[str] = mapped_column(String(16))
    activations: Mapped[int] = mapped_column(Integer, default=1)
    # Facts the displayed state derives from (migration 0003), so a restart continues exactly.
    condition_active: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=false(), doc="Debounced condition is active."
    )
    acked: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=false(), doc="Acknowledged since activation."
    )
    suppressed: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=false(), doc="Suppressed by design right now."
    )
    out_of_service: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    chatter_count: Mapped[int] = mapped_column(
        Integer, default=0, server_default="0", doc="Activations that found it chattering."
    )
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    # Migration 0004_rules: when an unacknowledged alarm was escalated (once per activation).
    escalated_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    # Migration 0012_rules_alarm_texts: the text as a catalogue key and its parameters
    # (`message` keeps the English for older readers); rendered in the reader's language.
    message_key: Mapped[str] = mapped_column(String(128), default="", server_default="")
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict, server_default="{}")

    __table_args__ = (
        # ISA-18.2: at most one open alarm per (equipment, rule).
        Index(
            "uq_alarms_open_per_rule",
            "site",
            "equipment",
            "rule",
            unique=True,
            sqlite_where=text("is_open"),
            postgresql_where=text("is_open"),
        ),
    )


class AlarmEventRow(Base):
    """One stored transition, with who, when and why."""

    __tablename__ = "alarm_events"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    alarm_id: Mapped[str] = mapped_column(ForeignKey("alarms.id"), index=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    transition: Mapped[str] = mapped_column(String(24))
    state: Mapped[str] = mapped_column(String(24))
    previous_state: Mapped[str] = mapped_column(String(24))
    value: Mapped[float | None] = mapped_column(Float, nullable=True)
    actor: Mapped[str | None] = mapped_column(String(64), nullable=True)
    comment: Mapped[str | None] = mapped_column(Text, nullable=True)
    # Migration 0056_b7: a note the system writes (the escalation's wait) as a catalogue key
    # with its parameters, rendered in the reader's language (`comment` keeps the English).
    comment_key: Mapped[str] = mapped_column(String(128), default="", server_default="")
    comment_params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict, server_default="{}")


class AlarmCommentRow(Base):
    """A note an operator left on an alarm: part of its history; its state does not change."""

    __tablename__ = "alarm_comments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    alarm_id: Mapped[str] = mapped_column(ForeignKey("alarms.id"), index=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    actor: Mapped[str] = mapped_column(String(64))
    text: Mapped[str] = mapped_column(Text)
    # Migration 0057_b7: a verdict's word as a catalogue key (`text` keeps the giver's
    # rendering), with the person's reason in `text_params`, rendered when read.
    text_key: Mapped[str] = mapped_column(String(128), default="", server_default="")
    text_params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict, server_default="{}")


class AlarmOutboxRow(Base):
    """An alarm event committed with its transition and not yet confirmed published (PUBACK).

    Written in the transition's transaction and deleted once the broker has it, so an event
    is never lost between commit and publish; rows left at a restart are published again
    (consumers dedupe on the event id).
    """

    __tablename__ = "alarm_outbox"

    event_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    topic: Mapped[str] = mapped_column(String(256))
    payload: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class AlarmFloodRow(Base):
    """An alarm flood of one site (EEMUA 191: starts above 10 per 10 min, ends below 5)."""

    __tablename__ = "alarm_floods"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    site: Mapped[str] = mapped_column(String(64), index=True)
    started_at: Mapped[datetime] = mapped_column(UtcDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    peak: Mapped[int] = mapped_column(Integer)


class RuleMemoryRow(Base):
    """What a learning rule learned on one equipment (the night-flow and off-hours baselines
    of a meter, a pump's early specific energy), so a restart of the rules service continues
    from it (migration 0042_rules_memory)."""

    __tablename__ = "rule_memory"

    site: Mapped[str] = mapped_column(String(64), primary_key=True)
    equipment: Mapped[str] = mapped_column(String(64), primary_key=True)
    rule: Mapped[str] = mapped_column(String(128), primary_key=True)
    memory: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class RuleLessonRow(Base):
    """A person's verdict that teaches a learning rule (a "not a leak" on a night-flow or
    off-hours alarm: the level it alarmed on is the meter's new normal); written by the
    console, taken once by the rules service (`applied_at`; migration 0046_b20_rule_lessons)."""

    __tablename__ = "rule_lessons"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    site: Mapped[str] = mapped_column(String(64), index=True)
    equipment: Mapped[str] = mapped_column(String(64))
    rule: Mapped[str] = mapped_column(String(128))
    alarm_id: Mapped[str] = mapped_column(String(36))
    actor: Mapped[str] = mapped_column(String(64))
    given_at: Mapped[datetime] = mapped_column(UtcDateTime)
    applied_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    withdraw: Mapped[bool] = mapped_column(
        Boolean,
        default=False,
        server_default=false(),
        doc="A supervisor reversed the verdict: the rule forgets what it taught (0047).",
    )
    level: Mapped[float | None] = mapped_column(
        Float,
        nullable=True,
        doc="The level the person judged: the alarm's value when the verdict was given (0050).",
    )


class LeakVerdictRow(Base):
    """A person's verdict on one raising of an alarm that waits for one ("confirm leak" or
    "not a leak"), decided with the alarm row locked so two people's opposite answers cannot
    both be kept (third review of issue 20, H4). A verdict is withdrawn when it is reversed
    (its order cancelled, or a supervisor's reversal of "not a leak"); migration
    0047_e20_leak_verdicts."""

    __tablename__ = "leak_verdicts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    alarm_id: Mapped[str] = mapped_column(String(36), index=True)
    raised_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    leak: Mapped[bool] = mapped_column(Boolean)
    actor: Mapped[str] = mapped_column(String(64))
    given_at: Mapped[datetime] = mapped_column(UtcDateTime)
    work_order_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    withdrawn_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    withdrawn_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
