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
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Any

from aiohttp import web
from jinja2 import Environment

from plumbing.vietnam import VIETNAM_TIME
from registry.database import Database
from registry.statistics import Breakdown, OnTime, breakdown, on_time
from verifier.fresh import Fresh
from verifier.query import FIRST_DAY, LAST_DAY, Days, bad, code, day
from verifier.site import frame, language
from verifier.texts import TEXTS

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


def this_quarter() -> Days:
    """The quarter today falls in, in Vietnam."""
    today = datetime.now(VIETNAM_TIME).date()
    first_month = 3 * ((today.month - 1) // 3) + 1
    return Days(date(today.year, first_month, 1), _month_end(today.year, first_month + 2))


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
    # a year's breakdown is a grouped count over every dossier of the year: made again in
    # the background while the last one is still given, so no visitor waits for it
    pages: Fresh[tuple[dict[str, Any], Breakdown]] = field(
        default_factory=lambda: Fresh(seconds=10.0, stale=60.0)
    )
    rendered: Fresh[bytes] = field(default_factory=lambda: Fresh(seconds=1.0))

    async def _figures(self, request: web.Request) -> dict[str, Any]:
        # checked before the cache: an answer is kept under the question it answers,
        # not under whatever spelling of parameters a stranger sends
        query = request.query
        agency = code(query, "agency", "000.00.14.H49") or None
        period = parse_period(query)  # an API client names its period; a visitor need not
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
        query = {k: v for k, v in request.query.items() if v.strip()}  # a form sends every field
        agency = code(query, "agency", "000.00.14.H49") or None
        asked = any(name in query for name in ("period", "from", "to"))
        period = parse_period(query) if asked else this_quarter()
        lang = language(request)
        keep: dict[str, str] = {
            k: query[k] for k in ("agency", "period", "from", "to") if k in query
        }
        # the page as rendered, under what it depends on (never the raw query)
        key = (agency, period.first, period.last, lang, tuple(sorted(keep.items())))
        html = await self.rendered.get(
            key, lambda: self._render(request, agency, period, lang, keep)
        )
        return web.Response(
            body=html,
            content_type="text/html",
            charset="utf-8",
            headers={"Cache-Control": "public, max-age=60", "Vary": "Accept-Language, Cookie"},
        )

    async def _render(
        self,
        request: web.Request,
        agency: str | None,
        period: Days,
        lang: str,
        keep: dict[str, str],
    ) -> bytes:
        figures, parts = await self.pages.get(
            (agency, period.first, period.last), lambda: self._page_figures(agency, period)
        )
        today = datetime.now(VIETNAM_TIME).date()
        html = self.env.get_template("statistics.html.j2").render(
            frame(request, lang, keep)
            | {
                "figures": figures,
                "parts": parts,
                "chart": chart(parts.months),
                "choices": _with_chosen(
                    period_choices(today, TEXTS[lang]), keep.get("period"), TEXTS[lang]
                ),
                "chosen": keep,
            }
        )
        return html.encode()

    async def _page_figures(
        self, agency: str | None, period: Days
    ) -> tuple[dict[str, Any], Breakdown]:
        # one grouped count gives the totals too (the same dossiers as the JSON's on_time)
        parts = await self.db.read(breakdown, agency, *period.bounds)
        figures = report(agency, period, parts.total)
        return figures, replace(parts, months=every_month(period, dict(parts.months)))


def period_choices(today: date, t: Mapping[str, str]) -> list[tuple[str, str]]:
    """The picker's periods, newest first: this and the last 7 quarters, 12 months, 3 years,
    each as (the ``period`` value, how it reads: "Quý 1/2022", "Tháng 03/2022", "Năm 2022")."""
    choices: list[tuple[str, str]] = []
    year, q = today.year, (today.month - 1) // 3 + 1
    for _ in range(8):
        choices.append((f"{year}-Q{q}", t["stats_quarter"].format(q=q, year=year)))
        year, q = (year, q - 1) if q > 1 else (year - 1, 4)
    year, month = today.year, today.month
    for _ in range(12):
        choices.append((f"{year}-{month:02d}", t["stats_month"].format(m=month, year=year)))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    choices.extend(
        (str(y), t["stats_year"].format(year=y)) for y in range(today.year, today.year - 3, -1)
    )
    return choices


MAX_MONTHS_SHOWN = 36


def every_month(period: Days, counted: Mapping[date, OnTime]) -> tuple[tuple[date, OnTime], ...]:
    """Each month of the period, those without a dossier at zero (up to three years' worth;
    a longer range shows only the months that have some)."""
    months: list[date] = []
    month = date(period.first.year, period.first.month, 1)
    while month <= period.last and len(months) < MAX_MONTHS_SHOWN:
        months.append(month)
        month = date(month.year + month.month // 12, month.month % 12 + 1, 1)
    if month <= period.last:  # longer than three years
        return tuple(sorted(counted.items()))
    nothing = OnTime(0, 0, 0, 0)
    return tuple((m, counted.get(m, nothing)) for m in months)


def period_label(value: str, t: Mapping[str, str]) -> str:
    """A ``period`` value (already checked) as the picker says it."""
    match = _PERIOD.fullmatch(value)
    assert match is not None
    year = int(match["year"])
    if match["quarter"]:
        return t["stats_quarter"].format(q=int(match["quarter"]), year=year)
    if match["month"]:
        return t["stats_month"].format(m=int(match["month"]), year=year)
    return t["stats_year"].format(year=year)


def _with_chosen(
    choices: list[tuple[str, str]], chosen: str | None, t: Mapping[str, str]
) -> list[tuple[str, str]]:
    """The picker's periods, with an older one that was asked for shown first."""
    if chosen is None or any(value == chosen for value, _ in choices):
        return choices
    return [(chosen, period_label(chosen, t)), *choices]


@dataclass(frozen=True, slots=True)
class Bar:
    label: str  # under the bar: as much of mm/yyyy as fits
    month: str  # mm/yyyy, in the bar's tooltip
    x: float
    width: float
    kept_y: float  # ahead of time and on time: the lower part of the bar
    kept_height: float
    late_y: float
    late_height: float
    kept: int
    late: int


CHART_HEIGHT = 160.0
CHART_WIDTH = 600.0


def chart(months: tuple[tuple[date, OnTime], ...]) -> list[Bar]:
    """Bars for the inline SVG chart, one a month (kept on time below, late on top)."""
    if not months:
        return []
    tallest = max(counts.resolved for _, counts in months) or 1
    slot = CHART_WIDTH / len(months)
    width = min(60.0, slot * 0.6)
    one_year = len({month.year for month, _ in months}) == 1
    # labels that fit under their bars: mm/yyyy for a few months, mm within one year,
    # and every third month (a quarter's first) of a longer range, as mm/yy
    every = 1 if len(months) <= 12 else 3
    bars = []
    for i, (month, counts) in enumerate(months):
        if len(months) <= 6:
            label = f"{month.month:02d}/{month.year}"
        elif one_year:
            label = f"{month.month:02d}"
        else:
            label = f"{month.month:02d}/{month.year % 100:02d}" if i % every == 0 else ""
        kept = counts.ahead + counts.on_time
        kept_height = CHART_HEIGHT * kept / tallest
        late_height = CHART_HEIGHT * counts.late / tallest
        bars.append(
            Bar(
                label=label,
                month=f"{month.month:02d}/{month.year}",
                x=i * slot + (slot - width) / 2,
                width=width,
                kept_y=CHART_HEIGHT - kept_height,
                kept_height=kept_height,
                late_y=CHART_HEIGHT - kept_height - late_height,
                late_height=late_height,
                kept=kept,
                late=counts.late,
            )
        )
    return bars
