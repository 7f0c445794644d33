"""maintenance: the policy the service runs with, as data (SLA, stage settings, roster)

Revision ID: 0009_maintenance_policy
Revises: 0008_console_comments_retired
Create Date: 2026-12-06 08:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0009_maintenance_policy"
down_revision = "0008_console_comments_retired"
branch_labels = None
depends_on = None
OWNER = "maintenance"  # the package whose tables this step changes


def upgrade() -> None:
    op.create_table(
        "maintenance_policy",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("document", sa.JSON(), nullable=False),
        sa.Column("instance", sa.String(64), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_maintenance_policy")),
    )


def downgrade() -> None:
    op.drop_table("maintenance_policy")
