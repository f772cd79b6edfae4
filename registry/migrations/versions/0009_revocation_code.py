"""the public reason of a revocation, from a fixed list (the free text stays internal)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("results", sa.Column("revocation_code", sa.String(length=32), nullable=True))
    # revoked before the list existed: the clerk's text may name people, so it is not shown
    op.execute("UPDATE results SET revocation_code = 'other' WHERE state = 'revoked'")


def downgrade() -> None:
    with op.batch_alter_table("results", schema=None) as batch_op:
        batch_op.drop_column("revocation_code")
