"""maintenance: a PM plan's schedule as data; weekly, workday and monthly rounds with who is
responsible

`pm_plans.schedule` was an English line ("cron 0 0 1 1,7 * (UTC)") while calendar plans fall
due at each site's local midnight (review 19c-r M5). `pm_plans.rule` keeps the schedule as data
(crontab or every N days with its anchor, or a counter's step and field, and the lower-level
plans a visit includes) so the console says it in the reader's language and the site's zone and
computes the next due date. Rows written before are filled when the maintenance service next
starts (it registers its plans at every start).

Rounds could only fall due daily (review 19c-r M8): `inspection_rounds` gets `repeat` (daily,
weekly, workdays, monthly; existing rounds daily), `weekdays`, `month_days` (each schedule
period keeps its own in `schedule`), and the technician (`assignee`) or team (`team`, a skill)
responsible for it.

Revision ID: 0037_i_pm_rule_round_repeat
Revises: 0036_maintenance_pm_results
Create Date: 2026-12-07 09:50:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0037_i_pm_rule_round_repeat"
down_revision = "0036_maintenance_pm_results"
branch_labels = None
depends_on = None
OWNER = "maintenance"  # the package whose tables this step changes


def upgrade() -> None:
    with op.batch_alter_table("pm_plans") as batch:
        batch.add_column(sa.Column("rule", sa.JSON, nullable=True))
    with op.batch_alter_table("inspection_rounds") as batch:
        batch.add_column(sa.Column("repeat", sa.String(16), nullable=False, server_default="daily"))
        batch.add_column(sa.Column("weekdays", sa.JSON, nullable=True))
        batch.add_column(sa.Column("month_days", sa.JSON, nullable=True))
        batch.add_column(sa.Column("assignee", sa.String(64), nullable=True))
        batch.add_column(sa.Column("team", sa.String(32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("inspection_rounds") as batch:
        for name in ("team", "assignee", "month_days", "weekdays", "repeat"):
            batch.drop_column(name)
    with op.batch_alter_table("pm_plans") as batch:
        batch.drop_column("rule")
