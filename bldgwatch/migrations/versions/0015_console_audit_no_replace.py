"""console: the audit log refuses INSERT OR REPLACE on SQLite

SQLite's REPLACE conflict resolution deletes the row it replaces without firing DELETE
triggers (unless recursive_triggers is on), so `INSERT OR REPLACE INTO console_audit` with an
existing id rewrote an entry past the append-only triggers of 0010. An insert naming an id
that exists is now refused before the conflict is resolved. (PostgreSQL has no REPLACE; its
`ON CONFLICT DO UPDATE` fires the UPDATE trigger of 0010.)

Revision ID: 0015_console_audit_no_replace
Revises: 0014_console_preferences
Create Date: 2026-12-06 10:00:00
"""

from alembic import op

revision = "0015_console_audit_no_replace"
down_revision = "0014_console_preferences"
branch_labels = None
depends_on = None
OWNER = "console"  # the package whose tables this step changes

NO_REPLACE = (
    "CREATE TRIGGER console_audit_no_replace BEFORE INSERT ON console_audit "
    "WHEN EXISTS (SELECT 1 FROM console_audit WHERE id = NEW.id) "
    "BEGIN SELECT RAISE(ABORT, 'console_audit is append-only'); END"
)


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    op.execute(NO_REPLACE)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER console_audit_no_replace")
