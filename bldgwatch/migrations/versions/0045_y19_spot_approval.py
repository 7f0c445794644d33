"""maintenance: a spot purchase outside the rule waits for a supervisor's approval

A part a technician books as bought on the spot above `stock.spot_purchase_limit` or at a
price far from the list's is kept as `approval = 'pending'` and not counted in the order's
cost nor the budget until a supervisor within their approval limit approves it (`approved`)
or rejects it (`rejected`), with who and when (review 19e H1). A mistyped hand booking is
reversed by a reversing row naming it (`reverses`, review 19e M5).

Revision ID: 0045_y19_spot_approval
Revises: 0044_u19_order_check_entry
Create Date: 2026-12-07 14:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0045_y19_spot_approval"
down_revision = "0044_u19_order_check_entry"
branch_labels = None
depends_on = None
OWNER = "maintenance"  # the package whose tables this step changes
WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("work_order_parts") as batch:
        batch.add_column(sa.Column("approval", sa.String(16), nullable=True))
        batch.add_column(sa.Column("decided_by", sa.String(64), nullable=True))
        batch.add_column(sa.Column("decided_at", WHEN, nullable=True))
        batch.add_column(sa.Column("reverses", sa.Integer, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("work_order_parts") as batch:
        batch.drop_column("reverses")
        batch.drop_column("decided_at")
        batch.drop_column("decided_by")
        batch.drop_column("approval")
