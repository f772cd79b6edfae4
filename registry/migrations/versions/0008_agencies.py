"""the agency of each job (claims honour it) and the agencies an API key may act for

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("jobs", sa.Column("agency_code", sa.String(length=32), nullable=True))
    # the jobs queued before: the agency of their result
    op.execute(
        "UPDATE jobs SET agency_code = "
        "(SELECT results.agency_code FROM results WHERE results.id = jobs.result_id)"
    )
    # a key made before: NULL, "the agency of the signer it talks to" (README, API keys)
    op.add_column("api_keys", sa.Column("agencies", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.drop_column("agencies")
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_column("agency_code")
