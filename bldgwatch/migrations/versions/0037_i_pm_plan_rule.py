"""maintenance: a PM plan's schedule as data

`pm_plans.schedule` was an English line ("cron 0 0 1 1,7 * (UTC)") while calendar plans fall
due at each site's local midnight (review 19c-r M5). `pm_plans.rule` keeps the schedule as data
(crontab or every N days with its anchor, or a counter's step and field, and the lower-level
plans a visit includes) so the console says it in the reader's language and the site's zone and
computes the next due date. Rows written before are filled when the maintenance service next
starts (it registers its plans at every start).

Revision ID: 0037_i_pm_plan_rule
Revises: 0036_maintenance_pm_results
Create Date: 2026-12-07 09:50:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0037_i_pm_plan_rule"
down_revision = "0036_maintenance_pm_results"
branch_labels = None
depends_on = None
OWNER = "maintenance"  # the package whose tables this step changes


def upgrade() -> None:
    with op.batch_alter_table("pm_plans") as batch:
        batch.add_column(sa.Column("rule", sa.JSON, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("pm_plans") as batch:
        batch.drop_column("rule")
