"""maintenance: complaints (投诉) and their timeline

Two tables owned by maintenance (`maintenance.complaintmodels`), written only by
`maintenance.complaints`.

Revision ID: 0020_maintenance_complaints
Revises: 0019_maintenance_technicians
Create Date: 2026-12-06 18:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0020_maintenance_complaints"
down_revision = "0019_maintenance_technicians"
branch_labels = None
depends_on = None
OWNER = "maintenance"  # the package whose tables this step changes

WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "complaints",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("site", sa.String(64), nullable=False),
        sa.Column("building", sa.Unicode(64), nullable=False),
        sa.Column("room", sa.Unicode(64), nullable=False),
        sa.Column("household", sa.String(64), nullable=False),
        sa.Column("building_key", sa.String(64), nullable=False),
        sa.Column("complainant", sa.Unicode(100), nullable=True),
        sa.Column("phone", sa.String(32), nullable=True),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("category", sa.String(24), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("received_at", WHEN, nullable=False),
        sa.Column("logged_at", WHEN, nullable=False),
        sa.Column("logged_by", sa.String(64), nullable=False),
        sa.Column("handler", sa.String(64), nullable=True),
        sa.Column("response_due", WHEN, nullable=False),
        sa.Column("resolution_due", WHEN, nullable=False),
        sa.Column("responded_at", WHEN, nullable=True),
        sa.Column("resolved_at", WHEN, nullable=True),
        sa.Column("outcome", sa.String(24), nullable=True),
        sa.Column("outcome_note", sa.Text(), nullable=True),
        sa.Column("accepted", sa.Boolean(), nullable=True),
        sa.Column("work_order_id", sa.Integer(), nullable=True),
        sa.Column("equipment", sa.String(64), nullable=True),
        sa.Column("updated_at", WHEN, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["work_order_id"],
            ["work_orders.id"],
            name=op.f("fk_complaints_work_order_id_work_orders"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_complaints")),
    )
    op.create_index(op.f("ix_complaints_site"), "complaints", ["site"])
    op.create_index(op.f("ix_complaints_received_at"), "complaints", ["received_at"])
    op.create_index(op.f("ix_complaints_work_order_id"), "complaints", ["work_order_id"])
    op.create_index("ix_complaints_site_household", "complaints", ["site", "household"])
    op.create_table(
        "complaint_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("complaint_id", sa.Integer(), nullable=False),
        sa.Column("at", WHEN, nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("changes", sa.JSON(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["complaint_id"],
            ["complaints.id"],
            name=op.f("fk_complaint_events_complaint_id_complaints"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_complaint_events")),
    )
    op.create_index(op.f("ix_complaint_events_complaint_id"), "complaint_events", ["complaint_id"])


def downgrade() -> None:
    op.drop_table("complaint_events")
    op.drop_table("complaints")
