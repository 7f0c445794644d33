"""rules: escalation, event outbox, alarm floods

Revision ID: 0004_rules
Revises: 0003
Create Date: 2026-11-27 18:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0004_rules"
down_revision = "0003"
branch_labels = None
depends_on = None
OWNER = "rules"  # the package whose tables this step changes


def upgrade() -> None:
    with op.batch_alter_table("alarms", schema=None) as batch_op:
        batch_op.add_column(sa.Column("escalated_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "alarm_outbox",
        sa.Column("event_id", sa.String(36), primary_key=True),
        sa.Column("topic", sa.String(256), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "alarm_floods",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("site", sa.String(64), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("peak", sa.Integer(), nullable=False),
    )
    op.create_index("ix_alarm_floods_site", "alarm_floods", ["site"])


def downgrade() -> None:
    op.drop_index("ix_alarm_floods_site", table_name="alarm_floods")
    op.drop_table("alarm_floods")
    op.drop_table("alarm_outbox")
    with op.batch_alter_table("alarms", schema=None) as batch_op:
        batch_op.drop_column("escalated_at")
