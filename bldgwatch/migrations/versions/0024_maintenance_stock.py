"""maintenance: spare parts and stock (材料备品) — what parts fit, stores, stock, movements,
purchase requests

The `parts` list becomes the catalogue (a critical flag; the equipment a part fits in
`part_fits`); stock per store and part, every movement, and purchase requests with their
lines, owned by maintenance (`maintenance.stockmodels`). Bookings on orders keep `part_no`.

Revision ID: 0024_maintenance_stock
Revises: 0023_maintenance_contractors
Create Date: 2026-12-07 00:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0024_maintenance_stock"
down_revision = "0023_maintenance_contractors"
branch_labels = None
depends_on = None
OWNER = "maintenance"  # the package whose tables this step changes

WHEN = sa.DateTime(timezone=True)


def _fk(table: str, column: str, target: str, key: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.{key}"], name=op.f(f"fk_{table}_{column}_{target}")
    )


def upgrade() -> None:
    with op.batch_alter_table("parts", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("critical", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
    op.create_table(
        "part_fits",
        sa.Column("part_no", sa.String(64), nullable=False),
        sa.Column("equipment_type", sa.String(32), nullable=False),
        sa.Column("model", sa.String(200), nullable=False),
        _fk("part_fits", "part_no", "parts", "part_no"),
        sa.PrimaryKeyConstraint("part_no", "equipment_type", "model", name=op.f("pk_part_fits")),
    )
    op.create_table(
        "stores",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("site", sa.String(64), nullable=False),
        sa.Column("code", sa.String(32), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stores")),
        sa.UniqueConstraint("site", "code", name="uq_stores_site_code"),
    )
    op.create_index(op.f("ix_stores_site"), "stores", ["site"])
    op.create_table(
        "stock",
        sa.Column("store_id", sa.Integer(), nullable=False),
        sa.Column("part_no", sa.String(64), nullable=False),
        sa.Column("on_hand", sa.Float(), nullable=False),
        sa.Column("reserved", sa.Float(), nullable=False),
        sa.Column("minimum", sa.Float(), nullable=False),
        sa.Column("reorder_level", sa.Float(), nullable=False),
        sa.Column("updated_at", WHEN, nullable=False),
        _fk("stock", "store_id", "stores", "id"),
        _fk("stock", "part_no", "parts", "part_no"),
        sa.PrimaryKeyConstraint("store_id", "part_no", name=op.f("pk_stock")),
    )
    op.create_table(
        "stock_movements",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("store_id", sa.Integer(), nullable=False),
        sa.Column("part_no", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("quantity", sa.Float(), nullable=False),
        sa.Column("on_hand", sa.Float(), nullable=False),
        sa.Column("reserved", sa.Float(), nullable=False),
        sa.Column("at", WHEN, nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("work_order_id", sa.Integer(), nullable=True),
        sa.Column("booking_id", sa.Integer(), nullable=True),
        sa.Column("purchase_line_id", sa.Integer(), nullable=True),
        _fk("stock_movements", "store_id", "stores", "id"),
        _fk("stock_movements", "part_no", "parts", "part_no"),
        _fk("stock_movements", "work_order_id", "work_orders", "id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stock_movements")),
    )
    op.create_index("ix_stock_movements_store_part", "stock_movements", ["store_id", "part_no"])
    op.create_index(op.f("ix_stock_movements_work_order_id"), "stock_movements", ["work_order_id"])
    op.create_table(
        "purchase_requests",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("store_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("amount", sa.Float(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("decided_at", WHEN, nullable=True),
        sa.Column("decided_by", sa.String(64), nullable=True),
        _fk("purchase_requests", "store_id", "stores", "id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_purchase_requests")),
    )
    op.create_index(op.f("ix_purchase_requests_store_id"), "purchase_requests", ["store_id"])
    op.create_table(
        "purchase_lines",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("part_no", sa.String(64), nullable=False),
        sa.Column("quantity", sa.Float(), nullable=False),
        sa.Column("unit_cost", sa.Float(), nullable=False),
        sa.Column("received", sa.Float(), nullable=False),
        _fk("purchase_lines", "request_id", "purchase_requests", "id"),
        _fk("purchase_lines", "part_no", "parts", "part_no"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_purchase_lines")),
    )
    op.create_index(op.f("ix_purchase_lines_request_id"), "purchase_lines", ["request_id"])


def downgrade() -> None:
    op.drop_table("purchase_lines")
    op.drop_table("purchase_requests")
    op.drop_table("stock_movements")
    op.drop_table("stock")
    op.drop_table("stores")
    op.drop_table("part_fits")
    with op.batch_alter_table("parts", schema=None) as batch_op:
        batch_op.drop_column("critical")
