"""``POST /api/v1/results``: accept a resolved dossier's result, durably, or say why not.

Order of work, cheapest refusal first: size (from the header, then while
streaming), metadata, the registry (idempotent repeat? conflict?), then the
PDF itself in the intake pool, which also writes the original to the blob
store once it passes. Then the result, its first event and its sign job in
one transaction; only then the 202.
"""

from __future__ import annotations

import hashlib

from aiohttp import web
from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from plumbing.web.multipart import read_parts, too_large
from plumbing.web.problems import Problem
from registry import jobs, results
from registry.ids import looks_like_id, new_id
from registry.results import NewResult, ResultRecord
from registry.states import JobKind, ResultState
from signer.api.context import API_KEY, SIGNER, SignerContext
from signer.api.representation import summary
from signer.errors import MetadataError
from signer.metadata import ResultMetadata, parse_metadata
from signer.pipeline.pool import Accepted, Failure, vet_and_store

MAX_METADATA_BYTES = 64 * 1024
# multipart framing around the two parts
ENVELOPE_BYTES = MAX_METADATA_BYTES + 16 * 1024


async def create_result(request: web.Request) -> web.Response:
    ctx = request.app[SIGNER]
    key = request[API_KEY]
    limit = ctx.max_document_bytes
    if request.content_length is not None and request.content_length > limit + ENVELOPE_BYTES:
        raise too_large("document", limit)
    parts = await read_parts(
        request,
        {"metadata": MAX_METADATA_BYTES, "document": limit},
        expected="multipart/form-data with the parts 'metadata' (JSON) and 'document' (PDF)",
    )
    metadata_raw, document = parts["metadata"], parts["document"]
    metadata = parse_metadata(metadata_raw)
    if not key.may_act_for(metadata.agency.code, ctx.agency_code):
        raise Problem(
            403,
            "forbidden",
            "Forbidden",
            f"this API key may not act for agency {metadata.agency.code}",
            field="agency.code",
        )
    status, result = await accept(ctx, metadata, document, actor=key.id, api_key_id=key.id)
    headers = {"Location": f"/api/v1/results/{result.id}"} if status == 202 else None
    return web.json_response(summary(result), status=status, headers=headers)


async def accept(
    ctx: SignerContext,
    metadata: ResultMetadata,
    document: bytes,
    *,
    actor: str,
    api_key_id: str | None,
) -> tuple[int, ResultRecord]:
    """Accept a result for signing: (202, the new result), or (200, the same submission
    made before). The API's intake and the console's submit form both come here; the
    refusals are ``Problem``s and ``MetadataError``s naming the field."""
    if metadata.agency.code != ctx.agency_code:
        raise MetadataError(
            f"is {metadata.agency.code}, but this service signs for {ctx.agency_code}",
            field="agency.code",
        )
    digest = hashlib.sha256(document).hexdigest()
    decided = await ctx.db.read(_decide, metadata, digest)
    if isinstance(decided, ResultRecord):
        return _existing(decided)
    metadata = decided
    vetted: Failure | Accepted = await ctx.intake_pool.run(
        vet_and_store, document, ctx.max_document_bytes, metadata.lookup_secret
    )
    if isinstance(vetted, Failure):
        raise Problem(
            422, "bad-document", "The document cannot be signed", vetted.message, field="document"
        )
    result_id = new_id()
    try:
        new = new_result(
            result_id, metadata, digest, len(document), api_key_id, vetted.access_hash
        )
        accepted, created = await ctx.db.write(_accept, metadata, digest, new, actor)
    except IntegrityError:  # PostgreSQL: a concurrent twin committed first
        twin = await ctx.db.read(results.find, metadata.dossier_code, metadata.result_no)
        if twin is None:
            raise
        return _existing(twin, digest)
    if not accepted:
        return _existing(created)
    ctx.pipeline.wake()
    return 202, created


def _existing(result: ResultRecord, digest: str | None = None) -> tuple[int, ResultRecord]:
    if digest is not None and result.original_sha256 != digest:
        raise _conflict(result)
    return 200, result


def _conflict(result: ResultRecord) -> Problem:
    return Problem(
        409,
        "conflict",
        "Conflict",
        f"result {result.result_code} exists ({result.id}) with other bytes; to correct it, "
        f'send the new document with "supersedes": "{result.id}"',
        field="document",
        existing=result.id,
    )


def _accept(
    conn: Connection, metadata: ResultMetadata, digest: str, new: NewResult, actor: str
) -> tuple[bool, ResultRecord]:
    """The unit of work of acceptance: (True, the new result) or (False, the existing one)."""
    # decided again under the write lock: a concurrent twin may have won
    again = _decide(conn, metadata, digest)
    if isinstance(again, ResultRecord):
        return False, again
    created = results.insert_result(conn, new, actor=actor)
    jobs.enqueue(conn, new.id, JobKind.SIGN, new.agency_code)
    if metadata.supersedes is not None:
        results.move(
            conn,
            metadata.supersedes,
            ResultState.SUPERSEDED,
            detail=f"corrected by {new.id} (KQ{metadata.result_no})",
            actor=actor,
            superseded_by=new.id,
        )
    return True, created


def _decide(
    conn: Connection, metadata: ResultMetadata, digest: str
) -> ResultRecord | ResultMetadata:
    """An existing result (the same submission again), or the metadata to accept.

    Raises the 409 (other bytes under the same number) and the 422s of a
    bad ``supersedes``.
    """
    if metadata.supersedes is None:
        existing = results.find(conn, metadata.dossier_code, metadata.result_no)
        if existing is None:
            return metadata
        if existing.original_sha256 != digest:
            raise _conflict(existing)
        return existing
    old_id = metadata.supersedes
    old = results.get(conn, old_id) if looks_like_id(old_id) else None
    if old is None:
        raise MetadataError(f"no result {old_id!r} to supersede", field="supersedes")
    if old.dossier_code != metadata.dossier_code or old.agency_code != metadata.agency.code:
        raise MetadataError(
            f"result {old_id} belongs to dossier {old.dossier_code}, not {metadata.dossier_code}",
            field="supersedes",
        )
    if old.superseded_by is not None:
        newer = results.get(conn, old.superseded_by)
        if newer is not None and newer.original_sha256 == digest:
            return newer  # this correction, sent again
        raise Problem(
            409,
            "conflict",
            "Conflict",
            f"result {old_id} was already corrected by {old.superseded_by}",
            field="supersedes",
            existing=old.superseded_by,
        )
    if not old.state.issued:
        # a revoked, failed or not yet signed result is not one to correct (revoke a queued
        # one instead; a revoked one stays revoked)
        raise MetadataError(
            f"result {old_id} is {old.state.value}: only an issued result can be corrected",
            field="supersedes",
        )
    if old.original_sha256 == digest:
        raise MetadataError(
            "the correction is the same document as the result it corrects", field="supersedes"
        )
    number = _next_result_no(conn, metadata.dossier_code)
    return metadata.model_copy(update={"result_no": number})


def _next_result_no(conn: Connection, dossier_code: str) -> int:
    return results.highest_result_no(conn, dossier_code) + 1


def new_result(
    result_id: str,
    metadata: ResultMetadata,
    digest: str,
    size: int,
    api_key_id: str | None,
    access_hash: str | None,
) -> NewResult:
    """What the registry records of an accepted result (the API's intake, ``ketqua import``)."""
    return NewResult(
        id=result_id,
        dossier_code=metadata.dossier_code,
        result_no=metadata.result_no,
        agency_code=metadata.agency.code,
        procedure_code=metadata.procedure.code,
        # the access code leaves as a slow hash only (access_hash), never in the metadata
        metadata_json=metadata.model_dump_json(exclude={"lookup_secret"}, by_alias=True),
        publish=metadata.publish,
        received_at=metadata.received_at,
        due_at=metadata.due_at,
        resolved_at=metadata.resolved_at,
        original_sha256=digest,
        original_size=size,
        supersedes=metadata.supersedes,
        api_key_id=api_key_id,
        access_hash=access_hash,
    )
