"""rules: the incident family of each alarm (from its rule's pack)

Revision ID: 0017_rules_incident
Revises: 0016_equipment_gateway
Create Date: 2026-12-06 08:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0017_rules_incident"
down_revision = "0016_equipment_gateway"
branch_labels = None
depends_on = None
OWNER = "rules"  # the package whose tables this step changes


def upgrade() -> None:
    with op.batch_alter_table("alarms") as batch:
        batch.add_column(sa.Column("incident", sa.String(64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("alarms") as batch:
        batch.drop_column("incident")
