"""maintenance: a missed round's notice, once per due point; a retired emergency plan

When a round's due point passes its missed time without a completed run, the service tells the
site's supervisors; `round_missed_notices` holds each point told (the row is the claim, so two
service instances never tell it twice). An emergency plan may be retired (`retired_at`,
`retired_by`): kept with its versions and drills, not offered for new drills (review drills
L2); null for every plan so far.

Revision ID: 0032_maintenance_rounds_plans
Revises: 0031_maintenance_round_sync
Create Date: 2026-12-07 06:40:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0032_maintenance_rounds_plans"
down_revision = "0031_maintenance_round_sync"
branch_labels = None
depends_on = None
OWNER = "maintenance"  # the package whose tables this step changes


def upgrade() -> None:
    op.create_table(
        "round_missed_notices",
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("noticed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["round_id"],
            ["inspection_rounds.id"],
            name=op.f("fk_round_missed_notices_round_id_inspection_rounds"),
        ),
        sa.PrimaryKeyConstraint("round_id", "due_at", name=op.f("pk_round_missed_notices")),
    )
    op.add_column(
        "emergency_plans", sa.Column("retired_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.add_column("emergency_plans", sa.Column("retired_by", sa.String(64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("emergency_plans") as batch:
        batch.drop_column("retired_by")
        batch.drop_column("retired_at")
    op.drop_table("round_missed_notices")
