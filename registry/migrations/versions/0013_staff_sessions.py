"""the back office's sessions (a token's digest, its person, a CSRF token, two times), and
the audit trail's rows of console requests name the person

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from registry.schema import UtcDateTime

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "staff_sessions",
        sa.Column("token_sha256", sa.String(length=64), primary_key=True),
        sa.Column("staff_id", sa.String(length=26), sa.ForeignKey("staff.id"), nullable=False),
        sa.Column("csrf", sa.String(length=64), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("seen_at", UtcDateTime(), nullable=False),
    )
    op.create_index("ix_staff_sessions_staff_id", "staff_sessions", ["staff_id"])
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.add_column(sa.Column("staff_id", sa.String(length=26), nullable=True))
        batch_op.create_foreign_key("fk_audit_log_staff_id_staff", "staff", ["staff_id"], ["id"])


def downgrade() -> None:
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_constraint("fk_audit_log_staff_id_staff", type_="foreignkey")
        batch_op.drop_column("staff_id")
    op.drop_index("ix_staff_sessions_staff_id", table_name="staff_sessions")
    op.drop_table("staff_sessions")
