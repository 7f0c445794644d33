"""maintenance: a spot purchase of a part a store can issue waits, naming the store

Review 19g M4: a part a store of the order's site holds free, bought on the spot, is not
counted at once whatever the booker's authority; the line keeps the store and its free
quantity at booking, so the approver sees why it waits.

Revision ID: 0052_a19_spot_in_store
Revises: 0051_e19_line_approval
Create Date: 2026-12-07 22:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0052_a19_spot_in_store"
down_revision = "0051_e19_line_approval"
branch_labels = None
depends_on = None
OWNER = "maintenance"  # the package whose tables this step changes


def upgrade() -> None:
    with op.batch_alter_table("work_order_parts") as batch:
        batch.add_column(sa.Column("held_store", sa.String(100), nullable=True))
        batch.add_column(sa.Column("held_free", sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("work_order_parts") as batch:
        batch.drop_column("held_free")
        batch.drop_column("held_store")
