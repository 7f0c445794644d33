"""maintenance: a site's working calendar (the site file's `calendar:`)

Which local days are workdays: the official calendar the site follows (`cn`) and its own
holidays and make-up workdays (core.workcal); rounds that repeat on workdays and the
occupancy schedules follow it.

Revision ID: 0054_d5_site_calendar
Revises: 0053_a19_booking_keys
Create Date: 2026-12-07 22:10:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0054_d5_site_calendar"
down_revision = "0053_a19_booking_keys"
branch_labels = None
depends_on = None
OWNER = "maintenance"  # the package whose tables this step changes


def upgrade() -> None:
    op.add_column("sites", sa.Column("calendar", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("sites") as batch:
        batch.drop_column("calendar")
