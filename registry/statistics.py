"""On-time statistics: results resolved in a period, by how they stood to their due date.

Counted: the results that stand (signed, published, delivered); a result
replaced by a correction counts through its correction, a revoked one not
at all. The category of each was fixed when it was accepted
(``registry.timeliness``), so a year's figures are one grouped count.
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
    query = (
        select(results.c.timeliness, func.count())
        .where(
            results.c.resolved_at >= start,
            results.c.resolved_at < end,
            results.c.state.in_([s.value for s in COUNTED]),
        )
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
