"""maintenance: the whole work-order life — since when a site is managed, texts as
messages, completion records, the parts list, contractor charges, attachments, follow-ups,
budgets with history,
KPI targets, monthly report runs, and the alarms an incident's order lists

`maintenance_budgets` (one amount per site and month) is replaced by `budget_entries` (per
site, building, year or month and category, with history). Nothing could write the old table
but code no user reached (no route or command set a budget), so it is dropped, not copied.

Revision ID: 0018_maintenance_work_life
Revises: 0017_rules_incident
Create Date: 2026-12-06 09:00:00

The site's time zone (and language) come from 0013_maintenance_site_locale.
"""

import sqlalchemy as sa
from alembic import op

revision = "0018_maintenance_work_life"
down_revision = "0017_rules_incident"
branch_labels = None
depends_on = None
OWNER = "maintenance"  # the package whose tables this step changes

WHEN = sa.DateTime(timezone=True)


def _order_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["work_order_id"], ["work_orders.id"], name=op.f(f"fk_{table}_work_order_id_work_orders")
    )


def _index(table: str, *columns: str, name: str | None = None) -> None:
    with op.batch_alter_table(table, schema=None) as batch_op:
        batch_op.create_index(name or batch_op.f(f"ix_{table}_{columns[0]}"), list(columns))


def _alter_columns() -> None:
    with op.batch_alter_table("sites", schema=None) as batch_op:
        batch_op.add_column(sa.Column("since", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("registered_at", WHEN, nullable=True))
    with op.batch_alter_table("work_orders", schema=None) as batch_op:
        batch_op.alter_column(
            "repair_class", type_=sa.String(16), existing_type=sa.String(8), existing_nullable=True
        )
        batch_op.add_column(sa.Column("texts", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("assign_note", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("cause_code", sa.String(32), nullable=True))
        batch_op.add_column(sa.Column("summary", sa.Text(), nullable=True))
    with op.batch_alter_table("work_order_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("kind", sa.String(16), nullable=True))
        batch_op.add_column(sa.Column("message", sa.JSON(), nullable=True))
    with op.batch_alter_table("incident_alarms", schema=None) as batch_op:
        batch_op.add_column(sa.Column("rule", sa.String(128), nullable=True))
        batch_op.add_column(sa.Column("fault_code", sa.String(64), nullable=True))
        batch_op.add_column(sa.Column("incident", sa.String(64), nullable=True))
        batch_op.add_column(sa.Column("priority", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("transition", sa.String(32), nullable=True))
        batch_op.add_column(sa.Column("state", sa.String(24), nullable=True))
        batch_op.add_column(sa.Column("value", sa.Float(), nullable=True))
    with op.batch_alter_table("work_order_parts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("unit", sa.String(16), nullable=True))
        batch_op.add_column(
            sa.Column("late", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    with op.batch_alter_table("work_order_labour", schema=None) as batch_op:
        batch_op.add_column(sa.Column("actor", sa.String(64), nullable=True))
        batch_op.add_column(
            sa.Column("late", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def _order_tables() -> None:
    op.create_table(
        "parts",
        sa.Column("part_no", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("unit", sa.String(16), nullable=False),
        sa.Column("unit_cost", sa.Float(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False, server_default=sa.true()),
        sa.Column("updated_at", WHEN, nullable=False),
        sa.Column("updated_by", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("part_no", name=op.f("pk_parts")),
    )
    op.create_table(
        "work_order_charges",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("work_order_id", sa.Integer(), nullable=False),
        sa.Column("contractor", sa.String(200), nullable=False),
        sa.Column("amount", sa.Float(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("at", WHEN, nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("late", sa.Boolean(), nullable=False),
        _order_fk("work_order_charges"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_work_order_charges")),
    )
    _index("work_order_charges", "work_order_id")
    op.create_table(
        "work_order_attachments",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("work_order_id", sa.Integer(), nullable=False),
        sa.Column("filename", sa.String(255), nullable=False),
        sa.Column("content_type", sa.String(100), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("stored_as", sa.String(64), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("at", WHEN, nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        _order_fk("work_order_attachments"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_work_order_attachments")),
        sa.UniqueConstraint("stored_as", name=op.f("uq_work_order_attachments_stored_as")),
    )
    _index("work_order_attachments", "work_order_id")
    op.create_table(
        "work_order_followups",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("work_order_id", sa.Integer(), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("satisfaction", sa.Integer(), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("at", WHEN, nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        _order_fk("work_order_followups"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_work_order_followups")),
    )
    _index("work_order_followups", "work_order_id")


def _plan_tables() -> None:
    op.drop_table("maintenance_budgets")
    op.create_table(
        "budget_entries",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("site", sa.String(64), nullable=False),
        sa.Column("building", sa.String(64), nullable=False),
        sa.Column("period", sa.String(7), nullable=False),
        sa.Column("category", sa.String(16), nullable=False),
        sa.Column("amount", sa.Float(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("at", WHEN, nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_budget_entries")),
    )
    _index("budget_entries", "site", "period", name="ix_budget_entries_site_period")
    op.create_table(
        "kpi_targets",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("site", sa.String(64), nullable=False),
        sa.Column("kpi", sa.String(32), nullable=False),
        sa.Column("target", sa.Float(), nullable=False),
        sa.Column("at", WHEN, nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kpi_targets")),
    )
    _index("kpi_targets", "site")
    op.create_table(
        "report_runs",
        sa.Column("site", sa.String(64), nullable=False),
        sa.Column("month", sa.String(7), nullable=False),
        sa.Column("started_at", WHEN, nullable=False),
        sa.Column("sent_at", WHEN, nullable=True),
        sa.Column("recipients", sa.JSON(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("site", "month", name=op.f("pk_report_runs")),
    )


def upgrade() -> None:
    _alter_columns()
    _order_tables()
    _plan_tables()


def downgrade() -> None:
    for table in (
        "report_runs",
        "kpi_targets",
        "budget_entries",
        "work_order_followups",
        "work_order_attachments",
        "work_order_charges",
        "parts",
    ):
        op.drop_table(table)
    op.create_table(
        "maintenance_budgets",
        sa.Column("site", sa.String(64), nullable=False),
        sa.Column("month", sa.String(7), nullable=False),
        sa.Column("amount", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("site", "month", name=op.f("pk_maintenance_budgets")),
    )
    drops = {
        "work_order_labour": ("late", "actor"),
        "work_order_parts": ("late", "unit"),
        "incident_alarms": (
            "value",
            "state",
            "transition",
            "priority",
            "incident",
            "fault_code",
            "rule",
        ),
        "work_order_events": ("message", "kind"),
        "work_orders": ("summary", "cause_code", "assign_note", "texts"),
        "sites": ("registered_at", "since"),
    }
    for table, columns in drops.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            for column in columns:
                batch_op.drop_column(column)
    with op.batch_alter_table("work_orders", schema=None) as batch_op:
        batch_op.alter_column(
            "repair_class", type_=sa.String(8), existing_type=sa.String(16), existing_nullable=True
        )
