"""Administration: staff accounts and API keys (the administrator's role only).

Accounts: add one with a role (its generated initial password is shown once,
to hand over, and changed at the first login), disable one (its sessions
end), reset a password. API keys: name, creation, last use and expiry;
create one (the key is shown once; only its hash is kept) and revoke one.
The same registry functions as ``ketqua user`` and ``ketqua apikey``.
"""

from __future__ import annotations

from datetime import timedelta
from typing import NoReturn
from urllib.parse import quote

from aiohttp import web

from console.auth import checked, console_form, staff_page
from console.context import CONSOLE, SESSION
from console.pages import render
from plumbing.errors import KetquaError, NotFound
from registry import staff
from registry.apikeys import create_api_key, list_api_keys, revoke_api_key
from registry.staff import Action, Role

MAX_KEY_DAYS = 3 * 365


async def _page(
    request: web.Request, *, status: int = 200, error: str | None = None, done: str | None = None
) -> web.Response:
    db = request.app[CONSOLE].signer.db
    return render(
        request,
        "admin.html.j2",
        status=status,
        users=await staff.list_users(db),
        keys=await list_api_keys(db),
        roles=[r.value for r in Role],
        error=error,
        done=done or request.query.get("done"),
        done_name=request.query.get("name", "")[:100],
    )


@staff_page(Action.MANAGE)
async def admin(request: web.Request) -> web.StreamResponse:
    return await _page(request)


async def _form(request: web.Request) -> dict[str, str]:
    fields = await console_form(request)
    checked(request[SESSION], fields)
    return fields


def _secret(request: web.Request, kind: str, name: str, secret: str) -> NoReturn:
    """To a page that shows ``secret`` once (post, redirect, get: reloading it posts
    nothing again, and the page is gone once read)."""
    key = request.app[CONSOLE].shown_once.keep(request[SESSION], (kind, name, secret))
    raise web.HTTPSeeOther(f"/admin/secret/{key}")


@staff_page(Action.MANAGE)
async def secret(request: web.Request) -> web.StreamResponse:
    found = request.app[CONSOLE].shown_once.take(request[SESSION], request.match_info["key"])
    if found is None:
        raise NotFound("shown already, or never made: make a new one", field="key")
    kind, name, value = found
    return render(request, "secret.html.j2", kind=kind, name=name, secret=value)


async def _refusal(request: web.Request, name: str, *, disabling: bool) -> str | None:
    """Why not (a text's key): an administrator does not lock themselves out, nor the agency
    out of its console."""
    if name == request[SESSION].user.name:
        return "admin_not_self"
    if disabling:
        users = await staff.list_users(request.app[CONSOLE].signer.db)
        admins = [u.name for u in users if u.role is Role.ADMIN and u.active]
        if admins == [name]:
            return "admin_last"
    return None


@staff_page(Action.MANAGE)
async def add_user(request: web.Request) -> web.StreamResponse:
    fields = await _form(request)
    try:
        role = Role(fields.get("role", ""))
        user, password = await staff.add_user(
            request.app[CONSOLE].signer.db, fields.get("name", ""), role
        )
    except ValueError:
        return await _page(request, status=422, error="role")
    except KetquaError as exc:
        return await _page(request, status=422, error=exc.message)
    _secret(request, "password", user.name, password)


@staff_page(Action.MANAGE)
async def disable_user(request: web.Request) -> web.StreamResponse:
    fields = await _form(request)
    name = fields.get("name", "")
    if why := await _refusal(request, name, disabling=True):
        return await _page(request, status=409, error=why)
    await staff.disable_user(request.app[CONSOLE].signer.db, name)
    raise web.HTTPSeeOther(f"/admin?done=disabled&name={_q(name)}")


@staff_page(Action.MANAGE)
async def reset_password(request: web.Request) -> web.StreamResponse:
    fields = await _form(request)
    if why := await _refusal(request, fields.get("name", ""), disabling=False):
        return await _page(request, status=409, error=why)
    user, password = await staff.reset_password(
        request.app[CONSOLE].signer.db, fields.get("name", "")
    )
    _secret(request, "password", user.name, password)


@staff_page(Action.MANAGE)
async def add_key(request: web.Request) -> web.StreamResponse:
    fields = await _form(request)
    try:
        days = int(fields.get("days", "365"))
    except ValueError:
        days = 0
    if not 1 <= days <= MAX_KEY_DAYS:
        return await _page(request, status=422, error=f"days: 1 to {MAX_KEY_DAYS}")
    try:
        key, plain = await create_api_key(
            request.app[CONSOLE].signer.db, fields.get("name", ""), (), timedelta(days=days)
        )
    except KetquaError as exc:
        return await _page(request, status=422, error=exc.message)
    _secret(request, "key", key.name, plain)


@staff_page(Action.MANAGE)
async def revoke_key(request: web.Request) -> web.StreamResponse:
    fields = await _form(request)
    name = fields.get("name", "")
    await revoke_api_key(request.app[CONSOLE].signer.db, name)
    raise web.HTTPSeeOther(f"/admin?done=key_revoked&name={_q(name)}")


def _q(text: str) -> str:
    return quote(text[:100], safe="")
