"""maintenance: contractors (维保单位), their contracts and accounts; orders dispatched to one

Three tables owned by maintenance (`maintenance.contractormodels`), written only by
`maintenance.contractors`, and the dispatch columns of `work_orders`.

Revision ID: 0023_maintenance_contractors
Revises: 0022_maintenance_desk_requests
Create Date: 2026-12-06 21:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0023_maintenance_contractors"
down_revision = "0022_maintenance_desk_requests"
branch_labels = None
depends_on = None
OWNER = "maintenance"  # the package whose tables this step changes

WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "contractors",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("name", sa.Unicode(200), nullable=False),
        sa.Column("licence", sa.String(64), nullable=False),
        sa.Column("contact", sa.Unicode(100), nullable=False),
        sa.Column("phone", sa.String(32), nullable=False),
        sa.Column("on_call", sa.String(32), nullable=False),
        sa.Column("updated_at", WHEN, nullable=False),
        sa.Column("updated_by", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contractors")),
    )
    op.create_table(
        "contractor_contracts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("contractor", sa.String(64), nullable=False),
        sa.Column("site", sa.String(64), nullable=False),
        sa.Column("equipment_type", sa.String(32), nullable=False),
        sa.Column("scope", sa.Text(), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_to", sa.Date(), nullable=False),
        sa.Column("response_min", sa.Integer(), nullable=False),
        sa.Column("resolution_h", sa.Float(), nullable=False),
        sa.Column("updated_at", WHEN, nullable=False),
        sa.Column("updated_by", sa.String(64), nullable=False),
        sa.ForeignKeyConstraint(
            ["contractor"],
            ["contractors.id"],
            name=op.f("fk_contractor_contracts_contractor_contractors"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contractor_contracts")),
    )
    op.create_index(
        op.f("ix_contractor_contracts_contractor"), "contractor_contracts", ["contractor"]
    )
    op.create_index(
        "ix_contractor_contracts_site_type", "contractor_contracts", ["site", "equipment_type"]
    )
    op.create_table(
        "contractor_accounts",
        sa.Column("user", sa.String(64), nullable=False),
        sa.Column("contractor", sa.String(64), nullable=False),
        sa.ForeignKeyConstraint(
            ["contractor"],
            ["contractors.id"],
            name=op.f("fk_contractor_accounts_contractor_contractors"),
        ),
        sa.PrimaryKeyConstraint("user", name=op.f("pk_contractor_accounts")),
    )
    op.create_index(
        op.f("ix_contractor_accounts_contractor"), "contractor_accounts", ["contractor"]
    )
    with op.batch_alter_table("work_orders", schema=None) as batch_op:
        batch_op.add_column(sa.Column("contractor", sa.String(64), nullable=True))
        batch_op.add_column(sa.Column("contract_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("dispatched_at", WHEN, nullable=True))
        batch_op.create_index(batch_op.f("ix_work_orders_contractor"), ["contractor"])


def downgrade() -> None:
    with op.batch_alter_table("work_orders", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_work_orders_contractor"))
        batch_op.drop_column("dispatched_at")
        batch_op.drop_column("contract_id")
        batch_op.drop_column("contractor")
    op.drop_table("contractor_accounts")
    op.drop_table("contractor_contracts")
    op.drop_table("contractors")
