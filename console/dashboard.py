"""The dashboard: what needs the desk's attention today, at a glance.

Results accepted today and in the last 7 days by state, the signing queue's
depth and oldest wait, the results whose e-mail the mail server refused
(the desk's to-do list), the certificates the signer uses and the API keys
with the days they have left (a warning from 30 days), and a bar chart of
the results accepted each day of the last 14, drawn on the server as SVG.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from aiohttp import web
from sqlalchemy import Connection

from console.auth import staff_page
from console.context import CONSOLE
from console.pages import render
from plumbing.vietnam import VIETNAM_TIME
from registry import backoffice, jobs, outbox
from registry.apikeys import list_api_keys
from signer.api.health import EXPIRY_WARNING_DAYS

CHART_DAYS = 14
REFUSED_SHOWN = 10


@dataclass(frozen=True, slots=True)
class Expiry:
    label: str
    subject: str
    not_after: datetime
    days_left: int

    @property
    def warn(self) -> bool:
        return self.days_left < EXPIRY_WARNING_DAYS


@dataclass(frozen=True, slots=True)
class Bar:
    day: date
    count: int
    x: float
    height: float


def _start_of_day(now: datetime) -> datetime:
    local = now.astimezone(VIETNAM_TIME)
    return datetime.combine(local.date(), time(), VIETNAM_TIME)


def chart(counts: dict[date, int], today: date, days: int = CHART_DAYS) -> list[Bar]:
    """One bar a day, oldest first, heights scaled to the tallest (an empty day is 0)."""
    span = [today - timedelta(days=days - 1 - i) for i in range(days)]
    tallest = max([counts.get(d, 0) for d in span] + [1])
    return [
        Bar(d, counts.get(d, 0), x=i * 40.0, height=round(120 * counts.get(d, 0) / tallest, 1))
        for i, d in enumerate(span)
    ]


@staff_page()
async def dashboard(request: web.Request) -> web.StreamResponse:
    ctx = request.app[CONSOLE]
    signer = ctx.signer
    agencies = (signer.agency_code,)
    now = datetime.now(UTC)
    today = _start_of_day(now)
    week = today - timedelta(days=6)
    since = today - timedelta(days=CHART_DAYS - 1)

    def read(conn: Connection) -> dict[str, Any]:
        return {
            "today": backoffice.states_since(conn, agencies, today),
            "week": backoffice.states_since(conn, agencies, week),
            "queue": jobs.stats(conn),
            "refused": backoffice.refused(conn, agencies, REFUSED_SHOWN),
            "refused_count": backoffice.count_refused(conn, agencies),
            "per_day": backoffice.per_day(conn, agencies, since),
        }

    found = await signer.db.read(read)
    summaries = await signer.db.read(outbox.summaries, [r.id for r in found["refused"]])
    certificates = [
        Expiry(c.use, c.subject, c.not_after, (c.not_after - now).days)
        for c in signer.certificates
    ]
    keys = [
        Expiry("api_key", k.name, k.expires_at, (k.expires_at - now).days)
        for k in await list_api_keys(signer.db)
        if k.revoked_at is None and k.expires_at is not None
    ]
    bars = chart(found["per_day"], today.date())
    return render(
        request,
        "dashboard.html.j2",
        today=found["today"],
        week=found["week"],
        queue=found["queue"],
        refused=found["refused"],
        refused_count=found["refused_count"],
        summaries=summaries,
        certificates=certificates,
        keys=sorted(keys, key=lambda k: k.days_left),
        bars=bars,
        total=sum(b.count for b in bars),
        done=request.query.get("done"),
    )
