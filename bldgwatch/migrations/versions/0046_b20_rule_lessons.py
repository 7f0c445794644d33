"""rules: what a person's verdict teaches a learning rule

One row per "not a leak" verdict on a night-flow or off-hours alarm, written by the console
and taken once by the rules service, whose logic then makes the level it alarmed on the
meter's new normal (review of issue 20, N12).

Revision ID: 0046_b20_rule_lessons
Revises: 0045_y19_spot_approval
Create Date: 2026-12-07 16:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0046_b20_rule_lessons"
down_revision = "0045_y19_spot_approval"
branch_labels = None
depends_on = None
OWNER = "rules"  # the package whose tables this step changes


def upgrade() -> None:
    op.create_table(
        "rule_lessons",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("site", sa.String(64), nullable=False),
        sa.Column("equipment", sa.String(64), nullable=False),
        sa.Column("rule", sa.String(128), nullable=False),
        sa.Column("alarm_id", sa.String(36), nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("given_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("applied_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rule_lessons")),
    )
    op.create_index(op.f("ix_rule_lessons_site"), "rule_lessons", ["site"])


def downgrade() -> None:
    op.drop_index(op.f("ix_rule_lessons_site"), table_name="rule_lessons")
    op.drop_table("rule_lessons")
