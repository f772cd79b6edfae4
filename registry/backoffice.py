"""What the back office reads of the registry: its search and its dashboard's counts.

Staff search newest first, by dossier, by the applicant's name (in full:
staff may read it; in any case: the name is kept casefolded beside the
metadata, ``results.applicant_folded``, since the databases' own lower()
folds only ASCII under a C collation), by state, by delivery state and by
the day a result was accepted.
The dashboard counts results by state since a moment, results per day in
Vietnam time, and the results whose e-mail was refused and not since sent.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, func, select

from registry.results import ResultRecord
from registry.schema import deliveries, results
from registry.states import DeliveryKind, DeliveryState, ResultState


@dataclass(frozen=True, slots=True)
class Search:
    """A search's narrowing; every field optional."""

    dossier_code: str | None = None
    applicant: str | None = None  # part of the name, any case
    state: ResultState | None = None
    delivery: DeliveryState | None = None
    start: datetime | None = None  # accepted at or after
    end: datetime | None = None  # accepted before


def search(
    conn: Connection, agencies: tuple[str, ...], narrowed: Search, before: str | None, limit: int
) -> list[ResultRecord]:
    """Up to ``limit`` results, newest first, older than the id ``before`` (the next page)."""
    agency: Any = results.c.agency_code
    if narrowed.dossier_code is not None:
        # a dossier has a few results: found by its own index, not by walking the agency's
        # newest first (a planner would take ix_results_agency_id for the ORDER BY)
        agency = func.coalesce(agency, "")
    query = select(results).where(agency.in_(agencies)).order_by(results.c.id.desc()).limit(limit)
    if before is not None:
        query = query.where(results.c.id < before)
    if narrowed.dossier_code is not None:
        query = query.where(results.c.dossier_code == narrowed.dossier_code)
    if narrowed.applicant:
        typed = unicodedata.normalize("NFC", narrowed.applicant).casefold()
        query = query.where(results.c.applicant_folded.like(f"%{_escaped(typed)}%", "\\"))
    if narrowed.state is not None:
        query = query.where(results.c.state == narrowed.state.value)
    if narrowed.delivery is not None:
        query = query.where(_has_delivery(narrowed.delivery))
    if narrowed.start is not None:
        query = query.where(results.c.created_at >= narrowed.start)
    if narrowed.end is not None:
        query = query.where(results.c.created_at < narrowed.end)
    return [ResultRecord.from_row(r) for r in conn.execute(query)]


def _escaped(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _has_delivery(state: DeliveryState) -> Any:
    # from the deliveries in that state (ix_deliveries_state): few when they are the refused
    return results.c.id.in_(
        select(deliveries.c.result_id).where(
            deliveries.c.kind == DeliveryKind.RESULT.value,
            deliveries.c.state == state.value,
        )
    )


def states_since(
    conn: Connection, agencies: tuple[str, ...], since: datetime
) -> dict[ResultState, int]:
    """Results accepted since ``since``, by the state they are in now (every state, 0s too)."""
    query = (
        select(results.c.state, func.count())
        .where(results.c.agency_code.in_(agencies), results.c.created_at >= since)
        .group_by(results.c.state)
    )
    counted = dict.fromkeys(ResultState, 0)
    for state, n in conn.execute(query).tuples():
        counted[ResultState(state)] = n
    return counted


def per_day(conn: Connection, agencies: tuple[str, ...], since: datetime) -> dict[date, int]:
    """Results accepted each day (Vietnam time) since ``since``; days without any are absent."""
    created = results.c.created_at
    if conn.dialect.name == "postgresql":
        day = func.to_char(func.timezone("Asia/Ho_Chi_Minh", created), "YYYY-MM-DD")
    else:
        day = func.strftime("%Y-%m-%d", created, "+7 hours")  # SQLite keeps UTC as naive text
    query = (
        select(day, func.count())
        .where(results.c.agency_code.in_(agencies), created >= since)
        .group_by(day)
    )
    return {date.fromisoformat(d): n for d, n in conn.execute(query).tuples()}


def refused(conn: Connection, agencies: tuple[str, ...], limit: int) -> list[ResultRecord]:
    """Issued results whose e-mail failed and that have not reached the applicant since,
    newest first: the desk's to-do list."""
    query = (
        select(results)
        .where(
            results.c.agency_code.in_(agencies),
            results.c.state.in_([ResultState.SIGNED.value, ResultState.PUBLISHED.value]),
            _has_delivery(DeliveryState.FAILED),
        )
        .order_by(results.c.id.desc())
        .limit(limit)
    )
    return [ResultRecord.from_row(r) for r in conn.execute(query)]


def count_refused(conn: Connection, agencies: tuple[str, ...]) -> int:
    query = select(func.count()).where(
        results.c.agency_code.in_(agencies),
        results.c.state.in_([ResultState.SIGNED.value, ResultState.PUBLISHED.value]),
        _has_delivery(DeliveryState.FAILED),
    )
    return int(conn.execute(query).scalar() or 0)
