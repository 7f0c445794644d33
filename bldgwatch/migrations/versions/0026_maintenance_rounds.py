"""maintenance: inspection rounds (巡检), checklist templates, runs, entries, scans; the
checklist of a preventive order

Tables owned by maintenance (`maintenance.roundmodels`), written only by
`maintenance.checklists`, `maintenance.rounds` and `maintenance.roundentries`.

Revision ID: 0026_maintenance_rounds
Revises: 0025_maintenance_emergency
Create Date: 2026-12-07 00:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0026_maintenance_rounds"
down_revision = "0025_maintenance_emergency"
branch_labels = None
depends_on = None
OWNER = "maintenance"  # the package whose tables this step changes

WHEN = sa.DateTime(timezone=True)


def _changed() -> list[sa.Column[object]]:
    return [
        sa.Column("updated_at", WHEN, nullable=False),
        sa.Column("updated_by", sa.String(64), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "checklist_templates",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("site", sa.String(64), nullable=False),
        sa.Column("name", sa.Unicode(200), nullable=False),
        sa.Column("equipment_type", sa.String(32), nullable=False),
        sa.Column("location", sa.Unicode(200), nullable=True),
        sa.Column("items", sa.JSON(), nullable=False),
        *_changed(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_checklist_templates")),
    )
    op.create_index(op.f("ix_checklist_templates_site"), "checklist_templates", ["site"])
    op.create_table(
        "inspection_rounds",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("site", sa.String(64), nullable=False),
        sa.Column("name", sa.Unicode(200), nullable=False),
        sa.Column("times", sa.JSON(), nullable=False),
        sa.Column("stops", sa.JSON(), nullable=False),
        sa.Column("late_after_min", sa.Integer(), nullable=False),
        sa.Column("missed_after_min", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        *_changed(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inspection_rounds")),
    )
    op.create_index(op.f("ix_inspection_rounds_site"), "inspection_rounds", ["site"])
    op.create_table(
        "round_runs",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("site", sa.String(64), nullable=False),
        sa.Column("due_at", WHEN, nullable=False),
        sa.Column("started_at", WHEN, nullable=False),
        sa.Column("started_by", sa.String(64), nullable=False),
        sa.Column("done_at", WHEN, nullable=True),
        sa.ForeignKeyConstraint(
            ["round_id"],
            ["inspection_rounds.id"],
            name=op.f("fk_round_runs_round_id_inspection_rounds"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_round_runs")),
        sa.UniqueConstraint("round_id", "due_at", name="uq_round_runs_round_due"),
    )
    op.create_index(op.f("ix_round_runs_round_id"), "round_runs", ["round_id"])
    op.create_table(
        "round_scans",
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("stop", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(32), nullable=False),
        sa.Column("scanned_at", WHEN, nullable=False),
        sa.Column("by", sa.String(64), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"], ["round_runs.id"], name=op.f("fk_round_scans_run_id_round_runs")
        ),
        sa.PrimaryKeyConstraint("run_id", "stop", name=op.f("pk_round_scans")),
    )
    op.create_table(
        "round_entries",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("stop", sa.Integer(), nullable=False),
        sa.Column("item", sa.String(64), nullable=False),
        sa.Column("value", sa.JSON(), nullable=True),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("recorded_at", WHEN, nullable=False),
        sa.Column("received_at", WHEN, nullable=False),
        sa.Column("by", sa.String(64), nullable=False),
        sa.Column("live_value", sa.Float(), nullable=True),
        sa.Column("disagrees", sa.Boolean(), nullable=True),
        sa.Column("work_order_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["run_id"], ["round_runs.id"], name=op.f("fk_round_entries_run_id_round_runs")
        ),
        sa.ForeignKeyConstraint(
            ["work_order_id"],
            ["work_orders.id"],
            name=op.f("fk_round_entries_work_order_id_work_orders"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_round_entries")),
        sa.UniqueConstraint("run_id", "stop", "item", name="uq_round_entries_run_stop_item"),
    )
    op.create_index(op.f("ix_round_entries_run_id"), "round_entries", ["run_id"])
    op.create_index(op.f("ix_round_entries_work_order_id"), "round_entries", ["work_order_id"])
    op.create_table(
        "order_checks",
        sa.Column("work_order_id", sa.Integer(), nullable=False),
        sa.Column("idx", sa.Integer(), nullable=False),
        sa.Column("text", sa.Unicode(500), nullable=False),
        sa.Column("done_at", WHEN, nullable=True),
        sa.Column("done_by", sa.String(64), nullable=True),
        sa.ForeignKeyConstraint(
            ["work_order_id"],
            ["work_orders.id"],
            name=op.f("fk_order_checks_work_order_id_work_orders"),
        ),
        sa.PrimaryKeyConstraint("work_order_id", "idx", name=op.f("pk_order_checks")),
    )


def downgrade() -> None:
    op.drop_table("order_checks")
    op.drop_table("round_entries")
    op.drop_table("round_scans")
    op.drop_table("round_runs")
    op.drop_table("inspection_rounds")
    op.drop_table("checklist_templates")
