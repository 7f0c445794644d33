"""rules: alarm comments move from the console into the alarm store

Comments are part of an alarm's history, so the package that owns alarms owns them: the new
`alarm_comments` table takes over the rows of `console_alarm_comments` (those of alarms that
still exist; new ids, same order). The console's own step `0008_console_comments_retired`
drops its table: each step changes only its owner's tables.

Revision ID: 0006_alarm_comments
Revises: 0005_pm_plans
Create Date: 2026-11-28 10:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0006_alarm_comments"
down_revision = "0005_pm_plans"
branch_labels = None
depends_on = None
OWNER = "rules"  # the package whose tables this step changes


def _comments_table(name: str) -> None:
    op.create_table(
        name,
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("alarm_id", sa.String(36), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["alarm_id"], ["alarms.id"], name=op.f(f"fk_{name}_alarm_id_alarms")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{name}")),
    )
    op.create_index(op.f(f"ix_{name}_alarm_id"), name, ["alarm_id"])


def upgrade() -> None:
    _comments_table("alarm_comments")
    op.execute(
        "INSERT INTO alarm_comments (alarm_id, at, actor, text) "
        "SELECT alarm_id, at, actor, text FROM console_alarm_comments "
        "WHERE alarm_id IN (SELECT id FROM alarms) ORDER BY id"
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_alarm_comments_alarm_id"), table_name="alarm_comments")
    op.drop_table("alarm_comments")
