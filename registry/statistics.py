"""On-time statistics: dossiers resolved in a period, by how they stood to their due date.

The province reports dossiers (hồ sơ), not documents, so the unit is the
dossier: each counts once, through the result of it that stands last (the
highest result number among those signed, published or delivered). So a
dossier whose KQ1 was corrected by KQ2 counts once, as KQ2 was resolved;
a dossier with two results that both stand counts once; a revoked result
counts not at all (if nothing else of its dossier stands, the dossier
leaves the figures: what was revoked was not a resolution). The category of
each result was fixed when it was accepted (``registry.timeliness``).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, Select, func, select

from registry.schema import results
from registry.states import ResultState
from registry.timeliness import Timeliness

COUNTED = tuple(state for state in ResultState if state.issued)


@dataclass(frozen=True, slots=True)
class OnTime:
    ahead: int
    on_time: int
    late: int
    no_due: int  # counted apart, left out of ``resolved`` and the rate

    @property
    def resolved(self) -> int:
        return self.ahead + self.on_time + self.late

    @property
    def rate(self) -> float | None:
        """(ahead + on time) / resolved; None when nothing was resolved."""
        return (self.ahead + self.on_time) / self.resolved if self.resolved else None

    @classmethod
    def of(cls, counts: Mapping[str, int]) -> OnTime:
        """From counts by ``registry.timeliness`` category."""
        return cls(
            ahead=counts.get(Timeliness.AHEAD.value, 0),
            on_time=counts.get(Timeliness.ON_TIME.value, 0),
            late=counts.get(Timeliness.LATE.value, 0),
            no_due=counts.get(Timeliness.NO_DUE.value, 0),
        )


def _counted(*columns: Any, agency: str | None, start: datetime, end: datetime) -> Select[Any]:
    """``columns`` of each dossier's last standing result resolved in [start, end)."""
    standing = results.c.state.in_([s.value for s in COUNTED])
    last = (
        select(results.c.dossier_code, func.max(results.c.result_no).label("result_no"))
        .where(standing)
        .group_by(results.c.dossier_code)
        .subquery()
    )
    query = (
        select(*columns)
        .join(
            last,
            (results.c.dossier_code == last.c.dossier_code)
            & (results.c.result_no == last.c.result_no),
        )
        .where(results.c.resolved_at >= start, results.c.resolved_at < end, standing)
    )
    if agency is not None:
        query = query.where(results.c.agency_code == agency)
    return query


def on_time(conn: Connection, agency: str | None, start: datetime, end: datetime) -> OnTime:
    """Results resolved in [start, end) (aware datetimes), of ``agency`` or of every agency."""
    query = _counted(
        results.c.timeliness, func.count(), agency=agency, start=start, end=end
    ).group_by(results.c.timeliness)
    return OnTime.of({str(category): int(n) for category, n in conn.execute(query).tuples()})


@dataclass(frozen=True, slots=True)
class Breakdown:
    """The same dossiers as ``on_time``, by month (Vietnam time) and by procedure."""

    months: tuple[tuple[date, OnTime], ...]  # the first day of each month, in order
    procedures: tuple[tuple[str, str, OnTime], ...]  # code, name, counts; most resolved first
    agencies: tuple[tuple[str, str], ...]  # code and name of each agency counted

    @property
    def total(self) -> OnTime:
        """What ``on_time`` counts for the same period: the months added up."""
        return OnTime(
            ahead=sum(m.ahead for _, m in self.months),
            on_time=sum(m.on_time for _, m in self.months),
            late=sum(m.late for _, m in self.months),
            no_due=sum(m.no_due for _, m in self.months),
        )


def breakdown(conn: Connection, agency: str | None, start: datetime, end: datetime) -> Breakdown:
    """Counted in the database, grouped by month, procedure, agency and category at once: what
    comes back is a few rows a month and procedure, never a row per dossier."""
    c = results.c
    month = _vietnam_month(conn, c.resolved_at).label("month")
    query = _counted(
        month,
        c.procedure_code,
        c.agency_code,
        c.timeliness,
        func.count(),
        agency=agency,
        start=start,
        end=end,
    ).group_by(month, c.procedure_code, c.agency_code, c.timeliness)
    months: dict[date, Counter[str]] = {}
    procedures: dict[str, Counter[str]] = {}
    agencies: set[str] = set()
    for yyyy_mm, procedure, agency_code, category, n in conn.execute(query).tuples():
        year, _, number = str(yyyy_mm).partition("-")
        months.setdefault(date(int(year), int(number), 1), Counter())[category] += n
        procedures.setdefault(procedure, Counter())[category] += n
        agencies.add(agency_code)
    procedure_names = _names(conn, c.procedure_code, set(procedures), "procedure")
    agency_names = _names(conn, c.agency_code, agencies, "agency")
    by_procedure = [
        (code, procedure_names.get(code, code), OnTime.of(counts))
        for code, counts in procedures.items()
    ]
    by_procedure.sort(key=lambda row: (-row[2].resolved, row[1]))
    return Breakdown(
        months=tuple((m, OnTime.of(months[m])) for m in sorted(months)),
        procedures=tuple(by_procedure),
        agencies=tuple(
            sorted(((a, agency_names.get(a, a)) for a in agencies), key=lambda p: p[1])
        ),
    )


def _vietnam_month(conn: Connection, column: Any) -> Any:
    """``YYYY-MM`` of a stored UTC time in Vietnam (UTC+7, no daylight saving), in SQL."""
    if conn.dialect.name == "postgresql":
        return func.to_char(func.timezone("Asia/Ho_Chi_Minh", column), "YYYY-MM")
    return func.strftime("%Y-%m", column, "+7 hours")  # SQLite keeps UTC as naive text


def _names(conn: Connection, column: Any, codes: set[str], part: str) -> dict[str, str]:
    """The name each code bears in its newest result's metadata (``procedure`` or ``agency``)."""
    if not codes:
        return {}
    newest = (
        select(column.label("code"), func.max(results.c.id).label("id"))
        .where(column.in_(sorted(codes)))
        .group_by(column)
        .subquery()
    )
    query = select(newest.c.code, results.c.metadata_json).join(
        newest, results.c.id == newest.c.id
    )
    return {
        str(code): str(json.loads(metadata)[part]["name"])
        for code, metadata in conn.execute(query).tuples()
    }
