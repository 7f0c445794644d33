"""rules: a lesson carries the level the person judged

A "not a leak" verdict teaches the level the alarm showed (its value, the night it was raised
on), not whatever the meter's latest abnormal night was when the rules service took the lesson
(fourth review of issue 20, H3: a burst after the alarm was silenced by a right verdict).
Lessons written before this carry none and teach the latest level, as before.

Revision ID: 0050_f20_lesson_level
Revises: 0049_g19_line_reversal
Create Date: 2026-12-07 19:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0050_f20_lesson_level"
down_revision = "0049_g19_line_reversal"
branch_labels = None
depends_on = None
OWNER = "rules"  # the package whose tables this step changes


def upgrade() -> None:
    with op.batch_alter_table("rule_lessons") as batch:
        batch.add_column(sa.Column("level", sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("rule_lessons") as batch:
        batch.drop_column("level")
