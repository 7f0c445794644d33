"""console: gateway configurations pushed from the console, versioned

Each version of a gateway's configuration as edited in the console (or pushed by API): who,
when and why, the configuration itself, and when it was sent to the broker (issue 21, point
4). Versions count up per gateway; the gateway refuses one older than it has seen.

Revision ID: 0040_console_gateway_configs
Revises: 0039_pm_rule_round_repeat
Create Date: 2026-12-07 10:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0040_console_gateway_configs"
down_revision = "0039_pm_rule_round_repeat"
branch_labels = None
depends_on = None
OWNER = "console"  # the package whose tables this step changes


def upgrade() -> None:
    op.create_table(
        "console_gateway_configs",
        sa.Column("site", sa.String(64), nullable=False),
        sa.Column("gateway", sa.String(64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("config", sa.JSON(), nullable=False),
        sa.Column("author", sa.String(64), nullable=False),
        sa.Column("reason", sa.Unicode(500), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint(
            "site", "gateway", "version", name=op.f("pk_console_gateway_configs")
        ),
    )


def downgrade() -> None:
    op.drop_table("console_gateway_configs")
