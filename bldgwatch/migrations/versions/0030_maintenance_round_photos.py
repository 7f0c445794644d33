"""maintenance: the photos of a round's runs

A photo item of a round is answered with a photo: the phone uploads it under the id it gave
it (a UUID, so a retry stores it once), the file goes to the attachment folder and its row
here; the item's entry names the photo by that id.

Revision ID: 0030_maintenance_round_photos
Revises: 0029_maintenance_stock_basis
Create Date: 2026-12-07 04:10:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0030_maintenance_round_photos"
down_revision = "0029_maintenance_stock_basis"
branch_labels = None
depends_on = None
OWNER = "maintenance"  # the package whose tables this step changes


def upgrade() -> None:
    op.create_table(
        "round_photos",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("stored_as", sa.String(64), nullable=False),
        sa.Column("content_type", sa.String(32), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("by", sa.String(64), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"], ["round_runs.id"], name=op.f("fk_round_photos_run_id_round_runs")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_round_photos")),
    )
    op.create_index(op.f("ix_round_photos_run_id"), "round_photos", ["run_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_round_photos_run_id"), table_name="round_photos")
    op.drop_table("round_photos")
