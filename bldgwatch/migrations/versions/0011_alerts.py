"""alerts: sites, contacts, rotas, policies, channels, escalations, the notification outbox,
messages, delivery attempts and acknowledge links

Revision ID: 0011_alerts
Revises: 0010_console_security
Create Date: 2026-12-06 09:00:00
"""

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0011_alerts"
down_revision = "0010_console_security"
branch_labels = None
depends_on = None
OWNER = "alerts"  # the package whose tables this step changes

DOCUMENTS = ("alert_contacts", "alert_rotas", "alert_policies", "alert_channels")


def _document_columns() -> list[sa.Column[Any]]:
    return [
        sa.Column("site", sa.String(64), nullable=False),
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("document", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(64), nullable=False),
    ]


def _documents() -> None:
    op.create_table(
        "alert_contacts",
        *_document_columns(),
        sa.PrimaryKeyConstraint("site", "id", name=op.f("pk_alert_contacts")),
    )
    op.create_table(
        "alert_rotas",
        *_document_columns(),
        sa.PrimaryKeyConstraint("site", "id", name=op.f("pk_alert_rotas")),
    )
    op.create_table(
        "alert_policies",
        *_document_columns(),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("site", "id", name=op.f("pk_alert_policies")),
    )
    op.create_table(
        "alert_channels",
        *_document_columns(),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("secrets", sa.Text(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False, server_default=sa.true()),
        sa.PrimaryKeyConstraint("site", "id", name=op.f("pk_alert_channels")),
    )


def _escalations() -> None:
    op.create_table(
        "alert_sites",
        sa.Column("site", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("buildings", sa.JSON(), nullable=False),
        sa.Column("equipment", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("site", name=op.f("pk_alert_sites")),
    )
    op.create_table(
        "alert_escalations",
        sa.Column("alarm_id", sa.String(36), nullable=False),
        sa.Column("policy_id", sa.String(64), nullable=False),
        sa.Column("site", sa.String(64), nullable=False),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("activation_event", sa.String(36), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("issued", sa.Integer(), nullable=False),
        sa.Column("next_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("policy", sa.JSON(), nullable=False),
        sa.Column("alarm", sa.JSON(), nullable=False),
        sa.Column("stop_reason", sa.String(24), nullable=True),
        sa.Column("stopped_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("stopped_by", sa.String(64), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("alarm_id", "policy_id", name=op.f("pk_alert_escalations")),
    )
    op.create_index(op.f("ix_alert_escalations_site"), "alert_escalations", ["site"])
    op.create_index(op.f("ix_alert_escalations_next_at"), "alert_escalations", ["next_at"])


def _deliveries() -> None:
    op.create_table(
        "alert_messages",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("site", sa.String(64), nullable=False),
        sa.Column("contact_id", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("held", sa.Boolean(), nullable=False),
        sa.Column("channels", sa.JSON(), nullable=False),
        sa.Column("channel_index", sa.Integer(), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("next_try_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("channel_id", sa.String(64), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("alarm_count", sa.Integer(), nullable=False),
        sa.Column("language", sa.String(8), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_messages")),
    )
    op.create_index("ix_alert_messages_status_next", "alert_messages", ["status", "next_try_at"])
    op.create_index(
        "ix_alert_messages_contact_created",
        "alert_messages",
        ["site", "contact_id", "created_at"],
    )
    op.create_table(
        "alert_notifications",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("alarm_id", sa.String(36), nullable=False),
        sa.Column("policy_id", sa.String(64), nullable=False),
        sa.Column("site", sa.String(64), nullable=False),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("occurrence", sa.String(16), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("repeat", sa.Integer(), nullable=False),
        sa.Column("target", sa.String(80), nullable=False),
        sa.Column("contact_id", sa.String(64), nullable=True),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("channels", sa.JSON(), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["alert_messages.id"],
            name=op.f("fk_alert_notifications_message_id_alert_messages"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_notifications")),
        sa.UniqueConstraint(
            "alarm_id", "policy_id", "round", "occurrence", "contact_id", name="uq_alert_step"
        ),
    )
    op.create_index(op.f("ix_alert_notifications_alarm_id"), "alert_notifications", ["alarm_id"])
    op.create_index(
        op.f("ix_alert_notifications_message_id"), "alert_notifications", ["message_id"]
    )
    op.create_index(
        "ix_alert_notifications_status_due", "alert_notifications", ["status", "due_at"]
    )
    op.create_table(
        "alert_attempts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=False),
        sa.Column("site", sa.String(64), nullable=False),
        sa.Column("contact_id", sa.String(64), nullable=False),
        sa.Column("channel_id", sa.String(64), nullable=False),
        sa.Column("channel_kind", sa.String(16), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("latency_ms", sa.Float(), nullable=True),
        sa.Column("response", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["alert_messages.id"],
            name=op.f("fk_alert_attempts_message_id_alert_messages"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_attempts")),
    )
    op.create_index(op.f("ix_alert_attempts_message_id"), "alert_attempts", ["message_id"])
    op.create_index(op.f("ix_alert_attempts_at"), "alert_attempts", ["at"])
    op.create_table(
        "alert_ack_tokens",
        sa.Column("id", sa.String(24), nullable=False),
        sa.Column("alarm_id", sa.String(36), nullable=False),
        sa.Column("site", sa.String(64), nullable=False),
        sa.Column("contact_id", sa.String(64), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=True),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("used_from", sa.String(64), nullable=True),
        sa.Column("used_agent", sa.String(200), nullable=True),
        sa.Column("outcome", sa.String(24), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_ack_tokens")),
    )
    op.create_index(op.f("ix_alert_ack_tokens_alarm_id"), "alert_ack_tokens", ["alarm_id"])


def upgrade() -> None:
    _documents()
    _escalations()
    _deliveries()


def downgrade() -> None:
    for table in (
        "alert_ack_tokens",
        "alert_attempts",
        "alert_notifications",
        "alert_messages",
        "alert_escalations",
        "alert_sites",
        *DOCUMENTS,
    ):
        op.drop_table(table)
