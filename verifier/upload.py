"""``POST /api/v1/verify``: upload a PDF, get every signature's indication and one verdict.

Anyone may send anything, so every upload's cost is bounded:

- it streams to a temporary file under a size limit (413 as soon as it
  passes it), hashed on the way: the service process holds a chunk, never
  the file;
- a check runs in a worker slot of its own (``plumbing.slots``): at most
  ``workers`` at once and ``queue`` waiting, the next one a 503 with
  ``Retry-After`` at once; its time limit counts from the moment a slot
  takes it, and past it only its own process is killed (a 422 saying so);
- each worker process may use ``max_memory_mb`` of address space
  (``RLIMIT_AS``): a file that needs more ends its own process (a 422);
- the pages are counted in the page tree itself, the last page is rendered
  within a pixel cap, the signatures and their /ByteRange are bounded.

What the file cannot be read as (not a PDF, encrypted, damaged) is a 422
with the reason, never a 500. The registry then says whether this exact
file was issued, and whether it still stands.
"""

from __future__ import annotations

import resource
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from aiohttp import web
from sqlalchemy import Connection

from plumbing.slots import Died, Overrun, Slots
from plumbing.web.multipart import receiving_file, too_large
from plumbing.web.problems import Problem
from plumbing.workers import worker_process
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
    validate_file,
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
    queue: int = 4  # checks that may wait for a worker; one more is a 503 at once
    max_memory_mb: int = 1024  # address space of each worker process (RLIMIT_AS)
    folder: Path | None = None  # where uploads are streamed to (None: the system's temp)
    anchors: bytes = b""  # extra roots (PEM) for officials' signatures: keys.anchors


def init_verify_worker(max_memory: int) -> None:
    worker_process(b"ketqua-verify")
    # a hostile file costs at most its own worker: past this, allocations fail in it
    resource.setrlimit(resource.RLIMIT_AS, (max_memory, max_memory))


def verification_slots(limits: UploadLimits) -> Slots:
    memory = limits.max_memory_mb * 1024 * 1024
    return Slots(limits.workers, limits.queue, init_verify_worker, (memory,))


def _cannot_check(detail: str) -> Problem:
    return Problem(422, "bad-document", "The document cannot be checked", detail, field="document")


@dataclass(frozen=True, slots=True)
class Upload:
    db: Database
    trust: TrustStore
    slots: Slots
    limits: UploadLimits

    async def verify(self, request: web.Request) -> web.Response:
        checked = await self.check(request)
        return web.json_response(checked.to_json(), headers={"Cache-Control": "no-store"})

    async def check(self, request: web.Request) -> Checked:
        """The upload in ``request``'s part ``document``, checked; 4xx/503 as a Problem."""
        limit = self.limits.max_bytes
        if request.content_length is not None and request.content_length > limit + ENVELOPE_BYTES:
            raise too_large("document", limit)
        trust_json = self.trust.current_json()
        if trust_json is None:
            raise Problem(503, "unavailable", "Service unavailable", "no trust list configured")
        expected = "multipart/form-data with the part 'document'"
        async with receiving_file(
            request, "document", limit, expected=expected, folder=self.limits.folder
        ) as received:
            try:
                checked = await self.slots.run(
                    self.limits.timeout,
                    validate_file,
                    str(received.path),
                    trust_json,
                    self.limits.max_pages,
                    self.limits.anchors,
                )
            except Overrun:
                raise _cannot_check(
                    f"checking it took longer than {self.limits.timeout:g} s"
                ) from None
            except Died:
                raise _cannot_check(
                    "checking it needed more memory than a check may use "
                    f"({self.limits.max_memory_mb} MB)"
                ) from None
        if isinstance(checked, Refused):
            raise _cannot_check(checked.reason)
        registry = await self.db.read(_registry_word, received.sha256, checked.seal)
        verdict, reason = _verdict(checked, registry)
        return Checked(verdict, reason, received.sha256, received.size, checked, registry)


@dataclass(frozen=True, slots=True)
class Checked:
    """One upload's verdict, with everything it was drawn from."""

    verdict: str
    reason: str  # one sentence, English
    sha256: str
    size: int
    check: UploadCheck
    registry: RegistryWord

    def to_json(self) -> dict[str, Any]:
        check = self.check
        return {
            "verdict": self.verdict,
            "reason": self.reason,
            "document": {"sha256": self.sha256, "size": self.size, "pages": check.pages},
            "signatures": [s.to_json() for s in check.signatures],
            "seal": check.seal.to_json() if check.seal is not None else None,
            "registry": self.registry.to_json(),
        }


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
