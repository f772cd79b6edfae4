"""What every public page shares: the site's name and contact, the language, the frame.

The language: ``?lang=vi|en`` (remembered in a cookie for a year), else the
cookie, else the first language of ``Accept-Language``; Vietnamese unless
that is English. The switch on every page keeps the page's other query
parameters. ``Site`` is the operator's: the portal's name, the agency and
how to reach it, shown in each page's header and footer and in error pages.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from aiohttp import hdrs, web
from jinja2 import Environment

from plumbing.web.problems import Handler, Problem
from verifier.texts import LANGUAGES, TEXTS

LANG_COOKIE = "lang"
LANG_MAX_AGE = 365 * 24 * 3600


@dataclass(frozen=True, slots=True)
class Site:
    """The operator's words for the frame of every page (settings: portal_name, contact_*)."""

    name: str = "Tra cứu và xác minh kết quả giải quyết thủ tục hành chính"
    public_url: str = "http://127.0.0.1:8080"  # absolute links (the feed) start here, never Host
    agency: str | None = None
    phone: str | None = None
    email: str | None = None
    address: str | None = None


SITE = web.AppKey("site", Site)


def language(request: web.Request) -> str:
    chosen = request.query.get("lang")
    if chosen in LANGUAGES:
        return chosen
    remembered = _cookie(request)
    if remembered in LANGUAGES:
        return remembered
    first = request.headers.get("Accept-Language", "").split(",")[0].strip().lower()
    return "en" if first.startswith("en") else "vi"


def _cookie(request: web.Request) -> str | None:
    # parsing cookies costs microseconds even when there are none: most requests carry none
    if hdrs.COOKIE not in request.headers:
        return None
    return request.cookies.get(LANG_COOKIE)


def frame(
    request: web.Request, lang: str, keep: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """The values the layout needs: words, language and its switch, the site.

    ``keep``: the query parameters the language switch carries over (the page's
    own, as parsed; never the raw query, since answers are shared by many).
    """
    other = "en" if lang == "vi" else "vi"
    switch = request.rel_url.with_query({**(keep or {}), "lang": other})
    return {
        "lang": lang,
        "other": other,
        "t": TEXTS[lang],
        "switch_url": str(switch),
        "site": request.app[SITE] if SITE in request.app else Site(),
        "path": request.path,
    }


@web.middleware
async def remember_language(request: web.Request, handler: Handler) -> web.StreamResponse:
    """A language chosen with ``?lang=`` stays chosen on the next pages."""
    if "lang=" not in request.query_string:  # most requests: nothing to parse
        return await handler(request)
    response = await handler(request)
    chosen = request.query.get("lang")
    if chosen in LANGUAGES and _cookie(request) != chosen:
        response.set_cookie(
            LANG_COOKIE, chosen, max_age=LANG_MAX_AGE, path="/", samesite="Lax", httponly=True
        )
    return response


TEMPLATES = web.AppKey("templates", Environment)


def wants_html(request: web.Request) -> bool:
    """A browser's request: it asks for HTML before JSON (or problem+json)."""
    kinds = [
        part.split(";")[0].strip().lower() for part in request.headers.get("Accept", "").split(",")
    ]
    if "text/html" not in kinds:
        return False
    json_at = [
        kinds.index(k) for k in ("application/json", "application/problem+json") if k in kinds
    ]
    return not json_at or kinds.index("text/html") < min(json_at)


def error_page(request: web.Request, problem: Problem) -> web.StreamResponse | None:
    """The refusal as a page in the reader's language, saying what to do next."""
    if not wants_html(request) or TEMPLATES not in request.app:
        return None
    lang = language(request)
    values = frame(request, lang)
    # the switch leads home in the other language: the same address would refuse again
    values["switch_url"] = f"/?lang={values['other']}"
    t = values["t"]
    key = (
        f"error_{problem.status}"
        if f"error_{problem.status}" in t
        else ("error_5xx" if problem.status >= 500 else "error_400")
    )
    retry = problem.headers.get("Retry-After", "60")
    minutes = max(1, -(-int(retry) // 60)) if retry.isdigit() else 1
    values |= {
        "heading": t[key],
        "what": t[f"{key}_what"],
        "next": t[f"{key}_next"].format(minutes=minutes),
        "tone": "unknown" if problem.status < 500 else "invalid",
        # English only on the English page: the problem's detail is in English
        "detail": problem.detail if lang == "en" and problem.status < 500 else None,
    }
    html = request.app[TEMPLATES].get_template("error.html.j2").render(values)
    return web.Response(
        status=problem.status,
        text=html,
        content_type="text/html",
        headers={**problem.headers, "Cache-Control": "no-store", "Vary": "Accept"},
    )
