"""rules: leak verdicts decided under the alarm's lock, and lessons that are withdrawn

One row per verdict on a raising of an alarm that waits for a person ("confirm leak", "not a
leak"), written in the transaction that locks the alarm row, so two opposite verdicts given at
the same moment cannot both take effect; withdrawn when the verdict is reversed (third review
of issue 20, H4 and M1). A lesson row may now withdraw what an earlier one taught.

Revision ID: 0047_e20_leak_verdicts
Revises: 0046_b20_rule_lessons
Create Date: 2026-12-07 17:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0047_e20_leak_verdicts"
down_revision = "0046_b20_rule_lessons"
branch_labels = None
depends_on = None
OWNER = "rules"  # the package whose tables this step changes


def upgrade() -> None:
    op.create_table(
        "leak_verdicts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("alarm_id", sa.String(36), nullable=False),
        sa.Column("raised_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("leak", sa.Boolean(), nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("given_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("work_order_id", sa.Integer(), nullable=True),
        sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("withdrawn_by", sa.String(64), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_leak_verdicts")),
    )
    op.create_index(op.f("ix_leak_verdicts_alarm_id"), "leak_verdicts", ["alarm_id"])
    with op.batch_alter_table("rule_lessons") as batch:
        batch.add_column(
            sa.Column("withdraw", sa.Boolean(), server_default=sa.false(), nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("rule_lessons") as batch:
        batch.drop_column("withdraw")
    op.drop_index(op.f("ix_leak_verdicts_alarm_id"), table_name="leak_verdicts")
    op.drop_table("leak_verdicts")
