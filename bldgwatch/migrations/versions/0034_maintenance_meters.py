"""maintenance: what a meter measures (issue 20)

`equipment.meter` holds a meter's entry of the site register (the system it feeds, its parent
meter, where its counter wraps) as the site file gives it; null for other equipment and for a
meter whose entry gives none (a main meter with its type's counter).

Revision ID: 0034_maintenance_meters
Revises: 0033_maintenance_stock_paging
Create Date: 2026-12-07 07:10:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0034_maintenance_meters"
down_revision = "0033_maintenance_stock_paging"
branch_labels = None
depends_on = None
OWNER = "maintenance"  # the package whose tables this step changes


def upgrade() -> None:
    op.add_column("equipment", sa.Column("meter", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("equipment") as batch:
        batch.drop_column("meter")
