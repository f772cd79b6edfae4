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

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, func, select

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


def on_time(conn: Connection, agency: str | None, start: datetime, end: datetime) -> OnTime:
    """Results resolved in [start, end) (aware datetimes), of ``agency`` or of every agency."""
    standing = results.c.state.in_([s.value for s in COUNTED])
    last = (
        select(results.c.dossier_code, func.max(results.c.result_no).label("result_no"))
        .where(standing)
        .group_by(results.c.dossier_code)
        .subquery()
    )
    query = (
        select(results.c.timeliness, func.count())
        .join(
            last,
            (results.c.dossier_code == last.c.dossier_code)
            & (results.c.result_no == last.c.result_no),
        )
        .where(results.c.resolved_at >= start, results.c.resolved_at < end, standing)
        .group_by(results.c.timeliness)
    )
    if agency is not None:
        query = query.where(results.c.agency_code == agency)
    counts = {str(category): int(n) for category, n in conn.execute(query).tuples()}
    return OnTime(
        ahead=counts.get(Timeliness.AHEAD.value, 0),
        on_time=counts.get(Timeliness.ON_TIME.value, 0),
        late=counts.get(Timeliness.LATE.value, 0),
        no_due=counts.get(Timeliness.NO_DUE.value, 0),
    )
