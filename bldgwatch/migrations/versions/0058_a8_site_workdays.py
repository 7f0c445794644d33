"""maintenance: a site's workday verdict per past local day, kept when the day is judged

A `workdays` round's past due points followed the site's calendar as it is now: a make-up day
or holiday added later, or the package learning a year, rewrote past missed/on-time counts
(review 19i M3). The verdict is kept per site and day once the day has ended (or a run of it
is done) and read instead of the calendar for that day.

Revision ID: 0058_a8_site_workdays
Revises: 0057_b7_comment_text_key
Create Date: 2026-12-08 02:40:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0058_a8_site_workdays"
down_revision = "0057_b7_comment_text_key"
branch_labels = None
depends_on = None
OWNER = "maintenance"  # the package whose tables this step changes


def upgrade() -> None:
    op.create_table(
        "site_workdays",
        sa.Column("site", sa.String(64), primary_key=True),
        sa.Column("day", sa.Date(), primary_key=True),
        sa.Column("workday", sa.Boolean(), nullable=False),
        sa.Column("judged_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("site_workdays")
