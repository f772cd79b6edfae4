"""``GET /healthz`` and the signer's gauges: database, signing key, queue, certificates."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from typing import Any

from aiohttp import web
from prometheus_client import Counter, Gauge, Histogram

from plumbing.web.metrics import Metrics
from plumbing.workers import WorkerPool
from registry import jobs, outbox, results
from registry.database import Database
from registry.states import DeliveryState, ResultState
from signer.api.context import SIGNER
from signer.pipeline.pool import CertificateExpiry, Failure, probe_in_worker

KEY_CHECK_EVERY = 30.0  # seconds; a probe is a real signature with the (token's) key
KEY_CHECK_TIMEOUT = 10.0


class KeyHealth:
    """Whether the signing key works, checked by a real signature in a worker, cached."""

    def __init__(self, pool: WorkerPool) -> None:
        self.pool = pool
        self._checked = 0.0
        self._problem: str | None = None
        self._lock = asyncio.Lock()

    async def problem(self) -> str | None:
        async with self._lock:
            if time.monotonic() - self._checked > KEY_CHECK_EVERY:
                try:
                    outcome: Failure | None = await asyncio.wait_for(
                        self.pool.run(probe_in_worker), KEY_CHECK_TIMEOUT
                    )
                    self._problem = str(outcome) if outcome is not None else None
                except TimeoutError:
                    self._problem = f"no answer from the signing workers in {KEY_CHECK_TIMEOUT} s"
                except Exception as exc:
                    self._problem = str(exc) or type(exc).__name__
                self._checked = time.monotonic()
            return self._problem


KEY_HEALTH = web.AppKey("key_health", KeyHealth)


async def healthz(request: web.Request) -> web.Response:
    ctx = request.app[SIGNER]
    body: dict[str, Any] = {"status": "ok"}
    try:
        await asyncio.wait_for(ctx.db.ping(), 5)
        queue = await ctx.db.read(jobs.stats)
        body["database"] = "ok"
        body["queue"] = {"depth": queue.depth, "oldest_age_seconds": round(queue.oldest_age, 1)}
    except Exception as exc:
        body["status"] = "unavailable"
        body["database"] = f"unreachable: {exc.__class__.__name__}"
    key_problem = await request.app[KEY_HEALTH].problem()
    body["signing_key"] = key_problem or "ok"
    if key_problem:
        body["status"] = "unavailable"
    body["workers"] = {"size": ctx.pipeline.pool.size, "busy": ctx.pipeline.busy}
    now = datetime.now(UTC)
    body["certificates"] = []
    for cert in ctx.certificates:
        days_left = (cert.not_after - now).days
        body["certificates"].append(
            {
                "use": cert.use,
                "subject": cert.subject,
                "not_after": cert.not_after.isoformat(),
                "days_left": days_left,
            }
        )
        if cert.not_after <= now:  # every signature made now would not validate
            body["status"] = "unavailable"
        elif days_left < EXPIRY_WARNING_DAYS:
            body.setdefault("warnings", []).append(
                f"the {cert.use} certificate runs out in {days_left} day(s): renew it"
            )
    return web.json_response(body, status=200 if body["status"] == "ok" else 503)


EXPIRY_WARNING_DAYS = 30


def register_certificate_metrics(
    metrics: Metrics, certificates: tuple[CertificateExpiry, ...]
) -> None:
    """When each certificate runs out, for an alert rule (``time() > expiry - 30d``)."""
    expiry = Gauge(
        "ketqua_certificate_expiry_timestamp_seconds",
        "When a certificate the signer uses runs out (Unix time)",
        ["use", "subject"],
        registry=metrics.registry,
    )
    for cert in certificates:
        expiry.labels(cert.use, cert.subject).set(cert.not_after.timestamp())


def register_signer_metrics(metrics: Metrics, db: Database) -> tuple[Histogram, Counter]:
    """Gauges read at each scrape (results, deliveries, queue); the signing histogram and the
    email attempts counter, which the workers feed."""
    by_state = Gauge("ketqua_results", "Results by state", ["state"], registry=metrics.registry)
    depth = Gauge("ketqua_queue_depth", "Jobs not finished", registry=metrics.registry)
    oldest = Gauge(
        "ketqua_queue_oldest_age_seconds",
        "Age of the oldest unfinished job",
        registry=metrics.registry,
    )

    emails = Gauge(
        "ketqua_email_deliveries",
        "Email deliveries by state",
        ["state"],
        registry=metrics.registry,
    )

    async def refresh() -> None:
        counts, queue, sent = await db.read(
            lambda conn: (results.count_by_state(conn), jobs.stats(conn), outbox.counts(conn))
        )
        for state in ResultState:
            by_state.labels(state.value).set(counts.get(state, 0))
        for delivery_state in DeliveryState:
            emails.labels(delivery_state.value).set(sent.get(delivery_state.value, 0))
        depth.set(queue.depth)
        oldest.set(queue.oldest_age)

    metrics.on_scrape(refresh)
    signing = Histogram(
        "ketqua_signing_seconds",
        "Time to sign one result in a worker process",
        registry=metrics.registry,
        buckets=(0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 30),
    )
    attempts = Counter(
        "ketqua_email_attempts",
        "Attempts to send an email, by outcome (sent, temporary, permanent)",
        ["outcome"],
        registry=metrics.registry,
    )
    return signing, attempts
