"""maintenance: the ledger and the purchase requests paged newest first by time and number

A store's movements (`stock_movements`) and purchase requests (`purchase_requests`) are read a
page at a time after a position (time, number), newest first (review 19 stock L7, L9: they
stopped at 500 and 50 rows); an index on (store, time, number) each serves those reads.

Revision ID: 0033_maintenance_stock_paging
Revises: 0032_maintenance_rounds_plans
Create Date: 2026-12-07 07:00:00
"""

from alembic import op

revision = "0033_maintenance_stock_paging"
down_revision = "0032_maintenance_rounds_plans"
branch_labels = None
depends_on = None
OWNER = "maintenance"  # the package whose tables this step changes


def upgrade() -> None:
    op.create_index("ix_stock_movements_store_at", "stock_movements", ["store_id", "at", "id"])
    op.create_index(
        "ix_purchase_requests_store_created",
        "purchase_requests",
        ["store_id", "created_at", "id"],
    )


def downgrade() -> None:
    op.drop_index("ix_purchase_requests_store_created", table_name="purchase_requests")
    op.drop_index("ix_stock_movements_store_at", table_name="stock_movements")
