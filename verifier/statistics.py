"""``GET /api/v1/statistics`` and the statistics page: the centre's on-time report.

A period is ``period=2022`` (a year), ``2022-Q1`` (a quarter), ``2022-03``
(a month), or ``from=YYYY-MM-DD&to=YYYY-MM-DD`` (both days included);
days are Vietnam's. ``agency=CODE`` narrows to one agency. The JSON carries
``resolved``, ``ahead``, ``on_time``, ``late``, ``no_due`` and ``rate`` (a
fraction, four decimals), the page the same with the rate as a percentage.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from aiohttp import web
from jinja2 import Environment

from registry.database import Database
from registry.statistics import OnTime, on_time
from verifier.fresh import Fresh
from verifier.query import FIRST_DAY, LAST_DAY, Days, bad, code, day
from verifier.texts import TEXTS, pick_language

_PERIOD = re.compile(r"(?P<year>\d{4})(?:-(?:Q(?P<quarter>[1-4])|(?P<month>0[1-9]|1[0-2])))?")


def parse_period(query: Mapping[str, str]) -> Days:
    """The period a query names; a Problem naming the parameter if it names none."""
    if "period" in query:
        match = _PERIOD.fullmatch(query["period"])
        if not match:
            raise bad("period", "use YYYY, YYYY-Qn or YYYY-MM (e.g. 2022-Q1)")
        year = int(match["year"])
        if not FIRST_DAY.year <= year <= LAST_DAY.year:
            raise bad("period", f"must be a year from {FIRST_DAY.year} to {LAST_DAY.year}")
        if match["quarter"]:
            first_month = 3 * (int(match["quarter"]) - 1) + 1
            return Days(date(year, first_month, 1), _month_end(year, first_month + 2))
        if match["month"]:
            month = int(match["month"])
            return Days(date(year, month, 1), _month_end(year, month))
        return Days(date(year, 1, 1), date(year, 12, 31))
    first, last = day(query, "from"), day(query, "to")
    if first is None or last is None:
        name = "from" if first is None else "to"
        raise bad(name, "give period=..., or both from= and to= (YYYY-MM-DD)")
    try:
        return Days(first, last)
    except ValueError as exc:
        raise bad("to", str(exc)) from None


def _month_end(year: int, month: int) -> date:
    following = date(year + month // 12, month % 12 + 1, 1)
    return following - timedelta(days=1)


def report(agency: str | None, period: Days, counts: OnTime) -> dict[str, Any]:
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
        # checked before the cache: an answer is kept under the question it answers,
        # not under whatever spelling of parameters a stranger sends
        query = request.query
        agency = code(query, "agency", "000.00.14.H49") or None
        period = parse_period(query)
        return await self.answers.get(
            (agency, period.first, period.last), lambda: self._count(agency, period)
        )

    async def _count(self, agency: str | None, period: Days) -> dict[str, Any]:
        counts = await self.db.read(on_time, agency, *period.bounds)
        return report(agency, period, counts)

    async def json(self, request: web.Request) -> web.Response:
        body = await self._figures(request)
        return web.json_response(body, headers={"Cache-Control": "public, max-age=60"})

    async def page(self, request: web.Request) -> web.Response:
        body = await self._figures(request)
        lang = pick_language(request.query.get("lang"), request.headers.get("Accept-Language"))
        html = self.env.get_template("statistics.html.j2").render(
            figures=body, lang=lang, t=TEXTS[lang]
        )
        return web.Response(
            text=html, content_type="text/html", headers={"Cache-Control": "public, max-age=60"}
        )
