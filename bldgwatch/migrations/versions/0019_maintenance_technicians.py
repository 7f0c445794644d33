"""maintenance: the directory of technicians every assignment reads

One table owned by maintenance: the roster file seeds it at the service's start, the console
keeps the entries of its technician users in it (`maintenance.technicians`).

Revision ID: 0019_maintenance_technicians
Revises: 0018_maintenance_work_life
Create Date: 2026-12-06 12:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0019_maintenance_technicians"
down_revision = "0018_maintenance_work_life"
branch_labels = None
depends_on = None
OWNER = "maintenance"  # the package whose tables this step changes


def upgrade() -> None:
    op.create_table(
        "maintenance_technicians",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("name", sa.Unicode(200), nullable=False),
        sa.Column("sites", sa.JSON(), nullable=False),
        sa.Column("skills", sa.JSON(), nullable=False),
        sa.Column("on_call", sa.JSON(), nullable=False),
        sa.Column("email", sa.String(254), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("managed_by", sa.String(16), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_maintenance_technicians")),
    )


def downgrade() -> None:
    op.drop_table("maintenance_technicians")
