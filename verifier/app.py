"""The public verifier application (no private key, no login).

This first version serves its health, its OpenAPI document and the trust
list; the verification pages, lookup and listings build on it.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from aiohttp import web

from ketqua.web.metrics import Metrics
from ketqua.web.openapi import openapi_handler
from ketqua.web.problems import Problem, problems_middleware
from registry.database import Database

OPENAPI = Path(__file__).resolve().parent / "openapi.json"

DB = web.AppKey("db", Database)
TRUST_LIST = web.AppKey("trust_list", Path)


async def healthz(request: web.Request) -> web.Response:
    try:
        await asyncio.wait_for(request.app[DB].ping(), 5)
    except Exception as exc:
        body = {"status": "unavailable", "database": f"unreachable: {exc.__class__.__name__}"}
        return web.json_response(body, status=503)
    return web.json_response({"status": "ok", "database": "ok"})


async def trust_list(request: web.Request) -> web.Response:
    path = request.app[TRUST_LIST]
    try:
        body = await asyncio.to_thread(path.read_bytes)
    except FileNotFoundError:
        raise Problem(
            503, "unavailable", "Service unavailable", "no trust list configured"
        ) from None
    return web.Response(body=body, content_type="application/json")


def create_app(
    db: Database, trust_list_path: Path, metrics: Metrics, *, with_metrics: bool
) -> web.Application:
    app = web.Application(middlewares=[metrics.middleware("verifier"), problems_middleware])
    app[DB] = db
    app[TRUST_LIST] = trust_list_path
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/api/v1/trust-list", trust_list)
    app.router.add_get("/api/v1/openapi.json", openapi_handler(OPENAPI))
    if with_metrics:  # alone: the operator's scrape target; beside the signer, that one is
        app.router.add_get("/metrics", metrics.handler)
    return app
