"""The console's routes, added to the signer's application (``install``), and its start.

Paths are the console's own (``/``, ``/results``...); the API keeps
``/api/``. Every handler is wrapped by ``console.auth.staff_page`` except
the login form itself and the stylesheet. Sessions that ran out are swept
from the registry every few minutes while the signer runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator
from pathlib import Path

from aiohttp import web
from jinja2 import Environment

from console import admin, changes, dashboard, forms, login, results
from console.context import CONSOLE, ConsoleContext
from registry.staff import sweep_sessions
from verifier.templating import environment

log = logging.getLogger(__name__)

STATIC = Path(__file__).resolve().parent / "static"
SWEEP_EVERY = 300.0  # seconds


async def stylesheet(request: web.Request) -> web.StreamResponse:
    return web.FileResponse(
        STATIC / "console.css", headers={"Cache-Control": "public, max-age=3600"}
    )


def templates() -> Environment:
    """The console's templates: the public pages' filters, and the applicant's name."""
    env = environment("console")
    env.filters["applicant_name"] = _applicant_name
    return env


def _applicant_name(metadata_json: str) -> str:
    return str(json.loads(metadata_json).get("applicant", {}).get("name", ""))


def install(app: web.Application, ctx: ConsoleContext) -> None:
    """The console's routes and its session sweeper on ``app`` (the signer's)."""
    app[CONSOLE] = ctx
    add = app.router
    add.add_get("/", dashboard.dashboard)
    add.add_get("/login", login.login_form)
    add.add_post("/login", login.login)
    add.add_post("/logout", login.logout)
    add.add_get("/password", login.password_form)
    add.add_post("/password", login.password_change)
    add.add_get("/results", results.search)
    add.add_get("/results/{id}", results.show)
    add.add_get("/results/{id}/preview.png", results.preview)
    add.add_get("/results/{id}/document.pdf", results.document)
    add.add_get("/results/{id}/slip", results.slip)
    add.add_get("/results/{id}/correct", forms.correct_form)
    add.add_post("/results/{id}/correct", forms.correct)
    add.add_get("/results/{id}/revoke", changes.revoke_form)
    add.add_post("/results/{id}/revoke", changes.revoke)
    add.add_get("/results/{id}/resend", changes.resend_form)
    add.add_post("/results/{id}/resend", changes.resend)
    add.add_get("/submit", forms.submit_form)
    add.add_post("/submit", forms.submit)
    add.add_get("/admin", admin.admin)
    add.add_post("/admin/users", admin.add_user)
    add.add_post("/admin/users/disable", admin.disable_user)
    add.add_post("/admin/users/reset", admin.reset_password)
    add.add_post("/admin/keys", admin.add_key)
    add.add_post("/admin/keys/revoke", admin.revoke_key)
    add.add_get("/admin/secret/{key}", admin.secret)
    add.add_get("/static/console.css", stylesheet)
    app.cleanup_ctx.append(_sweeper)


async def _sweeper(app: web.Application) -> AsyncIterator[None]:
    ctx = app[CONSOLE]

    async def sweep() -> None:
        while True:
            await asyncio.sleep(SWEEP_EVERY)
            try:
                await sweep_sessions(ctx.signer.db, idle=ctx.idle, absolute=ctx.absolute)
            except Exception:  # the next round tries again; a session check never needs it
                log.exception("sweeping ended sessions failed")

    task = asyncio.create_task(sweep(), name="console-session-sweeper")
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
