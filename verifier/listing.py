"""``GET /api/v1/published`` (JSON), ``/api/v1/published.atom`` (Atom) and the ``/ket-qua`` page.

Newest first, paged with a cursor (``before=<id>``, the ``next`` link),
filtered by ``agency``, ``procedure`` and a resolution period (``from`` /
``to``, days in Vietnam time). Every answer carries an ``ETag`` (a hash of
its bytes) and ``Cache-Control``, and ``If-None-Match`` gets a 304: the
portal can poll cheaply.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from aiohttp import web
from jinja2 import Environment

from plumbing.vietnam import VIETNAM_TIME
from registry.database import Database
from registry.ids import looks_like_id
from registry.listing import Filters, Listed, published
from verifier.fresh import Fresh
from verifier.query import bad, code, day, end_of, number, start_of
from verifier.texts import TEXTS, pick_language

MAX_LIMIT = 200
FEED_SIZE = 50
CACHE = "public, max-age=30"


def parse_filters(query: Mapping[str, str]) -> Filters:
    first, last = day(query, "from"), day(query, "to")
    if first is not None and last is not None and last < first:
        raise bad("to", "the period ends before it starts")
    return Filters(
        agency=code(query, "agency", "000.00.14.H49"),
        procedure=code(query, "procedure", "1.004227"),
        start=start_of(first),
        end=end_of(last),
    )


def item(listed: Listed) -> dict[str, Any]:
    return {
        "id": listed.id,
        "result_code": listed.result_code,
        "procedure": {"code": listed.procedure_code, "name": listed.procedure},
        "agency": {"code": listed.agency_code, "name": listed.agency},
        "applicant": listed.applicant,
        "resolved_on": listed.resolved_at.astimezone(VIETNAM_TIME).date().isoformat(),
        "timeliness": listed.timeliness,
        "published_at": (
            listed.signed_at.astimezone(VIETNAM_TIME).isoformat() if listed.signed_at else None
        ),
        "verification_url": listed.verification_url,
    }


def _cached(request: web.Request, body: bytes, content_type: str) -> web.Response:
    tag = f'"{hashlib.sha256(body).hexdigest()[:32]}"'
    headers = {"ETag": tag, "Cache-Control": CACHE, "Vary": "Accept-Language"}
    wanted = request.headers.get("If-None-Match", "")
    if tag in [t.strip().removeprefix("W/") for t in wanted.split(",")]:
        return web.Response(status=304, headers=headers)
    return web.Response(body=body, content_type=content_type, charset="utf-8", headers=headers)


@dataclass(frozen=True, slots=True)
class Listing:
    db: Database
    env: Environment
    public_url: str = ""
    answers: Fresh[tuple[bytes, str]] = field(default_factory=Fresh)

    async def _answer(self, request: web.Request, kind: str) -> web.Response:
        """The answer for this query, computed at most once a second (the portal polls)."""
        lang = pick_language(request.query.get("lang"), request.headers.get("Accept-Language"))
        key = (kind, request.path_qs, lang if kind == "page" else "")
        makers = {"json": self._json, "page": self._html, "atom": self._atom}
        body, content_type = await self.answers.get(key, lambda: makers[kind](request, lang))
        return _cached(request, body, content_type)

    async def json(self, request: web.Request) -> web.Response:
        return await self._answer(request, "json")

    async def page(self, request: web.Request) -> web.Response:
        return await self._answer(request, "page")

    async def atom(self, request: web.Request) -> web.Response:
        return await self._answer(request, "atom")

    async def _page(self, request: web.Request) -> tuple[list[Listed], str | None]:
        query = dict(request.query)
        filters = parse_filters(query)
        limit = number(query, "limit", 50, 1, MAX_LIMIT)
        before = query.get("before")
        if before is not None and not looks_like_id(before):
            raise bad("before", "must be a result id (the next link gives it)")
        rows = await self.db.read(published, filters, before=before, limit=limit + 1)
        more = len(rows) > limit
        rows = rows[:limit]
        next_link = None
        if more and rows:
            kept = {k: v for k, v in query.items() if k != "before"}
            next_link = f"{request.path}?{urlencode({**kept, 'before': rows[-1].id})}"
        return rows, next_link

    async def _json(self, request: web.Request, lang: str) -> tuple[bytes, str]:
        rows, next_link = await self._page(request)
        body = {"items": [item(r) for r in rows], "next": next_link}
        return json.dumps(body, ensure_ascii=False).encode(), "application/json"

    async def _html(self, request: web.Request, lang: str) -> tuple[bytes, str]:
        rows, next_link = await self._page(request)
        html = self.env.get_template("listing.html.j2").render(
            items=[item(r) for r in rows], next=next_link, lang=lang, t=TEXTS[lang]
        )
        return html.encode(), "text/html"

    async def _atom(self, request: web.Request, lang: str) -> tuple[bytes, str]:
        filters = parse_filters(dict(request.query))
        rows = await self.db.read(published, filters, before=None, limit=FEED_SIZE)
        updated = max((r.signed_at for r in rows if r.signed_at), default=None)
        xml = self.env.get_template("published.atom.j2").render(
            items=[item(r) for r in rows],
            updated=(updated or datetime.now(UTC)).astimezone(UTC).isoformat(),
            feed_id=f"{self.public_url}/api/v1/published.atom",
        )
        return xml.encode(), "application/atom+xml"
