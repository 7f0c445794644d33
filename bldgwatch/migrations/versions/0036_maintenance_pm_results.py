"""maintenance: a result, note and reading per PM checklist item

A preventive order's checklist could only be ticked: no failed / not-applicable result, no
note, no reading, so a PM finding could neither be recorded nor open a repair (review 19c-r
M6). `order_checks` gets `result` (pass / fail / na), `note`, `reading` with `unit`, and the
repair order a failed item opened or joined; items ticked before read as passed.

Revision ID: 0036_maintenance_pm_results
Revises: 0035_maintenance_drill_held
Create Date: 2026-12-07 08:15:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0036_maintenance_pm_results"
down_revision = "0035_maintenance_drill_held"
branch_labels = None
depends_on = None
OWNER = "maintenance"  # the package whose tables this step changes


def upgrade() -> None:
    with op.batch_alter_table("order_checks") as batch:
        batch.add_column(sa.Column("result", sa.String(8), nullable=True))
        batch.add_column(sa.Column("note", sa.Unicode(500), nullable=True))
        batch.add_column(sa.Column("reading", sa.Float, nullable=True))
        batch.add_column(sa.Column("unit", sa.Unicode(16), nullable=True))
        batch.add_column(sa.Column("repair_order_id", sa.Integer, nullable=True))
    checks = sa.table("order_checks", sa.column("done_at"), sa.column("result", sa.String))
    op.execute(checks.update().where(checks.c.done_at.is_not(None)).values(result="pass"))


def downgrade() -> None:
    with op.batch_alter_table("order_checks") as batch:
        for name in ("repair_order_id", "unit", "reading", "note", "result"):
            batch.drop_column(name)
