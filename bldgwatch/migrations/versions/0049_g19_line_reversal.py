"""maintenance: a labour line or a contractor's charge is reversed with its reason

A mistyped labour line (80 h for 8 h, rate 800 for 80) or contractor charge stayed in the
order's cost, the history file, the budget and the monthly report for good (review 19f H2):
it is now reversed by a reversing row naming it (`reverses`), as part bookings are.

Revision ID: 0049_g19_line_reversal
Revises: 0048_g19_spot_flag
Create Date: 2026-12-07 17:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0049_g19_line_reversal"
down_revision = "0048_g19_spot_flag"
branch_labels = None
depends_on = None
OWNER = "maintenance"  # the package whose tables this step changes


def upgrade() -> None:
    for table in ("work_order_labour", "work_order_charges"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("reverses", sa.Integer, nullable=True))


def downgrade() -> None:
    for table in ("work_order_charges", "work_order_labour"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("reverses")
