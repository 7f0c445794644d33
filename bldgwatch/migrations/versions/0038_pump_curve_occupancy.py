"""maintenance: a pump's rated curve, the meter that feeds a pump, occupancy (issue 20)

`equipment.curve` holds a pump's `curve` of the site register (flow, head, efficiency points
of its data sheet); `equipment.serves` the pump an electricity meter feeds alone; both null
for everything else. `sites.occupancy` and `buildings.occupancy` hold the occupancy schedules
of the site file (null: none given), so an exported register keeps them.

Revision ID: 0038_pump_curve_occupancy
Revises: 0037_l_energy_saving
Create Date: 2026-12-07 10:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0038_pump_curve_occupancy"
down_revision = "0037_l_energy_saving"
branch_labels = None
depends_on = None
OWNER = "maintenance"  # the package whose tables this step changes


def upgrade() -> None:
    op.add_column("equipment", sa.Column("curve", sa.JSON(), nullable=True))
    op.add_column("equipment", sa.Column("serves", sa.String(64), nullable=True))
    op.add_column("sites", sa.Column("occupancy", sa.JSON(), nullable=True))
    op.add_column("buildings", sa.Column("occupancy", sa.JSON(), nullable=True))


def downgrade() -> None:
    for table in ("buildings", "sites"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("occupancy")
    with op.batch_alter_table("equipment") as batch:
        batch.drop_column("serves")
        batch.drop_column("curve")
