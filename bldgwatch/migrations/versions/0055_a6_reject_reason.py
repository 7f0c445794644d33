"""maintenance: a rejected cost line keeps the approver's reason

Review 19h L7: a labour line, charge or part rejected on approval carried no reason; the
booker saw "rejected" and nothing else. The reason is now required and kept on the line.

Revision ID: 0055_a6_reject_reason
Revises: 0054_d5_site_calendar
Create Date: 2026-12-08 01:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0055_a6_reject_reason"
down_revision = "0054_d5_site_calendar"
branch_labels = None
depends_on = None
OWNER = "maintenance"  # the package whose tables this step changes
TABLES = ("work_order_parts", "work_order_labour", "work_order_charges")


def upgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("decided_reason", sa.Text(), nullable=True))


def downgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.drop_column("decided_reason")
