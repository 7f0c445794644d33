"""rules: an alarm transition's system note as a catalogue key with its parameters

The escalation's wait ("unacknowledged for N min") was stored in English only; it is kept so
(for older readers) and as `comment_key`/`comment_params`, rendered in the reader's language.

Revision ID: 0056_b7_event_comment_key
Revises: 0055_a6_reject_reason
Create Date: 2026-12-08 01:50:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0056_b7_event_comment_key"
down_revision = "0055_a6_reject_reason"
branch_labels = None
depends_on = None
OWNER = "rules"  # the package whose tables this step changes


def upgrade() -> None:
    op.add_column(
        "alarm_events",
        sa.Column("comment_key", sa.String(128), nullable=False, server_default=""),
    )
    op.add_column(
        "alarm_events",
        sa.Column("comment_params", sa.JSON(), nullable=False, server_default="{}"),
    )


def downgrade() -> None:
    with op.batch_alter_table("alarm_events") as batch:
        batch.drop_column("comment_params")
        batch.drop_column("comment_key")
