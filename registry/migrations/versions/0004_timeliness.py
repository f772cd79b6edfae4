"""results.timeliness (ahead / on_time / late / no_due) and an index for the statistics

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from registry.schema import UtcDateTime
from registry.timeliness import timeliness

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("results", sa.Column("timeliness", sa.String(length=8), nullable=True))
    op.create_index(
        "ix_results_agency_resolved", "results", ["agency_code", "resolved_at"], unique=False
    )
    # the results accepted before: their category from the dates they carry
    table = sa.table(
        "results",
        sa.column("id", sa.String()),
        sa.column("due_at", UtcDateTime()),
        sa.column("resolved_at", UtcDateTime()),
        sa.column("timeliness", sa.String()),
    )
    conn = op.get_bind()
    rows = conn.execute(sa.select(table.c.id, table.c.due_at, table.c.resolved_at)).all()
    for row in rows:
        conn.execute(
            table.update()
            .where(table.c.id == row.id)
            .values(timeliness=timeliness(row.resolved_at, row.due_at).value)
        )


def downgrade() -> None:
    op.drop_index("ix_results_agency_resolved", table_name="results")
    with op.batch_alter_table("results", schema=None) as batch_op:
        batch_op.drop_column("timeliness")
