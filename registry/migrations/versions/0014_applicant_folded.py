"""the back office's search: results.applicant_folded (the applicant's name casefolded) and
indexes for an agency's newest results, its results since a day, and refused e-mails

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from registry.results import folded_applicant

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("results", sa.Column("applicant_folded", sa.String(length=200), nullable=True))
    op.create_index("ix_results_agency_id", "results", ["agency_code", "id"])
    op.create_index("ix_results_agency_created", "results", ["agency_code", "created_at"])
    op.create_index("ix_deliveries_state", "deliveries", ["state"])
    # the results accepted before: their name from the metadata they carry
    table = sa.table(
        "results",
        sa.column("id", sa.String()),
        sa.column("metadata_json", sa.Text()),
        sa.column("applicant_folded", sa.String()),
    )
    conn = op.get_bind()
    for row in conn.execute(sa.select(table.c.id, table.c.metadata_json)).all():
        conn.execute(
            table.update()
            .where(table.c.id == row.id)
            .values(applicant_folded=folded_applicant(row.metadata_json))
        )


def downgrade() -> None:
    op.drop_index("ix_deliveries_state", table_name="deliveries")
    op.drop_index("ix_results_agency_created", table_name="results")
    op.drop_index("ix_results_agency_id", table_name="results")
    with op.batch_alter_table("results", schema=None) as batch_op:
        batch_op.drop_column("applicant_folded")
