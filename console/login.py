"""Logging in and out, and a person's own password.

The login form posts ``username`` and ``password`` (the names password
managers look for) with a CSRF token kept in a cookie of its own until
there is a session (double submit: a page on another site cannot read it).
A wrong password answers the form again with one sentence that does not
say which of the two was wrong; the tenth from a client within 15 minutes,
and every try after it, is refused (429) without being checked
(``console.throttle``). A success starts a new session (a new token: no
token chosen before the login survives it) and goes to the page asked for,
or to the password form when the password is an initial one.
"""

from __future__ import annotations

import hmac
import secrets
from urllib.parse import urlsplit

from aiohttp import web

from console.auth import (
    LOGIN_COOKIE,
    SESSION_COOKIE,
    audit,
    checked,
    choose_language,
    console_form,
    forget_cookie,
    read_cookie,
    remember,
    same_origin,
    set_cookie,
    staff_page,
)
from console.context import CONSOLE, SESSION
from console.pages import render
from plumbing.web.problems import Problem
from plumbing.web.security import too_many_requests
from registry.staff import (
    authenticate,
    change_password,
    end_session,
    open_session,
    password_fault,
    password_matches,
)

MAX_FIELD = 200


def _next(value: str | None) -> str:
    """Where to go after the login: a path of this console, never another site."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    if not value.isprintable() or any(c.isspace() for c in value):
        return "/"  # a browser drops tabs and newlines: "/\t/site" would lead to //site
    parts = urlsplit(value)
    if parts.scheme or parts.netloc or parts.path.startswith("/login"):
        return "/"
    return value


async def login_form(request: web.Request) -> web.StreamResponse:
    choose_language(request)
    why = request.query.get("why")
    message = {"expired": "login_expired", "out": "login_out"}.get(why or "")
    return _form(request, message=message, next_=_next(request.query.get("next")))


def _form(
    request: web.Request,
    *,
    message: str | None = None,
    error: str | None = None,
    username: str = "",
    next_: str = "/",
    status: int = 200,
) -> web.StreamResponse:
    token = secrets.token_urlsafe(32)
    response = render(
        request,
        "login.html.j2",
        status=status,
        login_csrf=token,
        message=message,
        error=error,
        username=username,
        next=next_,
    )
    set_cookie(request, response, LOGIN_COOKIE, token)
    return remember(request, response)


async def login(request: web.Request) -> web.StreamResponse:
    choose_language(request)
    ctx = request.app[CONSOLE]
    if not same_origin(request):
        raise Problem(403, "forbidden", "Forbidden", "a form from another site")
    fields = await console_form(request)
    cookie = read_cookie(request, LOGIN_COOKIE)
    presented = fields.get("csrf", "")
    if not cookie or not hmac.compare_digest(cookie.encode(), presented.encode()):
        raise Problem(
            403,
            "forbidden",
            "Forbidden",
            "the login form's security token is missing or out of date: open it again",
            field="csrf",
        )
    username = " ".join(fields.get("username", "").split())[:MAX_FIELD]
    password = fields.get("password", "")[:MAX_FIELD]
    next_ = _next(fields.get("next"))
    client = ctx.clients.of(request)
    wait, charged = ctx.throttle.charge(client, username)
    if wait > 0:
        audit(request, 429, None)
        raise too_many_requests(wait, "too many wrong passwords from this address")
    user = await authenticate(ctx.signer.db, username, password) if username else None
    if user is None:
        audit(request, 422, None)
        return _form(request, error="login_wrong", username=username, next_=next_, status=422)
    ctx.throttle.refund(client, username, charged)
    token = await open_session(ctx.signer.db, user.id)
    audit(request, 303, user.id)
    target = "/password" if user.must_change else next_
    response = web.HTTPSeeOther(target)
    set_cookie(request, response, SESSION_COOKIE, token)
    forget_cookie(request, response, LOGIN_COOKIE)
    raise response


@staff_page()
async def logout(request: web.Request) -> web.StreamResponse:
    session = request[SESSION]
    checked(session, await console_form(request))
    await end_session(request.app[CONSOLE].signer.db, read_cookie(request, SESSION_COOKIE))
    response = web.HTTPSeeOther("/login?why=out")
    forget_cookie(request, response, SESSION_COOKIE)
    raise response


@staff_page()
async def password_form(request: web.Request) -> web.StreamResponse:
    return render(request, "password.html.j2", errors={})


@staff_page()
async def password_change(request: web.Request) -> web.StreamResponse:
    session = request[SESSION]
    ctx = request.app[CONSOLE]
    fields = await console_form(request)
    checked(session, fields)
    current = fields.get("current", "")[:MAX_FIELD]
    new = fields.get("new", "")
    again = fields.get("again", "")
    errors: dict[str, str] = {}
    client = ctx.clients.of(request)
    wait, charged = ctx.throttle.charge(client, session.user.name)
    if wait > 0:
        raise too_many_requests(wait, "too many wrong passwords from this address")
    if not await password_matches(ctx.signer.db, session.user.id, current):
        errors["current"] = "password_wrong"
    elif password_fault(new, session.user.name) is not None:
        errors["new"] = "password_weak"
    elif new != again:
        errors["again"] = "password_mismatch"
    if "current" not in errors:
        ctx.throttle.refund(client, session.user.name, charged)
    if errors:
        return render(request, "password.html.j2", status=422, errors=errors)
    token = await change_password(ctx.signer.db, session.user.id, new)
    response = web.HTTPSeeOther("/?done=password")
    set_cookie(request, response, SESSION_COOKIE, token)
    raise response
