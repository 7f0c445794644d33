"""maintenance: emergency plans (应急预案), their saved versions, and drills (演练)

Three tables owned by maintenance (`maintenance.emergencymodels`), written only by
`maintenance.emergency` and `maintenance.drills`.

Revision ID: 0025_maintenance_emergency
Revises: 0024_maintenance_stock
Create Date: 2026-12-07 00:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0025_maintenance_emergency"
down_revision = "0024_maintenance_stock"
branch_labels = None
depends_on = None
OWNER = "maintenance"  # the package whose tables this step changes

WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "emergency_plans",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("site", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("title", sa.Unicode(200), nullable=False),
        sa.Column("roles", sa.JSON(), nullable=False),
        sa.Column("contacts", sa.JSON(), nullable=False),
        sa.Column("steps", sa.JSON(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", WHEN, nullable=False),
        sa.Column("updated_by", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_emergency_plans")),
        sa.UniqueConstraint("site", "kind", name="uq_emergency_plans_site_kind"),
    )
    op.create_index(op.f("ix_emergency_plans_site"), "emergency_plans", ["site"])
    op.create_table(
        "emergency_plan_revisions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("at", WHEN, nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("document", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["plan_id"],
            ["emergency_plans.id"],
            name=op.f("fk_emergency_plan_revisions_plan_id_emergency_plans"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_emergency_plan_revisions")),
    )
    op.create_index(
        op.f("ix_emergency_plan_revisions_plan_id"), "emergency_plan_revisions", ["plan_id"]
    )
    op.create_table(
        "drills",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("site", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("scheduled_at", WHEN, nullable=False),
        sa.Column("plan_version", sa.Integer(), nullable=True),
        sa.Column("steps", sa.JSON(), nullable=False),
        sa.Column("participants", sa.JSON(), nullable=False),
        sa.Column("findings", sa.Text(), nullable=False),
        sa.Column("actions", sa.JSON(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("recorded_at", WHEN, nullable=True),
        sa.Column("updated_at", WHEN, nullable=False),
        sa.Column("updated_by", sa.String(64), nullable=False),
        sa.ForeignKeyConstraint(
            ["plan_id"], ["emergency_plans.id"], name=op.f("fk_drills_plan_id_emergency_plans")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_drills")),
    )
    op.create_index(op.f("ix_drills_plan_id"), "drills", ["plan_id"])
    op.create_index(op.f("ix_drills_site"), "drills", ["site"])
    op.create_index(op.f("ix_drills_status"), "drills", ["status"])
    op.create_index(op.f("ix_drills_scheduled_at"), "drills", ["scheduled_at"])


def downgrade() -> None:
    op.drop_table("drills")
    op.drop_table("emergency_plan_revisions")
    op.drop_table("emergency_plans")
