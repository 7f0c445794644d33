"""console: sessions with refresh-token families, user names unique without case, the audit log

Revision ID: 0010_console_security
Revises: 0009_maintenance_policy
Create Date: 2026-12-06 09:00:00
"""

import sqlalchemy as sa
from alembic import op

from bldgwatch.core.errors import ConfigError

revision = "0010_console_security"
down_revision = "0009_maintenance_policy"
branch_labels = None
depends_on = None
OWNER = "console"  # the package whose tables this step changes

APPEND_ONLY = "console_audit is append-only"

SQLITE_TRIGGERS = [
    f"CREATE TRIGGER console_audit_no_update BEFORE UPDATE ON console_audit "
    f"BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY}'); END",
    f"CREATE TRIGGER console_audit_no_delete BEFORE DELETE ON console_audit "
    f"BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY}'); END",
]
POSTGRES_TRIGGERS = [
    "CREATE FUNCTION console_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS "
    f"$$ BEGIN RAISE EXCEPTION '{APPEND_ONLY}'; END $$",
    "CREATE TRIGGER console_audit_no_change BEFORE UPDATE OR DELETE ON console_audit "
    "FOR EACH ROW EXECUTE FUNCTION console_audit_append_only()",
    "CREATE TRIGGER console_audit_no_truncate BEFORE TRUNCATE ON console_audit "
    "FOR EACH STATEMENT EXECUTE FUNCTION console_audit_append_only()",
]


def _refuse_names_differing_in_case() -> None:
    rows = op.get_bind().execute(sa.text("SELECT name FROM console_users")).scalars().all()
    seen: dict[str, list[str]] = {}
    for name in rows:
        seen.setdefault(str(name).lower(), []).append(str(name))
    clashes = sorted(" / ".join(sorted(names)) for names in seen.values() if len(names) > 1)
    if clashes:
        raise ConfigError(
            "console_users has user names that differ only in case ("
            + "; ".join(clashes)
            + "): user names are now unique without regard to case. Disable the extra "
            "accounts and rename them in the database, then start again."
        )


def upgrade() -> None:
    _refuse_names_differing_in_case()
    with op.batch_alter_table("console_users") as batch:
        batch.add_column(sa.Column("name_key", sa.String(64), nullable=True))
    op.execute("UPDATE console_users SET name_key = lower(name)")
    with op.batch_alter_table("console_users") as batch:
        batch.alter_column("name_key", existing_type=sa.String(64), nullable=False)
        batch.create_unique_constraint(op.f("uq_console_users_name_key"), ["name_key"])
    op.create_table(
        "console_sessions",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("user_name", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("refreshed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("address", sa.String(64), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_reason", sa.String(64), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_name"],
            ["console_users.name"],
            name=op.f("fk_console_sessions_user_name_console_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_console_sessions")),
    )
    op.create_index(op.f("ix_console_sessions_user_name"), "console_sessions", ["user_name"])
    op.create_table(
        "console_refresh_tokens",
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("session_id", sa.String(32), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["console_sessions.id"],
            name=op.f("fk_console_refresh_tokens_session_id_console_sessions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_console_refresh_tokens")),
    )
    op.create_index(
        op.f("ix_console_refresh_tokens_session_id"), "console_refresh_tokens", ["session_id"]
    )
    op.create_table(
        "console_audit",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("address", sa.String(64), nullable=False),
        sa.Column("action", sa.String(40), nullable=False),
        sa.Column("target", sa.String(200), nullable=False),
        sa.Column("site", sa.String(64), nullable=True),
        sa.Column("result", sa.String(16), nullable=False),
        sa.Column("status", sa.Integer(), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_console_audit")),
    )
    for column in ("at", "actor", "action", "site"):
        op.create_index(op.f(f"ix_console_audit_{column}"), "console_audit", [column])
    dialect = op.get_bind().dialect.name
    for statement in POSTGRES_TRIGGERS if dialect == "postgresql" else SQLITE_TRIGGERS:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TABLE console_audit")
        op.execute("DROP FUNCTION console_audit_append_only()")
    else:
        op.drop_table("console_audit")
    op.drop_table("console_refresh_tokens")
    op.drop_table("console_sessions")
    with op.batch_alter_table("console_users") as batch:
        batch.drop_constraint(op.f("uq_console_users_name_key"), type_="unique")
        batch.drop_column("name_key")
