"""maintenance: a pump's early specific energy, kept once made

The baseline of a pump's specific energy is made from its first days of running after install
or overhaul; raw readings are kept 30 days, so it is kept here once made (by the maintenance
service, or the energy page when it makes it first) and a pump overhauled months ago still
shows its baseline and drift (review of issue 20, F9).

Revision ID: 0043_pump_baselines
Revises: 0042_rules_memory
Create Date: 2026-12-07 13:10:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0043_pump_baselines"
down_revision = "0042_rules_memory"
branch_labels = None
depends_on = None
OWNER = "maintenance"  # the package whose tables this step changes


def upgrade() -> None:
    op.create_table(
        "pump_baselines",
        sa.Column("site", sa.String(64), nullable=False),
        sa.Column("pump", sa.String(64), nullable=False),
        sa.Column("since", sa.Date(), nullable=True),
        sa.Column("kwh_m3", sa.Float(), nullable=False),
        sa.Column("first_day", sa.Date(), nullable=False),
        sa.Column("last_day", sa.Date(), nullable=False),
        sa.Column("made_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("site", "pump", name=op.f("pk_pump_baselines")),
    )


def downgrade() -> None:
    op.drop_table("pump_baselines")
