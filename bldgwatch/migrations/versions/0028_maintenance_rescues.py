"""maintenance: one rescue per entrapment alarm (review 19d H3)

A second entrapment alarm on an order still open (or reopened within the window) is a rescue
of its own, timed from its own alarm and released on its own. Table owned by maintenance
(`maintenance.emergencymodels`), written only by `maintenance.entrapments`. Orders from before
this step have no rows: their one rescue is read from the order (and stored at its release).

Revision ID: 0028_maintenance_rescues
Revises: 0027_maintenance_round_snapshots
Create Date: 2026-12-07 03:20:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0028_maintenance_rescues"
down_revision = "0027_maintenance_round_snapshots"
branch_labels = None
depends_on = None
OWNER = "maintenance"  # the package whose tables this step changes

WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "entrapment_rescues",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("work_order_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("alarm_id", sa.String(36), nullable=True),
        sa.Column("alarm_at", WHEN, nullable=False),
        sa.Column("released_at", WHEN, nullable=True),
        sa.Column("released_by", sa.String(64), nullable=True),
        sa.ForeignKeyConstraint(
            ["work_order_id"],
            ["work_orders.id"],
            name=op.f("fk_entrapment_rescues_work_order_id_work_orders"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_entrapment_rescues")),
        sa.UniqueConstraint("work_order_id", "seq", name="uq_entrapment_rescues_order_seq"),
    )
    op.create_index(
        op.f("ix_entrapment_rescues_work_order_id"), "entrapment_rescues", ["work_order_id"]
    )
    op.create_index(op.f("ix_entrapment_rescues_alarm_at"), "entrapment_rescues", ["alarm_at"])


def downgrade() -> None:
    op.drop_table("entrapment_rescues")
