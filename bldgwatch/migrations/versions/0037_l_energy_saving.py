"""maintenance: energy saving (issue 20, point 5)

`buildings.area_m2` (the site file's floor area, for energy per m²), `sites.energy` (the site
file's tariffs and degree-day bases as JSON), and two settings tables with history: the
baseline period chosen per building and kind (`energy_baselines`) and the yearly reduction
target per site and kind (`energy_targets`); the newest row of a key is in force.

Revision ID: 0037_l_energy_saving
Revises: 0036_maintenance_pm_results
Create Date: 2026-12-07 09:50:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0037_l_energy_saving"
down_revision = "0036_maintenance_pm_results"
branch_labels = None
depends_on = None
OWNER = "maintenance"  # the package whose tables this step changes
WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.add_column("buildings", sa.Column("area_m2", sa.Float(), nullable=True))
    op.add_column("sites", sa.Column("energy", sa.JSON(), nullable=True))
    op.create_table(
        "energy_baselines",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("site", sa.String(64), nullable=False),
        sa.Column("building", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("start", sa.Date(), nullable=False),
        sa.Column("end", sa.Date(), nullable=False),
        sa.Column("at", WHEN, nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_energy_baselines")),
    )
    op.create_index(op.f("ix_energy_baselines_site"), "energy_baselines", ["site"])
    op.create_table(
        "energy_targets",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("site", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("reduction", sa.Float(), nullable=False),
        sa.Column("at", WHEN, nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_energy_targets")),
    )
    op.create_index(op.f("ix_energy_targets_site"), "energy_targets", ["site"])


def downgrade() -> None:
    op.drop_table("energy_targets")
    op.drop_table("energy_baselines")
    with op.batch_alter_table("sites") as batch:
        batch.drop_column("energy")
    with op.batch_alter_table("buildings") as batch:
        batch.drop_column("area_m2")
