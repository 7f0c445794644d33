"""maintenance: a part booking remembers it was bought on the spot

The spot-purchase limit holds for what one person books on an order in total, not per line
(review 19f H1: 50 lines of ¥400 each were counted at once): a spot purchase is marked
(`spot`), and the sum of a booker's spot purchases counted without approval on the order is
checked against their limit.

Revision ID: 0048_g19_spot_flag
Revises: 0047_e20_leak_verdicts
Create Date: 2026-12-07 16:45:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0048_g19_spot_flag"
down_revision = "0047_e20_leak_verdicts"
branch_labels = None
depends_on = None
OWNER = "maintenance"  # the package whose tables this step changes


def upgrade() -> None:
    with op.batch_alter_table("work_order_parts") as batch:
        batch.add_column(sa.Column("spot", sa.Boolean, nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("work_order_parts") as batch:
        batch.drop_column("spot")
