"""console: users, API tokens, alarm comments

Revision ID: 0004_console
Revises: 0004_maintenance
Create Date: 2026-11-27 18:05:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0004_console"
down_revision = "0004_maintenance"
branch_labels = None
depends_on = None
OWNER = "console"  # the package whose tables this step changes


def upgrade() -> None:
    op.create_table(
        "console_users",
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("roles", sa.JSON(), nullable=False),
        sa.Column("sites", sa.JSON(), nullable=True),
        sa.Column("display_name", sa.String(200), nullable=False),
        sa.Column("disabled", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_console_users")),
    )
    op.create_table(
        "console_api_tokens",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("roles", sa.JSON(), nullable=False),
        sa.Column("sites", sa.JSON(), nullable=True),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_console_api_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_console_api_tokens_token_hash")),
    )
    op.create_table(
        "console_alarm_comments",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("alarm_id", sa.String(36), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_console_alarm_comments")),
    )
    op.create_index(
        op.f("ix_console_alarm_comments_alarm_id"), "console_alarm_comments", ["alarm_id"]
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_console_alarm_comments_alarm_id"), table_name="console_alarm_comments")
    op.drop_table("console_alarm_comments")
    op.drop_table("console_api_tokens")
    op.drop_table("console_users")
