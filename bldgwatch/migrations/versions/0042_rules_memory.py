"""rules: what the learning rules learned, kept across restarts

One row per (site, equipment, rule) of a rule that learns what is normal — the night-flow and
off-hours baselines of a meter, a pump's early specific energy — as JSON, written by the
rules service and read at its start (review of issue 20, F5 and F9).

Revision ID: 0042_rules_memory
Revises: 0041_entrapment_drill_fixes
Create Date: 2026-12-07 13:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0042_rules_memory"
down_revision = "0041_entrapment_drill_fixes"
branch_labels = None
depends_on = None
OWNER = "rules"  # the package whose tables this step changes


def upgrade() -> None:
    op.create_table(
        "rule_memory",
        sa.Column("site", sa.String(64), nullable=False),
        sa.Column("equipment", sa.String(64), nullable=False),
        sa.Column("rule", sa.String(128), nullable=False),
        sa.Column("memory", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("site", "equipment", "rule", name=op.f("pk_rule_memory")),
    )


def downgrade() -> None:
    op.drop_table("rule_memory")
