"""The signer application: routes, bearer-key authentication, the audit trail."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from aiohttp import web

from plumbing.web.metrics import Metrics, route_name
from plumbing.web.openapi import openapi_handler
from plumbing.web.problems import Handler, Problem, problems_middleware
from registry.apikeys import authenticate
from registry.audit import AuditEntry
from signer.api import intake, views
from signer.api.context import API_KEY, SIGNER, SignerContext
from signer.api.health import KEY_HEALTH, KeyHealth, healthz

OPENAPI = Path(__file__).resolve().parent / "openapi.json"
OPEN_PATHS = frozenset({"/healthz", "/metrics", "/api/v1/openapi.json"})


@web.middleware
async def bearer_auth(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.path in OPEN_PATHS:
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
    except Problem as problem:
        status = problem.status
        raise
    except web.HTTPException as exc:
        status = exc.status
        raise
    finally:
        request.app[SIGNER].audit.record(
            AuditEntry(
                at=datetime.now(UTC),
                api_key_id=key.id,
                method=request.method,
                route=route_name(request),
                result_id=request.match_info.get("id"),
                status=status,
            )
        )


def create_app(ctx: SignerContext, metrics: Metrics) -> web.Application:
    app = web.Application(
        middlewares=[metrics.middleware("signer"), problems_middleware, bearer_auth],
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
    return app
