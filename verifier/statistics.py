"""``GET /api/v1/statistics`` and the statistics page: the centre's on-time report.

A period is ``period=2022`` (a year), ``2022-Q1`` (a quarter), ``2022-03``
(a month), or ``from=YYYY-MM-DD&to=YYYY-MM-DD`` (both days included);
days are Vietnam's. ``agency=CODE`` narrows to one agency. The JSON carries
``resolved``, ``ahead``, ``on_time``, ``late``, ``no_due`` and ``rate`` (a
fraction, four decimals), the page the same with the rate as a percentage.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from aiohttp import web
from jinja2 import Environment

from plumbing.vietnam import VIETNAM_TIME
from plumbing.web.problems import Problem
from registry.database import Database
from registry.statistics import OnTime, on_time
from verifier.fresh import Fresh
from verifier.texts import pick_language

_PERIOD = re.compile(r"^(?P<year>\d{4})(?:-(?:Q(?P<quarter>[1-4])|(?P<month>0[1-9]|1[0-2])))?$")
_AGENCY = re.compile(r"^[0-9A-Za-z.]{1,20}$")


@dataclass(frozen=True, slots=True)
class Period:
    first: date
    last: date  # included

    def __post_init__(self) -> None:
        if self.last < self.first:
            raise ValueError("the period ends before it starts")

    @property
    def bounds(self) -> tuple[datetime, datetime]:
        start = datetime.combine(self.first, time(), VIETNAM_TIME)
        end = datetime.combine(self.last + timedelta(days=1), time(), VIETNAM_TIME)
        return start, end


def parse_period(query: dict[str, str]) -> Period:
    """The period a query names; a Problem naming the parameter if it names none."""
    if "period" in query:
        match = _PERIOD.match(query["period"])
        if not match:
            raise _bad("period", "use YYYY, YYYY-Qn or YYYY-MM (e.g. 2022-Q1)")
        year = int(match["year"])
        if match["quarter"]:
            first_month = 3 * (int(match["quarter"]) - 1) + 1
            return Period(date(year, first_month, 1), _month_end(year, first_month + 2))
        if match["month"]:
            month = int(match["month"])
            return Period(date(year, month, 1), _month_end(year, month))
        return Period(date(year, 1, 1), date(year, 12, 31))
    days = []
    for name in ("from", "to"):
        if name not in query:
            raise _bad(name, "give period=..., or both from= and to= (YYYY-MM-DD)")
        try:
            days.append(date.fromisoformat(query[name]))
        except ValueError:
            raise _bad(name, "must be a date, YYYY-MM-DD") from None
    try:
        return Period(days[0], days[1])
    except ValueError as exc:
        raise _bad("to", str(exc)) from None


def _month_end(year: int, month: int) -> date:
    following = date(year + month // 12, month % 12 + 1, 1)
    return following - timedelta(days=1)


def _bad(name: str, detail: str) -> Problem:
    return Problem(400, "bad-request", "Bad request", f"{name}: {detail}", field=name)


def report(agency: str | None, period: Period, counts: OnTime) -> dict[str, Any]:
    rate = counts.rate
    return {
        "agency": agency,
        "from": period.first.isoformat(),
        "to": period.last.isoformat(),
        "resolved": counts.resolved,
        "ahead": counts.ahead,
        "on_time": counts.on_time,
        "late": counts.late,
        "no_due": counts.no_due,
        "rate": round(rate, 4) if rate is not None else None,
        "rate_percent": f"{rate * 100:.2f}%" if rate is not None else None,
    }


@dataclass(frozen=True, slots=True)
class Statistics:
    db: Database
    env: Environment
    answers: Fresh[dict[str, Any]] = field(default_factory=lambda: Fresh(seconds=10.0))

    async def _figures(self, request: web.Request) -> dict[str, Any]:
        query = {k: v for k, v in request.query.items() if k != "lang"}
        key = tuple(sorted(query.items()))
        return await self.answers.get(key, lambda: self._count(query))

    async def _count(self, query: dict[str, str]) -> dict[str, Any]:
        agency = query.get("agency") or None
        if agency is not None and not _AGENCY.match(agency):
            raise _bad("agency", "an agency code, e.g. 000.18.27.H47")
        period = parse_period(query)
        counts = await self.db.read(on_time, agency, *period.bounds)
        return report(agency, period, counts)

    async def json(self, request: web.Request) -> web.Response:
        body = await self._figures(request)
        return web.json_response(body, headers={"Cache-Control": "public, max-age=60"})

    async def page(self, request: web.Request) -> web.Response:
        body = await self._figures(request)
        lang = pick_language(request.query.get("lang"), request.headers.get("Accept-Language"))
        html = self.env.get_template("statistics.html.j2").render(figures=body, lang=lang)
        return web.Response(
            text=html, content_type="text/html", headers={"Cache-Control": "public, max-age=60"}
        )
