"""maintenance: request points (QR codes) and the public repair requests sent from them

Two tables owned by maintenance (`maintenance.requestmodels`): the points the desk prints
as QR codes, and the requests anyone sends from them before the desk accepts (a work order),
declines or marks them as spam.

Revision ID: 0021_maintenance_public_requests
Revises: 0020_maintenance_complaints
Create Date: 2026-12-06 18:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0021_maintenance_public_requests"
down_revision = "0020_maintenance_complaints"
branch_labels = None
depends_on = None
OWNER = "maintenance"  # the package whose tables this step changes

WHEN = sa.DateTime(timezone=True)


def _index(table: str, column: str, *, unique: bool = False) -> None:
    with op.batch_alter_table(table, schema=None) as batch_op:
        batch_op.create_index(batch_op.f(f"ix_{table}_{column}"), [column], unique=unique)


def upgrade() -> None:
    op.create_table(
        "request_points",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("site", sa.String(64), nullable=False),
        sa.Column("code", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("label", sa.Unicode(200), nullable=False),
        sa.Column("building", sa.String(64), nullable=True),
        sa.Column("equipment", sa.String(64), nullable=True),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("retired_at", WHEN, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_request_points")),
        sa.UniqueConstraint("code", name=op.f("uq_request_points_code")),
    )
    _index("request_points", "site")
    op.create_table(
        "public_requests",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("point_id", sa.Integer(), nullable=False),
        sa.Column("site", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("category", sa.String(16), nullable=False),
        sa.Column("location", sa.Unicode(200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("phone", sa.String(32), nullable=True),
        sa.Column("language", sa.String(8), nullable=False),
        sa.Column("status_token_sha256", sa.String(64), nullable=False),
        sa.Column("photo_stored_as", sa.String(64), nullable=True),
        sa.Column("photo_type", sa.String(100), nullable=True),
        sa.Column("photo_size", sa.Integer(), nullable=True),
        sa.Column("photo_sha256", sa.String(64), nullable=True),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("decided_at", WHEN, nullable=True),
        sa.Column("decided_by", sa.String(64), nullable=True),
        sa.Column("decline_reason", sa.Text(), nullable=True),
        sa.Column("urgency", sa.String(16), nullable=True),
        sa.Column("work_order_id", sa.Integer(), nullable=True),
        sa.Column("rated_at", WHEN, nullable=True),
        sa.Column("rating", sa.Integer(), nullable=True),
        sa.Column("rating_comment", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["point_id"],
            ["request_points.id"],
            name=op.f("fk_public_requests_point_id_request_points"),
        ),
        sa.ForeignKeyConstraint(
            ["work_order_id"],
            ["work_orders.id"],
            name=op.f("fk_public_requests_work_order_id_work_orders"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_public_requests")),
        sa.UniqueConstraint(
            "status_token_sha256", name=op.f("uq_public_requests_status_token_sha256")
        ),
    )
    for column in ("point_id", "site", "status", "created_at", "work_order_id"):
        _index("public_requests", column)


def downgrade() -> None:
    op.drop_table("public_requests")
    op.drop_table("request_points")
