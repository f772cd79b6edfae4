"""``POST /api/v1/verify``: upload a PDF, get every signature's indication and one verdict.

The upload streams in under a size limit (413 as soon as it passes it);
the validation runs in the verification pool, bounded in time (past it the
pool is restarted and the answer is a 422 saying so); pages are bounded
too. What the file cannot be read as (not a PDF, encrypted, damaged) is a
422 with the reason, never a 500. The registry then says whether this
exact file was issued, and whether it still stands.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from sqlalchemy import Connection

from plumbing.web.multipart import read_parts, too_large
from plumbing.web.problems import Problem
from plumbing.workers import WorkerPool, worker_process
from registry import results
from registry.database import Database
from registry.results import ResultRecord
from verifier.pages import TrustStore
from verifier.validation import Refused, validate_upload

ENVELOPE_BYTES = 16 * 1024
STATE_VERDICTS = {
    "signed": "valid",
    "published": "valid",
    "delivered": "valid",
    "revoked": "revoked",
    "superseded": "superseded",
}


@dataclass(frozen=True, slots=True)
class UploadLimits:
    max_bytes: int = 20 * 1024 * 1024
    max_pages: int = 500
    timeout: float = 30.0
    workers: int = 1


def init_verify_worker() -> None:
    worker_process(b"ketqua-verify")


def verification_pool(limits: UploadLimits) -> WorkerPool:
    return WorkerPool(limits.workers, init_verify_worker)


@dataclass(frozen=True, slots=True)
class Upload:
    db: Database
    trust: TrustStore
    pool: WorkerPool
    limits: UploadLimits

    async def verify(self, request: web.Request) -> web.Response:
        limit = self.limits.max_bytes
        if request.content_length is not None and request.content_length > limit + ENVELOPE_BYTES:
            raise too_large("document", limit)
        parts = await read_parts(
            request, {"document": limit}, expected="multipart/form-data with the part 'document'"
        )
        data = parts["document"]
        trust_json = self.trust.current_json()
        if trust_json is None:
            raise Problem(503, "unavailable", "Service unavailable", "no trust list configured")
        try:
            checked = await self.pool.run_within(
                self.limits.timeout, validate_upload, data, trust_json, self.limits.max_pages
            )
        except TimeoutError:
            raise Problem(
                422,
                "bad-document",
                "The document cannot be checked",
                f"checking it took longer than {self.limits.timeout:g} s",
                field="document",
            ) from None
        if isinstance(checked, Refused):
            raise Problem(
                422,
                "bad-document",
                "The document cannot be checked",
                checked.reason,
                field="document",
            )
        digest = hashlib.sha256(data).hexdigest()
        registry = await self.db.read(_registry_word, digest, checked["seal"])
        verdict, reason = _verdict(checked, registry)
        body: dict[str, Any] = {
            "verdict": verdict,
            "reason": reason,
            "document": {"sha256": digest, "size": len(data), "pages": checked["pages"]},
            "signatures": checked["signatures"],
            "seal": checked["seal"],
            "registry": registry,
        }
        return web.json_response(body, headers={"Cache-Control": "no-store"})


def _registry_word(conn: Connection, digest: str, seal: dict[str, Any] | None) -> dict[str, Any]:
    issued = results.find_signed(conn, digest)
    if issued is not None:
        return _word("this_file", issued)
    if seal is not None and seal.get("genuine"):
        sealed = results.find(conn, seal["dossier_code"], seal["result_no"])
        if sealed is not None and sealed.agency_code == seal["agency_code"]:
            return _word("other_file", sealed)
    return {"match": "none", "state": None, "result_code": None, "verification_url": None}


def _word(match: str, result: ResultRecord) -> dict[str, Any]:
    return {
        "match": match,
        "state": result.state.value,
        "result_code": result.result_code,
        "verification_url": result.seal_url,
    }


def _verdict(checked: dict[str, Any], registry: dict[str, Any]) -> tuple[str, str]:
    signatures = checked["signatures"]
    seal = checked["seal"]
    if not signatures:
        return "invalid", "the PDF carries no signature"
    failing = [s for s in signatures if s["indication"] != "TOTAL_PASSED"]
    if failing:
        first = failing[0]
        return "invalid", (
            f"signature {first['field']!r}: {first['indication']}"
            + (f" / {first['sub_indication']}" if first["sub_indication"] else "")
        )
    if seal is not None and not seal["genuine"]:
        return "invalid", f"the QR seal is not genuine: {seal['reason']}"
    if seal is not None and not seal["binds_this_file"]:
        return "invalid", "the QR seal was made for another document"
    if registry["match"] == "this_file":
        verdict = STATE_VERDICTS.get(registry["state"], "unknown")
        return verdict, f"this exact file was issued as {registry['result_code']}"
    if registry["match"] == "other_file":
        return "invalid", (
            f"the seal is {registry['result_code']}'s, but that result was issued as another file"
        )
    return "unknown", "the signatures hold, but this registry did not issue this file"
