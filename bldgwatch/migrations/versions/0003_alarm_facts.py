"""alarm facts: condition, acknowledgement, suppression, out-of-service, chattering

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27 18:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None
OWNER = "rules"  # the package whose tables this step changes

_BOOLS = ("condition_active", "acked", "suppressed", "out_of_service")


def upgrade() -> None:
    with op.batch_alter_table("alarms", schema=None) as batch_op:
        for name in _BOOLS:
            batch_op.add_column(
                sa.Column(name, sa.Boolean(), nullable=False, server_default=sa.false())
            )
        batch_op.add_column(
            sa.Column("chatter_count", sa.Integer(), nullable=False, server_default="0")
        )
    # Alarms stored before this revision: their facts follow from the displayed state.
    op.execute(
        "UPDATE alarms SET condition_active = TRUE WHERE state IN ('active_unack', 'active_ack')"
    )
    op.execute("UPDATE alarms SET acked = TRUE WHERE state IN ('active_ack', 'normal')")


def downgrade() -> None:
    with op.batch_alter_table("alarms", schema=None) as batch_op:
        batch_op.drop_column("chatter_count")
        for name in reversed(_BOOLS):
            batch_op.drop_column(name)
