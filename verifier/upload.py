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
from typing import Any, Literal

from aiohttp import web
from sqlalchemy import Connection

from plumbing.web.multipart import read_parts, too_large
from plumbing.web.problems import Problem
from plumbing.workers import WorkerPool, worker_process
from registry import results
from registry.database import Database
from registry.results import ResultRecord
from registry.states import ResultState
from verifier.pages import TrustStore
from verifier.validation import (
    Refused,
    SealRead,
    SealRefused,
    UploadCheck,
    validate_upload,
)

ENVELOPE_BYTES = 16 * 1024
STATE_VERDICTS = {
    ResultState.SIGNED: "valid",
    ResultState.PUBLISHED: "valid",
    ResultState.DELIVERED: "valid",
    ResultState.REVOKED: "revoked",
    ResultState.SUPERSEDED: "superseded",
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
        registry = await self.db.read(_registry_word, digest, checked.seal)
        verdict, reason = _verdict(checked, registry)
        body: dict[str, Any] = {
            "verdict": verdict,
            "reason": reason,
            "document": {"sha256": digest, "size": len(data), "pages": checked.pages},
            "signatures": [s.to_json() for s in checked.signatures],
            "seal": checked.seal.to_json() if checked.seal is not None else None,
            "registry": registry.to_json(),
        }
        return web.json_response(body, headers={"Cache-Control": "no-store"})


@dataclass(frozen=True, slots=True)
class RegistryWord:
    """What the registry says of an uploaded file: ``this_file`` it issued, ``other_file``
    (the seal's result was issued as other bytes), or ``none``."""

    match: Literal["this_file", "other_file", "none"]
    result: ResultRecord | None = None

    def to_json(self) -> dict[str, Any]:
        result = self.result
        return {
            "match": self.match,
            "state": result.state.value if result is not None else None,
            "result_code": result.result_code if result is not None else None,
            "verification_url": result.seal_url if result is not None else None,
        }


def _registry_word(
    conn: Connection, digest: str, seal: SealRead | SealRefused | None
) -> RegistryWord:
    issued = results.find_signed(conn, digest)
    if issued is not None:
        return RegistryWord("this_file", issued)
    if isinstance(seal, SealRead):
        sealed = results.find(conn, seal.dossier_code, seal.result_no)
        if sealed is not None and sealed.agency_code == seal.agency_code:
            return RegistryWord("other_file", sealed)
    return RegistryWord("none")


def _verdict(checked: UploadCheck, registry: RegistryWord) -> tuple[str, str]:
    seal = checked.seal
    if not checked.signatures:
        return "invalid", "the PDF carries no signature"
    failing = [s for s in checked.signatures if not s.passed]
    if failing:
        first = failing[0]
        return "invalid", (
            f"signature {first.field!r}: {first.indication}"
            + (f" / {first.sub_indication}" if first.sub_indication else "")
        )
    if isinstance(seal, SealRefused):
        return "invalid", f"the QR seal is not genuine: {seal.reason}"
    if seal is not None and not seal.binds_this_file:
        return "invalid", "the QR seal was made for another document"
    result = registry.result
    if registry.match == "this_file" and result is not None:
        verdict = STATE_VERDICTS.get(result.state, "unknown")
        return verdict, f"this exact file was issued as {result.result_code}"
    if registry.match == "other_file" and result is not None:
        return "invalid", (
            f"the seal is {result.result_code}'s, but that result was issued as another file"
        )
    return "unknown", "the signatures hold, but this registry did not issue this file"
