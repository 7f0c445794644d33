"""maintenance: a checklist template's equipment class as long as the API allows, a round run's
receipt time

`checklist_templates.equipment_type` takes the 64 characters its schema allows (it was 32: a
longer class was a 503 on PostgreSQL; review 19b-r H2). A run is done at the phone's time of
its last entry (within the run's bounds) and keeps when the server received that entry
(`round_runs.synced_at`), so a round done offline on time counts on time and the supervisor
sees how late it was synced (review 19b-r M1). Runs done before stay null (done when received).

Revision ID: 0031_maintenance_round_sync
Revises: 0030_maintenance_round_photos
Create Date: 2026-12-07 04:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0031_maintenance_round_sync"
down_revision = "0030_maintenance_round_photos"
branch_labels = None
depends_on = None
OWNER = "maintenance"  # the package whose tables this step changes


def upgrade() -> None:
    with op.batch_alter_table("checklist_templates") as batch:
        batch.alter_column(
            "equipment_type", existing_type=sa.String(32), type_=sa.String(64), nullable=False
        )
    op.add_column("round_runs", sa.Column("synced_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("round_runs") as batch:
        batch.drop_column("synced_at")
    with op.batch_alter_table("checklist_templates") as batch:
        batch.alter_column(
            "equipment_type", existing_type=sa.String(64), type_=sa.String(32), nullable=False
        )
