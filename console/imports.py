"""Registering a result signed outside the service: ``ketqua import`` and the console's upload.

A result signed with ``ketqua sign`` (or by another tool with this agency's
keys) is in no registry, so its QR answers "not found". Importing checks it
as strictly as an upload is checked (``verifier.validation``): every
signature intact, the last one made with this agency's certificate from the
trust list with nothing after it that could change what is shown, a QR seal
that is genuine, made for this very file, by the agency, for the dossier
and result number the metadata names. Then, in one transaction, the result
is recorded as issued (``signed``, or ``published`` when the metadata asks
for publication) with the facts read from the file, and the file goes to the
blob store byte for byte. Nothing is signed again and no e-mail is sent.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from plumbing.errors import Conflict, InputError
from registry import results
from registry.access import DERIVED, hash_code
from registry.blobs import BlobStore
from registry.database import Database
from registry.ids import new_id
from registry.results import NewResult, ResultRecord, SignedFacts
from registry.states import ResultState
from signer.api.intake import new_result
from signer.metadata import ResultMetadata
from verifier.validation import Refused, SealRead, UploadCheck, validate_upload

MAX_PAGES = 500

# runs a CPU-bound function and its arguments elsewhere: a process pool's run, to_thread
Runner = Callable[..., Awaitable[Any]]


def checked_facts(
    check: UploadCheck, metadata: ResultMetadata, sha256: str, size: int
) -> SignedFacts:
    """What the registry records of the file, once it is shown to be this agency's result."""
    unfit = check.not_the_agencys()
    if unfit is not None:
        raise InputError(f"not a result this agency issued: {unfit.english()}", field="document")
    seal = check.seal
    if not isinstance(seal, SealRead):
        raise InputError("the document carries no QR seal", field="document")
    agency = check.signatures[-1]
    if seal.agency_code != metadata.agency.code:
        raise InputError(
            f"the QR seal is agency {seal.agency_code}'s, the metadata names "
            f"{metadata.agency.code}",
            field="agency.code",
        )
    if (seal.dossier_code, seal.result_no) != (metadata.dossier_code, metadata.result_no):
        raise InputError(
            f"the QR seal is for {seal.dossier_code}-KQ{seal.result_no}, the metadata names "
            f"{metadata.dossier_code}-KQ{metadata.result_no}",
            field="dossier_code",
        )
    validated = agency.validated
    if validated is None or validated.signing_time is None or agency.signer_fingerprint is None:
        raise InputError("the agency's signature carries no signing time", field="document")
    return SignedFacts(
        signed_sha256=sha256,
        signed_size=size,
        signer_fingerprint=agency.signer_fingerprint,
        seal_kid=seal.kid,
        seal_url=seal.text,
        verification_code=seal.verification_code,
        pades_level=validated.level,
        signed_at=datetime.fromisoformat(validated.signing_time),
    )


def _record(
    conn: Any,
    new: NewResult,
    facts: SignedFacts,
    publish: bool,
    actor: str,
) -> ResultRecord:
    existing = results.find(conn, new.dossier_code, new.result_no)
    if existing is not None:
        if existing.signed_sha256 == facts.signed_sha256:
            return existing  # imported already: the same answer again
        raise Conflict(
            f"{existing.result_code} is in the registry already, as another file",
            field="dossier_code",
        )
    results.insert_result(conn, new, actor=actor)
    results.move(conn, new.id, ResultState.SIGNING, detail="imported", actor=actor)
    results.record_signed(
        conn, new.id, facts, publish=publish, detail="signed outside the service, imported"
    )
    found = results.get(conn, new.id)
    assert found is not None
    return found


async def import_signed(
    db: Database,
    blobs: BlobStore,
    data: bytes,
    metadata: ResultMetadata,
    trust_json: bytes,
    *,
    actor: str,
    run: Runner = asyncio.to_thread,
) -> ResultRecord:
    """Check ``data`` against ``metadata`` and the trust list, then register and keep it;
    ``InputError``s name the field at fault. ``run``: where the checking's CPU work runs."""
    if metadata.supersedes is not None:
        raise InputError(
            "a correction is issued through the service, not imported", field="supersedes"
        )
    check = await run(validate_upload, data, trust_json, MAX_PAGES)
    if isinstance(check, Refused):
        raise InputError(check.reason, field="document")
    sha256 = hashlib.sha256(data).hexdigest()
    facts = checked_facts(check, metadata, sha256, len(data))
    access_hash = DERIVED  # a generated code, derived again when checked
    if metadata.lookup_secret is not None:
        access_hash = await run(hash_code, metadata.lookup_secret)
    # the unsigned original is not at hand: the file imported stands for it
    new = new_result(new_id(), metadata, sha256, len(data), None, access_hash)
    await blobs.put(data)  # before the row that names it: never a row without its file
    return await db.write(_record, new, facts, metadata.publish, actor)
