"""Rendering a console page: the frame's values, the person's permissions, the error page.

Every page is ``no-store`` (it shows personal data) and carries the
security headers of the signer's application. A refusal (403, 404, 409,
413, 429, 5xx) reaches a browser as a page in its language that says what
happened and what to do next; the API's clients keep problem+json.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from console.auth import choose_language
from console.context import CONSOLE, LANG, SESSION
from console.texts import TEXTS
from plumbing.web.problems import Problem
from registry.staff import Action
from verifier.site import wants_html

# no-store: pages show personal data. same-origin: a browser then names this console as the
# Origin of its own forms (under no-referrer it sends "Origin: null", which is refused)
NO_STORE = {"Cache-Control": "no-store", "Referrer-Policy": "same-origin"}


def words(request: web.Request) -> dict[str, Any]:
    lang = request.get(LANG) or choose_language(request)
    return TEXTS[lang]


def render(request: web.Request, template: str, status: int = 200, **values: Any) -> web.Response:
    ctx = request.app[CONSOLE]
    lang = request.get(LANG) or choose_language(request)
    other = "en" if lang == "vi" else "vi"
    session = request.get(SESSION)
    user = session.user if session is not None else None
    keep = {k: v for k, v in request.query.items() if k not in ("lang", "done")}
    frame = {
        "lang": lang,
        "other": other,
        "t": TEXTS[lang],
        "switch_url": str(request.rel_url.with_query({**keep, "lang": other})),
        "path": request.path,
        "user": user,
        "csrf": session.csrf if session is not None else "",
        "may": {a.value: user is not None and user.role.may(a) for a in Action},
        "agency_code": ctx.signer.agency_code,
    }
    html = ctx.templates.get_template(template).render({**frame, **values})
    return web.Response(status=status, text=html, content_type="text/html", headers=NO_STORE)


def error_page(request: web.Request, problem: Problem) -> web.StreamResponse | None:
    """A refusal as a page, for a browser on the console's own paths."""
    if request.path.startswith("/api/") or not wants_html(request):
        return None
    if CONSOLE not in request.app:
        return None
    t = words(request)
    key = f"error_{problem.status}"
    if key not in t:
        key = "error_5xx" if problem.status >= 500 else "error_400"
    retry = problem.headers.get("Retry-After", "60")
    minutes = max(1, -(-int(retry) // 60)) if retry.isdigit() else 1
    response = render(
        request,
        "error.html.j2",
        status=problem.status,
        heading=t[key],
        what=t[f"{key}_what"],
        next=str(t[f"{key}_next"]).format(minutes=minutes),
        # the English page shows the service's own words too (they are in English)
        detail=problem.detail if request.get(LANG) == "en" and problem.status < 500 else None,
    )
    response.headers.update(problem.headers)
    return response
