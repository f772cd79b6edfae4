"""an index for the public listing: published results newest first, read in index order

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""

from __future__ import annotations

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_results_listing", "results", ["publish", "id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_results_listing", table_name="results")
