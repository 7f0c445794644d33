"""maintenance: each site's time zone and default language; work-order titles as messages

Revision ID: 0013_maintenance_site_locale
Revises: 0012_rules_alarm_texts
Create Date: 2026-12-06 09:30:00

Sites gain `timezone` (IANA, default Asia/Shanghai) and `language` (zh-CN or en, default
zh-CN), imported from the site file. Work orders made from alarms keep their English `title`
and gain `title_key` + `title_params`, rendered in the reader's language; orders made before
this step (and requests, PM orders) have none and show their title as written.
"""

import sqlalchemy as sa
from alembic import op

revision = "0013_maintenance_site_locale"
down_revision = "0012_rules_alarm_texts"
branch_labels = None
depends_on = None
OWNER = "maintenance"  # the package whose tables this step changes


def upgrade() -> None:
    with op.batch_alter_table("sites", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("timezone", sa.String(64), nullable=False, server_default="Asia/Shanghai")
        )
        batch_op.add_column(
            sa.Column("language", sa.String(8), nullable=False, server_default="zh-CN")
        )
    with op.batch_alter_table("work_orders", schema=None) as batch_op:
        batch_op.add_column(sa.Column("title_key", sa.String(128), nullable=True))
        batch_op.add_column(sa.Column("title_params", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("work_orders", schema=None) as batch_op:
        batch_op.drop_column("title_params")
        batch_op.drop_column("title_key")
    with op.batch_alter_table("sites", schema=None) as batch_op:
        batch_op.drop_column("language")
        batch_op.drop_column("timezone")
