"""The public listing: published results, newest first, paged by a cursor.

Listed: results that stand and were published (``"publish": true``): a
result withdrawn from publication, revoked or replaced by a correction is
not. Each row carries public facts only; the applicant's name is masked
(``plumbing.masking.public_name``: a person masked, an organisation in full) before it leaves here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, select

from plumbing.masking import public_name
from registry.schema import results
from registry.states import ResultState

LISTED = (ResultState.PUBLISHED.value, ResultState.DELIVERED.value)


@dataclass(frozen=True, slots=True)
class Listed:
    id: str
    result_code: str
    procedure_code: str
    procedure: str
    agency_code: str
    agency: str
    applicant: str  # masked
    resolved_at: datetime
    timeliness: str | None
    signed_at: datetime | None
    verification_url: str | None


@dataclass(frozen=True, slots=True)
class Filters:
    agency: str | None = None
    procedure: str | None = None
    start: datetime | None = None  # resolved at or after
    end: datetime | None = None  # resolved before


def published(
    conn: Connection, filters: Filters, *, before: str | None, limit: int
) -> list[Listed]:
    """Up to ``limit`` listed results older than the id ``before`` (None: the newest)."""
    c = results.c
    query = (
        select(
            c.id,
            c.dossier_code,
            c.result_no,
            c.procedure_code,
            c.agency_code,
            c.metadata_json,
            c.resolved_at,
            c.timeliness,
            c.signed_at,
            c.seal_url,
        )
        .where(c.state.in_(LISTED), c.publish.is_(True))
        .order_by(c.id.desc())
        .limit(limit)
    )
    if before is not None:
        query = query.where(c.id < before)
    if filters.agency is not None:
        query = query.where(c.agency_code == filters.agency)
    if filters.procedure is not None:
        query = query.where(c.procedure_code == filters.procedure)
    if filters.start is not None:
        query = query.where(c.resolved_at >= filters.start)
    if filters.end is not None:
        query = query.where(c.resolved_at < filters.end)
    listed = []
    for row in conn.execute(query):
        metadata = json.loads(row.metadata_json)
        listed.append(
            Listed(
                id=row.id,
                result_code=f"{row.dossier_code}-KQ{row.result_no}",
                procedure_code=row.procedure_code,
                procedure=str(metadata["procedure"]["name"]),
                agency_code=row.agency_code,
                agency=str(metadata["agency"]["name"]),
                applicant=public_name(
                    str(metadata["applicant"]["name"]), metadata["applicant"].get("kind", "person")
                ),
                resolved_at=row.resolved_at,
                timeliness=row.timeliness,
                signed_at=row.signed_at,
                verification_url=row.seal_url,
            )
        )
    return listed
