"""maintenance: bookings are idempotent by the booker's key

Review 19g L7: a phone that retried a timed-out booking booked the labour twice. A booking may
carry an `Idempotency-Key`; the same key from the same person on the same order books once.

Revision ID: 0053_a19_booking_keys
Revises: 0052_a19_spot_in_store
Create Date: 2026-12-07 22:15:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0053_a19_booking_keys"
down_revision = "0052_a19_spot_in_store"
branch_labels = None
depends_on = None
OWNER = "maintenance"  # the package whose tables this step changes


def upgrade() -> None:
    op.create_table(
        "work_order_booking_keys",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("work_order_id", sa.Integer(), sa.ForeignKey("work_orders.id"), nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("key", sa.String(100), nullable=False),
        sa.Column("body_hash", sa.String(64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index(
        "ux_booking_keys_order_actor_key",
        "work_order_booking_keys",
        ["work_order_id", "actor", "key"],
        unique=True,
    )


def downgrade() -> None:
    op.drop_index("ux_booking_keys_order_actor_key", table_name="work_order_booking_keys")
    op.drop_table("work_order_booking_keys")
