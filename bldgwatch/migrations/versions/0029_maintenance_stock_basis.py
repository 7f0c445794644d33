"""maintenance: the reorder level a suggested level was raised from

A suggested reorder level (`maintenance.stocksuggest`) is computed from the level a supervisor
set, not from one a suggestion already raised: accepting it twice, or again on the next
visit, raised it again each time (review 19s M4). `stock.suggested_from` keeps that base
while an accepted suggestion stands; a level set by hand clears it.

Revision ID: 0029_maintenance_stock_basis
Revises: 0028_maintenance_rescues
Create Date: 2026-12-07 03:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0029_maintenance_stock_basis"
down_revision = "0028_maintenance_rescues"
branch_labels = None
depends_on = None
OWNER = "maintenance"  # the package whose tables this step changes


def upgrade() -> None:
    with op.batch_alter_table("stock", schema=None) as batch_op:
        batch_op.add_column(sa.Column("suggested_from", sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("stock", schema=None) as batch_op:
        batch_op.drop_column("suggested_from")
