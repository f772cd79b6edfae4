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
from urllib.parse import urlencode, urlsplit

from aiohttp import web
from jinja2 import Environment

from plumbing.vietnam import VIETNAM_TIME
from registry.database import Database
from registry.ids import looks_like_id
from registry.listing import Filters, Listed, Withdrawn, procedures, published, withdrawn
from registry.states import ResultState
from verifier.fresh import Fresh
from verifier.query import bad, code, day, dossier, end_of, number, start_of
from verifier.site import SITE, Site, frame, language
from verifier.texts import REASONS

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
        dossier=dossier(query, "dossier"),
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
    headers = {"ETag": tag, "Cache-Control": CACHE, "Vary": "Accept-Language, Cookie"}
    wanted = request.headers.get("If-None-Match", "")
    if tag in [t.strip().removeprefix("W/") for t in wanted.split(",")]:
        return web.Response(status=304, headers=headers)
    return web.Response(body=body, content_type=content_type, charset="utf-8", headers=headers)


FILTERS = ("agency", "procedure", "dossier", "from", "to", "limit")


def filled(request: web.Request) -> dict[str, str]:
    """The page's query without the fields a form left empty (a form sends them all)."""
    return {k: v for k, v in request.query.items() if v.strip()}


def _first_page(path: str, keep: Mapping[str, str]) -> str:
    return f"{path}?{urlencode(keep)}" if keep else path


@dataclass(frozen=True, slots=True)
class Listing:
    db: Database
    env: Environment
    answers: Fresh[tuple[bytes, str]] = field(default_factory=Fresh)
    # the procedures to filter by: a grouped read of every listed result, made again in the
    # background (the old list given meanwhile) so that no page waits for it
    choices: Fresh[list[tuple[str, str]]] = field(
        default_factory=lambda: Fresh(seconds=60.0, stale=3600.0)
    )

    async def _answer(self, request: web.Request, kind: str) -> web.Response:
        """The answer for this query, computed at most once a second (the portal polls)."""
        lang = language(request)
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

    async def _page(
        self, request: web.Request, query: dict[str, str]
    ) -> tuple[list[Listed], str | None]:
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
        rows, next_link = await self._page(request, dict(request.query))
        body = {"items": [item(r) for r in rows], "next": next_link}
        return json.dumps(body, ensure_ascii=False).encode(), "application/json"

    async def _html(self, request: web.Request, lang: str) -> tuple[bytes, str]:
        query = filled(request)
        rows, next_link = await self._page(request, query)
        keep = {k: v for k, v in query.items() if k in FILTERS}
        choices = await self.choices.get("procedures", lambda: self.db.read(procedures))
        chosen = {k: v for k, v in keep.items() if k != "limit"}
        html = self.env.get_template("listing.html.j2").render(
            frame(request, lang, keep)
            | {
                "items": [item(r) for r in rows],
                "next": next_link,
                "first": _first_page(request.path, keep) if "before" in query else None,
                "procedures": choices,
                "chosen": chosen,
            }
        )
        return html.encode(), "text/html"

    async def _atom(self, request: web.Request, lang: str) -> tuple[bytes, str]:
        filters = parse_filters(dict(request.query))
        rows = await self.db.read(published, filters, before=None, limit=FEED_SIZE)
        gone = await self.db.read(withdrawn, filters, limit=FEED_SIZE)
        times = [r.signed_at for r in rows if r.signed_at] + [g.when for g in gone]
        updated = max(times, default=None) or datetime.now(UTC)
        site = request.app[SITE] if SITE in request.app else Site()
        base = site.public_url
        kept = {k: v for k, v in request.query.items() if k in FILTERS}
        xml = self.env.get_template("published.atom.j2").render(
            items=[item(r) for r in rows],
            gone=[_tombstone(g) for g in gone],
            updated=_utc(updated),
            feed_id=tag_uri(base, "published" + (f"?{urlencode(kept)}" if kept else "")),
            entry_id=lambda result_id: tag_uri(base, f"result:{result_id}"),
            self_url=f"{base}/api/v1/published.atom" + (f"?{urlencode(kept)}" if kept else ""),
            page_url=f"{base}/ket-qua",
            reasons=REASONS["vi"],
        )
        return xml.encode(), "application/atom+xml"


# RFC 4151: the authority is the portal's host name; the date, one on which the operator held it
# (a constant, so that ids never change; an id is an identity, not a link)
TAG_DATE = "2020"


def tag_uri(public_url: str, specific: str) -> str:
    host = urlsplit(public_url).hostname or "localhost"
    return f"tag:{host},{TAG_DATE}:ketqua:{specific}"


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _tombstone(gone: Withdrawn) -> dict[str, Any]:
    return {
        "id": gone.id,
        "when": _utc(gone.when),
        "revoked": gone.state is ResultState.REVOKED,
        "result_code": gone.result_code,
        "revocation_code": gone.revocation_code,
        "replaced_by": gone.replaced_by,
        "replaced_by_url": gone.replaced_by_url,
    }
