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

from sqlalchemy import Connection, func, select

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
    dossier: str | None = None
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
    if filters.dossier is not None:
        query = query.where(c.dossier_code == filters.dossier)
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


def procedures(conn: Connection) -> list[tuple[str, str]]:
    """Each procedure with a listed result, as (code, name), by name: the listing's filter."""
    c = results.c
    newest = (
        select(c.procedure_code, func.max(c.id).label("id"))
        .where(c.state.in_(LISTED), c.publish.is_(True))
        .group_by(c.procedure_code)
        .subquery()
    )
    query = select(c.procedure_code, c.metadata_json).join(newest, c.id == newest.c.id)
    named = [
        (row.procedure_code, str(json.loads(row.metadata_json)["procedure"]["name"]))
        for row in conn.execute(query)
    ]
    return sorted(named, key=lambda pair: (pair[1], pair[0]))


@dataclass(frozen=True, slots=True)
class Withdrawn:
    """A published result no longer standing: revoked, or replaced by a correction."""

    id: str
    result_code: str
    state: ResultState
    when: datetime  # when it stopped standing
    revocation_code: str | None
    replaced_by: str | None  # the correction's result code
    replaced_by_url: str | None  # ... and its verification page


def withdrawn(conn: Connection, filters: Filters, *, limit: int) -> list[Withdrawn]:
    """The ``limit`` published results withdrawn last (the feed's deleted entries)."""
    c = results.c
    new = results.alias("new")
    query = (
        select(
            c.id,
            c.dossier_code,
            c.result_no,
            c.state,
            c.updated_at,
            c.revocation_code,
            new.c.result_no.label("new_no"),
            new.c.seal_url.label("new_url"),
        )
        .outerjoin(new, new.c.id == c.superseded_by)
        .where(
            c.state.in_((ResultState.REVOKED.value, ResultState.SUPERSEDED.value)),
            c.publish.is_(True),
            c.signed_at.is_not(None),
        )
        .order_by(c.updated_at.desc(), c.id.desc())
        .limit(limit)
    )
    if filters.agency is not None:
        query = query.where(c.agency_code == filters.agency)
    if filters.procedure is not None:
        query = query.where(c.procedure_code == filters.procedure)
    return [
        Withdrawn(
            id=row.id,
            result_code=f"{row.dossier_code}-KQ{row.result_no}",
            state=ResultState(row.state),
            when=row.updated_at,
            revocation_code=row.revocation_code,
            replaced_by=f"{row.dossier_code}-KQ{row.new_no}" if row.new_no is not None else None,
            replaced_by_url=row.new_url,
        )
        for row in conn.execute(query)
    ]
