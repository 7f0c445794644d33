"""maintenance: preventive plans, parts and labour, escalation, budgets, the PM scheduler's jobs

Revision ID: 0004_maintenance
Revises: 0004_rules
Create Date: 2026-11-27 18:10:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0004_maintenance"
down_revision = "0004_rules"
branch_labels = None
depends_on = None
OWNER = "maintenance"  # the package whose tables this step changes


def upgrade() -> None:
    with op.batch_alter_table("work_orders", schema=None) as batch_op:
        batch_op.add_column(sa.Column("pm_key", sa.String(200), nullable=True))
        batch_op.add_column(
            sa.Column("escalation_level", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(sa.Column("escalated_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("downtime_h", sa.Float(), nullable=True))
        batch_op.create_unique_constraint(batch_op.f("uq_work_orders_pm_key"), ["pm_key"])
    for table in ("work_order_parts", "work_order_labour"):
        extra: list[sa.Column[object]] = (
            [
                sa.Column("part_no", sa.String(64), nullable=False),
                sa.Column("description", sa.String(200), nullable=False),
                sa.Column("quantity", sa.Float(), nullable=False),
                sa.Column("unit_cost", sa.Float(), nullable=False),
                sa.Column("at", sa.DateTime(timezone=True), nullable=False),
                sa.Column("actor", sa.String(64), nullable=False),
            ]
            if table == "work_order_parts"
            else [
                sa.Column("technician", sa.String(64), nullable=False),
                sa.Column("hours", sa.Float(), nullable=False),
                sa.Column("rate", sa.Float(), nullable=False),
                sa.Column("at", sa.DateTime(timezone=True), nullable=False),
                sa.Column("note", sa.Text(), nullable=False),
            ]
        )
        op.create_table(
            table,
            sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
            sa.Column("work_order_id", sa.Integer(), nullable=False),
            *extra,
            sa.ForeignKeyConstraint(
                ["work_order_id"],
                ["work_orders.id"],
                name=op.f(f"fk_{table}_work_order_id_work_orders"),
            ),
            sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{table}")),
        )
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.create_index(
                batch_op.f(f"ix_{table}_work_order_id"), ["work_order_id"], unique=False
            )
    op.create_table(
        "pm_plan_state",
        sa.Column("plan_id", sa.String(64), nullable=False),
        sa.Column("site", sa.String(64), nullable=False),
        sa.Column("equipment", sa.String(64), nullable=False),
        sa.Column("last_due", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_step", sa.Integer(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("plan_id", "site", "equipment", name=op.f("pk_pm_plan_state")),
    )
    op.create_table(
        "maintenance_budgets",
        sa.Column("site", sa.String(64), nullable=False),
        sa.Column("month", sa.String(7), nullable=False),
        sa.Column("amount", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("site", "month", name=op.f("pk_maintenance_budgets")),
    )
    op.create_table(
        "pm_scheduler_jobs",
        sa.Column("id", sa.Unicode(191), nullable=False),
        sa.Column("next_run_time", sa.Float(25), nullable=True),
        sa.Column("job_state", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pm_scheduler_jobs")),
    )
    with op.batch_alter_table("pm_scheduler_jobs", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_pm_scheduler_jobs_next_run_time"), ["next_run_time"], unique=False
        )


def downgrade() -> None:
    op.drop_table("pm_scheduler_jobs")
    op.drop_table("maintenance_budgets")
    op.drop_table("pm_plan_state")
    op.drop_table("work_order_labour")
    op.drop_table("work_order_parts")
    with op.batch_alter_table("work_orders", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_work_orders_pm_key"), type_="unique")
        batch_op.drop_column("downtime_h")
        batch_op.drop_column("escalated_at")
        batch_op.drop_column("escalation_level")
        batch_op.drop_column("pm_key")
