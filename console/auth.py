"""Who is asking, and may they: sessions in cookies, CSRF tokens, roles, all on the server.

Every console handler is wrapped by ``staff_page(action)``. It finds the
session from the cookie (``registry.staff.session_for``: idle and absolute
expiry), sends a stranger or an expired session to the login page with the
page they wanted, sends an account with an initial password to change it,
and refuses (403) what the account's role may not do. A form's POST must
carry the session's CSRF token (``checked``), and a browser's ``Origin``,
when it sends one, must be this console. The cookie is ``HttpOnly``,
``SameSite=Strict``, path ``/`` and ``Secure`` when the console is reached
over https (directly, or through a trusted proxy saying so).
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable, Mapping
from urllib.parse import quote, urlsplit

from aiohttp import hdrs, web

from console.context import CONSOLE, LANG, SESSION
from console.texts import TEXTS
from plumbing.web.forms import read_form
from plumbing.web.problems import Problem, status_of
from registry.staff import Action, Session, session_for
from signer.api.app import audit as signer_audit
from verifier.site import LANG_COOKIE, LANG_MAX_AGE, language

SESSION_COOKIE = "ketqua_console"
LOGIN_COOKIE = "ketqua_login"  # the login form's CSRF token, before there is a session

Page = Callable[[web.Request], Awaitable[web.StreamResponse]]


def secure(request: web.Request) -> bool:
    """Whether the browser reached the console over https."""
    if request.secure:
        return True
    clients = request.app[CONSOLE].clients
    return clients.is_proxy(request) and request.headers.get("X-Forwarded-Proto") == "https"


def cookie_name(request: web.Request, base: str) -> str:
    """``__Host-`` names under https: no sibling host (the public portal's, say) can set them."""
    return f"__Host-{base}" if secure(request) else base


def read_cookie(request: web.Request, base: str) -> str:
    return request.cookies.get(cookie_name(request, base), "")


def set_cookie(request: web.Request, response: web.StreamResponse, base: str, value: str) -> None:
    # no Max-Age: the browser forgets it when it closes; the server ends it sooner
    response.set_cookie(
        cookie_name(request, base),
        value,
        path="/",
        httponly=True,
        samesite="Strict",
        secure=secure(request),
    )


def forget_cookie(request: web.Request, response: web.StreamResponse, base: str) -> None:
    response.del_cookie(
        cookie_name(request, base), path="/", secure=secure(request), samesite="Strict"
    )


def choose_language(request: web.Request) -> str:
    lang = language(request)
    request[LANG] = lang
    return lang


def remember(request: web.Request, response: web.StreamResponse) -> web.StreamResponse:
    """A language chosen with ``?lang=`` stays chosen (the public pages' cookie)."""
    chosen = request.query.get("lang")
    if chosen in TEXTS and request.cookies.get(LANG_COOKIE) != chosen:
        response.set_cookie(
            LANG_COOKIE, chosen, max_age=LANG_MAX_AGE, path="/", samesite="Lax", httponly=True
        )
    return response


def login_url(request: web.Request, reason: str | None = None) -> str:
    target = request.path_qs if request.method == hdrs.METH_GET else "/"
    url = f"/login?next={quote(target, safe='')}"
    return url + (f"&why={reason}" if reason else "")


def same_origin(request: web.Request) -> bool:
    """A POST from this console's own pages: no Origin header (an older browser, a tool),
    or one naming this host."""
    origin = request.headers.get(hdrs.ORIGIN)
    if origin is None:
        return True
    if origin == "null":
        return False
    return urlsplit(origin).netloc == request.host


def staff_page(action: Action | None = None) -> Callable[[Page], Page]:
    """A console handler: a live session, a password of the person's own, the ``action``'s
    permission, and for a POST its origin (its CSRF token: ``checked``)."""

    def wrap(handler: Page) -> Page:
        async def page(request: web.Request) -> web.StreamResponse:
            choose_language(request)
            ctx = request.app[CONSOLE]
            token = read_cookie(request, SESSION_COOKIE)
            session = None
            if token:
                session = await session_for(
                    ctx.signer.db, token, idle=ctx.idle, absolute=ctx.absolute
                )
            if session is None:
                to_login = web.HTTPSeeOther(login_url(request, "expired" if token else None))
                if token:
                    forget_cookie(request, to_login, SESSION_COOKIE)
                remember(request, to_login)
                raise to_login
            request[SESSION] = session
            status = 500
            try:
                if request.method == hdrs.METH_POST and not same_origin(request):
                    raise Problem(403, "forbidden", "Forbidden", "a form from another site")
                if session.user.must_change and request.path not in ("/password", "/logout"):
                    raise web.HTTPSeeOther("/password")
                if action is not None and not session.user.role.may(action):
                    raise Problem(
                        403,
                        "forbidden",
                        "Forbidden",
                        f"the role {session.user.role.value} may not {action.value}",
                    )
                response = await handler(request)
                status = response.status
                return remember(request, response)
            except BaseException as exc:
                status = status_of(exc)
                raise
            finally:
                audit(request, status, session.user.id)

        page.__name__ = handler.__name__
        page.__doc__ = handler.__doc__
        return page

    return wrap


def audit(request: web.Request, status: int, staff_id: str | None) -> None:
    """The request in the audit trail, under the person's account (None: nobody known)."""
    signer_audit(request, status, staff_id=staff_id)


async def console_form(request: web.Request) -> dict[str, str]:
    """A console form's fields (``read_form``), none holding a NUL: no one types one, and
    PostgreSQL refuses to store or compare one (a 500 otherwise)."""
    fields = await read_form(request)
    if any("\x00" in name or "\x00" in value for name, value in fields.items()):
        raise Problem(400, "bad-form", "Bad form", "the form holds a NUL character")
    return fields


def checked(session: Session, fields: Mapping[str, object]) -> None:
    """The form carries the session's CSRF token, or it is refused (403)."""
    presented = fields.get("csrf")
    if isinstance(presented, bytes):
        presented = presented.decode("ascii", "replace")
    if not isinstance(presented, str) or not hmac.compare_digest(
        presented.encode(), session.csrf.encode()
    ):
        raise Problem(
            403,
            "forbidden",
            "Forbidden",
            "the form's security token is missing or out of date: open the page again",
            field="csrf",
        )
