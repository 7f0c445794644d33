"""console: each user's preferences (language, audible alarm cue)

Revision ID: 0014_console_preferences
Revises: 0013_maintenance_site_locale
Create Date: 2026-12-06 10:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0014_console_preferences"
down_revision = "0013_maintenance_site_locale"
branch_labels = None
depends_on = None
OWNER = "console"  # the package whose tables this step changes


def upgrade() -> None:
    op.create_table(
        "console_preferences",
        sa.Column("user", sa.String(64), nullable=False),
        sa.Column("language", sa.String(8), nullable=True),
        sa.Column("muted", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("cue", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("user", name=op.f("pk_console_preferences")),
    )


def downgrade() -> None:
    op.drop_table("console_preferences")
