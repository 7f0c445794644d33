"""rules: a verdict's word on an alarm comment as a catalogue key, rendered when read

A leak/off-hours verdict given on an acknowledged alarm is a comment whose text was stored
rendered in its giver's language ("waste confirmed: …" read by a zh-CN supervisor); the word is
kept as `text_key` and the person's reason in `text_params` (`text` keeps the rendering).

Revision ID: 0057_b7_comment_text_key
Revises: 0056_b7_event_comment_key
Create Date: 2026-12-08 02:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0057_b7_comment_text_key"
down_revision = "0056_b7_event_comment_key"
branch_labels = None
depends_on = None
OWNER = "rules"  # the package whose tables this step changes


def upgrade() -> None:
    op.add_column(
        "alarm_comments", sa.Column("text_key", sa.String(128), nullable=False, server_default="")
    )
    op.add_column(
        "alarm_comments",
        sa.Column("text_params", sa.JSON(), nullable=False, server_default="{}"),
    )


def downgrade() -> None:
    with op.batch_alter_table("alarm_comments") as batch:
        batch.drop_column("text_params")
        batch.drop_column("text_key")
