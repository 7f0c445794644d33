"""console: the alarm comments table retires (rules own alarm comments since 0006)

Revision ID: 0008_console_comments_retired
Revises: 0007_work_order_outbox
Create Date: 2026-12-06 08:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0008_console_comments_retired"
down_revision = "0007_work_order_outbox"
branch_labels = None
depends_on = None
OWNER = "console"  # the package whose tables this step changes


def upgrade() -> None:
    op.drop_index(op.f("ix_console_alarm_comments_alarm_id"), table_name="console_alarm_comments")
    op.drop_table("console_alarm_comments")


def downgrade() -> None:
    op.create_table(
        "console_alarm_comments",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("alarm_id", sa.String(36), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_console_alarm_comments")),
    )
    op.create_index(
        op.f("ix_console_alarm_comments_alarm_id"), "console_alarm_comments", ["alarm_id"]
    )
    op.execute(
        "INSERT INTO console_alarm_comments (alarm_id, at, actor, text) "
        "SELECT alarm_id, at, actor, text FROM alarm_comments ORDER BY id"
    )
