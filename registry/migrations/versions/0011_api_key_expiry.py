"""API keys run out (expires_at) and say when they were last used (last_used_at)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from registry.schema import UtcDateTime

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # keys made before: no expiry (the operator sees "never" and may replace them)
    op.add_column("api_keys", sa.Column("expires_at", UtcDateTime(), nullable=True))
    op.add_column("api_keys", sa.Column("last_used_at", UtcDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.drop_column("last_used_at")
        batch_op.drop_column("expires_at")
