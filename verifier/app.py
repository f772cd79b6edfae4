"""The public verifier application (no private key, no login).

Serves what a QR scan opens (``/v/{seal}``, ``verifier.pages``), the trust
list, its health and its OpenAPI document; security headers on every
response and a per-address rate limit on the verification routes.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

from aiohttp import web

from plumbing.web.metrics import Metrics
from plumbing.web.openapi import openapi_handler
from plumbing.web.problems import Problem, problems
from plumbing.web.security import RateLimit, security_headers
from registry.blobs import BlobStore
from registry.database import Database
from verifier.check_page import CheckPage
from verifier.listing import Listing
from verifier.pages import Pages, TrustStore, stylesheet
from verifier.pages import signer_certificates as pages_signers
from verifier.portal import Portal
from verifier.site import SITE, TEMPLATES, Site, error_page, remember_language
from verifier.statistics import Statistics
from verifier.upload import Checked, Upload, UploadLimits, verification_slots
from verifier.validation import ready

OPENAPI = Path(__file__).resolve().parent / "openapi.json"

# what the per-client rate limit covers: the QR pages, the upload check, the lookups
RATE_LIMITED = ("/v/", "/V/", "/api/v1/verify", "/api/v1/lookup/", "/tra-cuu", "/kiem-tra")
# and the portal's own, wider one: the listing, the feed, the statistics (a portal polls them)
PORTAL_LIMITED = ("/api/v1/published", "/api/v1/statistics", "/ket-qua", "/thong-ke")

POOL_GRACE = 5.0  # seconds for checks still running when the verifier stops

DB = web.AppKey("db", Database)
UPLOAD = web.AppKey("upload", Upload)
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
    except FileNotFoundError as exc:
        raise Problem(
            503, "unavailable", "Service unavailable", "no trust list configured"
        ) from exc
    return web.Response(body=body, content_type="application/json")


def create_app(
    db: Database,
    trust_list_path: Path,
    metrics: Metrics,
    *,
    with_metrics: bool,
    signer_certificates: list[Path] | None = None,
    rate_limit: RateLimit | None = None,
    portal_limit: RateLimit | None = None,
    upload_limits: UploadLimits | None = None,
    blobs: BlobStore | None = None,
    site: Site | None = None,
    access_secret: bytes | None = None,
) -> web.Application:
    limit = rate_limit or RateLimit(rate=5.0, burst=30, prefixes=RATE_LIMITED)
    polled = portal_limit or RateLimit(
        rate=20.0, burst=100, prefixes=PORTAL_LIMITED, clients=limit.clients
    )
    app = web.Application(
        middlewares=[
            metrics.middleware("verifier"),
            security_headers,
            remember_language,
            problems(error_page),
            limit.middleware(),
            polled.middleware(),
        ]
    )
    app[DB] = db
    app[TRUST_LIST] = trust_list_path
    app[SITE] = site or Site()
    trust = TrustStore(trust_list_path)
    pages = Pages.create(db, trust, pages_signers(signer_certificates or []))
    app[TEMPLATES] = pages.env
    limits = upload_limits or UploadLimits()

    async def verification_workers(app: web.Application) -> AsyncIterator[None]:
        slots = verification_slots(limits)
        try:
            await slots.start(ready)  # spawned now, not on the first upload
            app[UPLOAD] = Upload(db, trust, slots, limits)
            yield
        finally:
            await slots.close(POOL_GRACE)

    async def verify_upload(request: web.Request) -> web.Response:
        return await request.app[UPLOAD].verify(request)

    async def check_upload(request: web.Request) -> Checked:
        return await request.app[UPLOAD].check(request)

    app.cleanup_ctx.append(verification_workers)
    app.router.add_post("/api/v1/verify", verify_upload)
    check_page = CheckPage(pages.env, check_upload, max(1, limits.max_bytes // (1024 * 1024)))
    app.router.add_get("/kiem-tra", check_page.form)
    app.router.add_post("/kiem-tra", check_page.report)
    app.router.add_get("/v/{seal}", pages.seal_page)
    app.router.add_get("/V/{seal}", pages.seal_page)
    app.router.add_get("/static/ketqua.css", stylesheet)
    statistics = Statistics(db, pages.env)
    app.router.add_get("/api/v1/statistics", statistics.json)
    app.router.add_get("/thong-ke", statistics.page)
    listing = Listing(db, pages.env)
    app.router.add_get("/api/v1/published", listing.json)
    app.router.add_get("/api/v1/published.atom", listing.atom)
    app.router.add_get("/ket-qua", listing.page)
    portal = Portal(db, blobs, pages.env, clients=limit.clients, access_secret=access_secret)
    app.router.add_get("/", portal.home)
    app.router.add_get("/tra-cuu", portal.start)
    app.router.add_post("/tra-cuu", portal.start)
    app.router.add_get("/tra-cuu/{dossier_code}", portal.page)
    app.router.add_post("/tra-cuu/{dossier_code}", portal.page)
    app.router.add_post("/tra-cuu/{dossier_code}/van-ban", portal.page_document)
    app.router.add_get("/api/v1/lookup/{dossier_code}", portal.lookup)
    app.router.add_get("/api/v1/lookup/{dossier_code}/document", portal.document)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/api/v1/trust-list", trust_list)
    app.router.add_get("/api/v1/openapi.json", openapi_handler(OPENAPI))
    if with_metrics:  # alone: the operator's scrape target; beside the signer, that one is
        app.router.add_get("/metrics", metrics.handler)
    return app
