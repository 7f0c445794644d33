"""maintenance: labour lines and contractor charges await approval as spot purchases do

One authority rule for every cost line a person books by hand (review 19g H1–H3, M1–M3): a
line counts at once only within its booker's authority for the site-local day; beyond it the
line awaits approval, and labour and charges get the approval state parts have.

Revision ID: 0051_e19_line_approval
Revises: 0050_f20_lesson_level
Create Date: 2026-12-07 19:35:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0051_e19_line_approval"
down_revision = "0050_f20_lesson_level"
branch_labels = None
depends_on = None
OWNER = "maintenance"  # the package whose tables this step changes

TABLES = ("work_order_labour", "work_order_charges")


def upgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("approval", sa.String(16), nullable=True))
            batch.add_column(sa.Column("decided_by", sa.String(64), nullable=True))
            batch.add_column(sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.drop_column("decided_at")
            batch.drop_column("decided_by")
            batch.drop_column("approval")
