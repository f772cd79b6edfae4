"""The signer application: routes, bearer-key authentication, the audit trail.

The API (``/api/``) takes an API key; the health, metrics and OpenAPI
document are open (the internal port only). Whatever else the service
adds beside the API (the back office's console, ``extend``) brings its own
authentication: a session, not a key.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from aiohttp import web

from plumbing.web.metrics import Metrics, route_name
from plumbing.web.openapi import openapi_handler
from plumbing.web.problems import Handler, Problem, ProblemPage, problems, status_of
from plumbing.web.security import security_headers
from registry.apikeys import authenticate
from registry.audit import AuditEntry
from registry.ids import looks_like_id
from signer.api import intake, views
from signer.api.context import API_KEY, SIGNER, SignerContext
from signer.api.health import KEY_HEALTH, KeyHealth, healthz

OPENAPI = Path(__file__).resolve().parent / "openapi.json"
OPEN_PATHS = frozenset({"/api/v1/openapi.json"})


@web.middleware
async def bearer_auth(request: web.Request, handler: Handler) -> web.StreamResponse:
    if not request.path.startswith("/api/") or request.path in OPEN_PATHS:
        return await handler(request)
    header = request.headers.get("Authorization", "")
    scheme, _, presented = header.partition(" ")
    key = None
    if scheme.lower() == "bearer" and presented.strip():
        key = await authenticate(request.app[SIGNER].db, presented.strip())
    if key is None:
        detail = "a valid API key is required" if header else "send Authorization: Bearer <key>"
        raise Problem(
            401,
            "unauthorized",
            "Unauthorized",
            detail,
            headers={"WWW-Authenticate": 'Bearer realm="ketqua"'},
        )
    request[API_KEY] = key
    status = 500
    try:
        response = await handler(request)
        status = response.status
        return response
    except BaseException as exc:
        status = status_of(exc)
        raise
    finally:
        audit(request, status, api_key_id=key.id)


def audit(
    request: web.Request,
    status: int,
    *,
    api_key_id: str | None = None,
    staff_id: str | None = None,
) -> None:
    """The request in the audit trail, under its API key or the person signed in (the console);
    neither: nobody known (a refused login)."""
    # the result column holds ids only: a longer string would fail the whole batch of rows
    named = request.match_info.get("id")
    request.app[SIGNER].audit.record(
        AuditEntry(
            at=datetime.now(UTC),
            api_key_id=api_key_id,
            staff_id=staff_id,
            method=request.method,
            route=route_name(request),
            result_id=named if named is not None and looks_like_id(named) else None,
            status=status,
        )
    )


def create_app(
    ctx: SignerContext,
    metrics: Metrics,
    *,
    extend: Callable[[web.Application], None] | None = None,
    error_page: ProblemPage | None = None,
) -> web.Application:
    """The API's routes; ``extend`` adds more (the console) and ``error_page`` answers
    people's refusals as pages."""
    app = web.Application(
        middlewares=[
            metrics.middleware("signer"),
            security_headers,
            problems(error_page),
            bearer_auth,
        ],
        # the intake streams its body and enforces its own limit; other routes take JSON
        client_max_size=64 * 1024,
    )
    app[SIGNER] = ctx
    app[KEY_HEALTH] = KeyHealth(ctx.pipeline.pool)
    app.router.add_post("/api/v1/results", intake.create_result)
    app.router.add_get("/api/v1/results", views.list_results)
    app.router.add_get("/api/v1/results/{id}", views.get_result)
    app.router.add_get("/api/v1/results/{id}/document", views.get_document)
    app.router.add_post("/api/v1/results/{id}/revoke", views.revoke_result)
    app.router.add_post("/api/v1/results/{id}/resend", views.resend_result)
    app.router.add_get("/api/v1/openapi.json", openapi_handler(OPENAPI))
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics.handler)
    if extend is not None:
        extend(app)
    return app
