"""maintenance: a joined fault's open item follows its round entry

A round's fault that joins an order opened for something else is an open item of that order's
checklist. The item now names the round entry it came from (`order_checks.entry_id`), so a
correction of the entry updates the item's value, and a correction into a good answer or a void
withdraws it: kept on the list with who, when and why (`withdrawn_at`, `withdrawn_by`,
`withdrawn_reason`) and no longer an item to tick before resolving (review 19d-r M2).

Revision ID: 0044_u19_order_check_entry
Revises: 0043_pump_baselines
Create Date: 2026-12-07 13:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0044_u19_order_check_entry"
down_revision = "0043_pump_baselines"
branch_labels = None
depends_on = None
OWNER = "maintenance"  # the package whose tables this step changes
WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("order_checks") as batch:
        batch.add_column(sa.Column("entry_id", sa.String(36), nullable=True))
        batch.add_column(sa.Column("withdrawn_at", WHEN, nullable=True))
        batch.add_column(sa.Column("withdrawn_by", sa.String(64), nullable=True))
        batch.add_column(sa.Column("withdrawn_reason", sa.Unicode(500), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("order_checks") as batch:
        batch.drop_column("withdrawn_reason")
        batch.drop_column("withdrawn_by")
        batch.drop_column("withdrawn_at")
        batch.drop_column("entry_id")
