"""rules: alarm texts as a catalogue key and parameters (rendered in the reader's language)

Revision ID: 0012_rules_alarm_texts
Revises: 0011_alerts
Create Date: 2026-12-06 09:00:00

Alarms keep `message` (English, for older readers) and gain `message_key` + `params`.
Rows written before this step have an empty key: readers show their English `message`.
"""

import sqlalchemy as sa
from alembic import op

revision = "0012_rules_alarm_texts"
down_revision = "0011_alerts"
branch_labels = None
depends_on = None
OWNER = "rules"  # the package whose tables this step changes


def upgrade() -> None:
    with op.batch_alter_table("alarms", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("message_key", sa.String(128), nullable=False, server_default="")
        )
        batch_op.add_column(sa.Column("params", sa.JSON(), nullable=False, server_default="{}"))


def downgrade() -> None:
    with op.batch_alter_table("alarms", schema=None) as batch_op:
        batch_op.drop_column("params")
        batch_op.drop_column("message_key")
