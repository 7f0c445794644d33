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

A round's entry can be corrected or voided (review 19c-r M10): `round_entry_changes` keeps each
change (who, when, old and new answer, reason, what became of the fault's order).

Revision ID: 0039_pm_rule_round_repeat
Revises: 0038_pump_curve_occupancy
Create Date: 2026-12-07 09:50:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0039_pm_rule_round_repeat"
down_revision = "0038_pump_curve_occupancy"
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

    op.create_table(
        "round_entry_changes",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.Integer, nullable=False),
        sa.Column("entry_id", sa.String(36), nullable=False),
        sa.Column("stop", sa.Integer, nullable=False),
        sa.Column("item", sa.String(64), nullable=False),
        sa.Column("old_value", sa.JSON, nullable=True),
        sa.Column("old_ok", sa.Boolean, nullable=False),
        sa.Column("new_value", sa.JSON, nullable=True),
        sa.Column("new_ok", sa.Boolean, nullable=True),
        sa.Column("reason", sa.Unicode(500), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("by", sa.String(64), nullable=False),
        sa.Column("order_id", sa.Integer, nullable=True),
        sa.Column("order_action", sa.String(16), nullable=True),
        sa.ForeignKeyConstraint(
            ["run_id"], ["round_runs.id"], name=op.f("fk_round_entry_changes_run_id_round_runs")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_round_entry_changes")),
    )
    op.create_index(
        op.f("ix_round_entry_changes_run_id"), "round_entry_changes", ["run_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_round_entry_changes_run_id"), table_name="round_entry_changes")
    op.drop_table("round_entry_changes")
    with op.batch_alter_table("inspection_rounds") as batch:
        for name in ("team", "assignee", "month_days", "weekdays", "repeat"):
            batch.drop_column(name)
    with op.batch_alter_table("pm_plans") as batch:
        batch.drop_column("rule")
