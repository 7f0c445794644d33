"""maintenance: entrapments reported by phone; drill corrections and voiding

An entrapment reported by phone (no IoT alarm) is recorded by hand: its rescue names who
recorded it (`entrapment_rescues.reported_by`, review 19c-d M5). A recorded drill may be
corrected or voided with a reason: `drills.corrections` counts them (the compare-and-set of
two editors) and `drill_corrections` keeps who, when, why and what changed (M13). A purchase
request's rejection says why (`purchase_requests.decision_note`, review 19c-s L4).

Revision ID: 0041_entrapment_drill_fixes
Revises: 0040_console_gateway_configs
Create Date: 2026-12-07 10:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0041_entrapment_drill_fixes"
down_revision = "0040_console_gateway_configs"
branch_labels = None
depends_on = None
OWNER = "maintenance"  # the package whose tables this step changes
WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("entrapment_rescues") as batch:
        batch.add_column(sa.Column("reported_by", sa.String(64), nullable=True))
    with op.batch_alter_table("drills") as batch:
        batch.add_column(sa.Column("corrections", sa.Integer, nullable=False, server_default="0"))
    op.create_table(
        "drill_corrections",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("drill_id", sa.Integer, sa.ForeignKey("drills.id"), nullable=False),
        sa.Column("kind", sa.String(12), nullable=False),
        sa.Column("at", WHEN, nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("changes", sa.JSON, nullable=False),
    )
    op.create_index("ix_drill_corrections_drill_id", "drill_corrections", ["drill_id"])
    with op.batch_alter_table("purchase_requests") as batch:
        batch.add_column(sa.Column("decision_note", sa.Text, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("purchase_requests") as batch:
        batch.drop_column("decision_note")
    op.drop_index("ix_drill_corrections_drill_id", table_name="drill_corrections")
    op.drop_table("drill_corrections")
    with op.batch_alter_table("drills") as batch:
        batch.drop_column("corrections")
    with op.batch_alter_table("entrapment_rescues") as batch:
        batch.drop_column("reported_by")
