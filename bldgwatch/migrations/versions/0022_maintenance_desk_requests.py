"""maintenance: requests the desk logs (phone, walk-in) and merged duplicates

`public_requests` gains the channel it came by (qr, phone, walk_in), the caller's name, the
equipment the desk names, and the request a duplicate was merged into; a desk-logged
request may have no request point (a free-text location), so `point_id` becomes nullable.

Revision ID: 0022_maintenance_desk_requests
Revises: 0021_maintenance_public_requests
Create Date: 2026-12-06 21:15:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0022_maintenance_desk_requests"
down_revision = "0021_maintenance_public_requests"
branch_labels = None
depends_on = None
OWNER = "maintenance"  # the package whose tables this step changes


def upgrade() -> None:
    with op.batch_alter_table("public_requests", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("channel", sa.String(16), nullable=False, server_default="qr")
        )
        batch_op.add_column(sa.Column("caller_name", sa.Unicode(100), nullable=True))
        batch_op.add_column(sa.Column("equipment", sa.String(64), nullable=True))
        batch_op.add_column(sa.Column("merged_into_id", sa.Integer(), nullable=True))
        batch_op.alter_column("point_id", existing_type=sa.Integer(), nullable=True)
        batch_op.create_foreign_key(
            batch_op.f("fk_public_requests_merged_into_id_public_requests"),
            "public_requests",
            ["merged_into_id"],
            ["id"],
        )
        batch_op.create_index(
            batch_op.f("ix_public_requests_merged_into_id"), ["merged_into_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("public_requests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_public_requests_merged_into_id"))
        batch_op.drop_constraint(
            batch_op.f("fk_public_requests_merged_into_id_public_requests"), type_="foreignkey"
        )
        batch_op.alter_column("point_id", existing_type=sa.Integer(), nullable=False)
        batch_op.drop_column("merged_into_id")
        batch_op.drop_column("equipment")
        batch_op.drop_column("caller_name")
        batch_op.drop_column("channel")
