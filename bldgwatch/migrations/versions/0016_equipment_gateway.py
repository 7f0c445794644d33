"""maintenance: the gateway that reports each equipment (site register ownership)

Revision ID: 0016_equipment_gateway
Revises: 0015_console_audit_no_replace
Create Date: 2026-12-06 08:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0016_equipment_gateway"
down_revision = "0015_console_audit_no_replace"
branch_labels = None
depends_on = None
OWNER = "maintenance"  # the package whose tables this step changes


def upgrade() -> None:
    with op.batch_alter_table("equipment") as batch:
        batch.add_column(sa.Column("gateway", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("equipment") as batch:
        batch.drop_column("gateway")
