"""maintenance: when a recorded drill was held

A drill recorded long after its scheduled day counted as held on that day: the plan stayed
"drill overdue" and the month's report listed it in the wrong month (review 19c-d H1).
`drills.held_at` keeps its first step's time; recorded drills are filled from their steps.

Revision ID: 0035_maintenance_drill_held
Revises: 0034_maintenance_meters
Create Date: 2026-12-07 07:40:00
"""

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0035_maintenance_drill_held"
down_revision = "0034_maintenance_meters"
branch_labels = None
depends_on = None
OWNER = "maintenance"  # the package whose tables this step changes
WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.add_column("drills", sa.Column("held_at", WHEN, nullable=True))
    op.create_index("ix_drills_held_at", "drills", ["held_at"])
    drills = sa.table(
        "drills",
        sa.column("id", sa.Integer),
        sa.column("status", sa.String),
        sa.column("steps", sa.JSON),
        sa.column("held_at", WHEN),
    )
    bind = op.get_bind()
    recorded = bind.execute(
        sa.select(drills.c.id, drills.c.steps).where(drills.c.status == "recorded")
    ).all()
    for number, steps in recorded:
        first = (steps or [{}])[0].get("at")
        if first:
            held = datetime.fromisoformat(first).astimezone(UTC)
            bind.execute(drills.update().where(drills.c.id == number).values(held_at=held))


def downgrade() -> None:
    op.drop_index("ix_drills_held_at", table_name="drills")
    op.drop_column("drills", "held_at")
