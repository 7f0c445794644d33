"""maintenance: a round run keeps its route, a round its schedule history, an entry the time
of its live value

A run copies the round's stops and their templates' items when it starts (`round_runs.route`),
so editing a template or a round during a run changes nothing of it; a round keeps the times
and active flag of each period since it was made (`inspection_rounds.schedule`), so a change
counts only the due points after it and an inactive period counts none; an entry keeps when
its live value was measured (`round_entries.live_at`). Rows from before stay null and are read
as the round's current route and schedule (`maintenance.rounds`).

Revision ID: 0027_maintenance_round_snapshots
Revises: 0026_maintenance_rounds
Create Date: 2026-12-07 03:20:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0027_maintenance_round_snapshots"
down_revision = "0026_maintenance_rounds"
branch_labels = None
depends_on = None
OWNER = "maintenance"  # the package whose tables this step changes

WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.add_column("round_runs", sa.Column("route", sa.JSON(), nullable=True))
    op.add_column("inspection_rounds", sa.Column("schedule", sa.JSON(), nullable=True))
    op.add_column("round_entries", sa.Column("live_at", WHEN, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("round_entries") as batch:
        batch.drop_column("live_at")
    with op.batch_alter_table("inspection_rounds") as batch:
        batch.drop_column("schedule")
    with op.batch_alter_table("round_runs") as batch:
        batch.drop_column("route")
