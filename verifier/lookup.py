"""What the registry says of a sealed result: one read, public facts only.

The metadata is read as plain JSON (the verifier does not import the
signer's model): the agency's and procedure's names, the document's number
and date, what an electronic copy copies, and the applicant's name, masked
before it leaves this function (an organisation's is shown in full). Of a
revocation only the reason's code is read: the clerk's words stay internal.
"""

from __future__ import annotations

import json
from datetime import date, datetime

from sqlalchemy import Connection

from plumbing.masking import public_name
from registry import results
from registry.results import ResultRecord
from registry.states import ResultState
from seal import SealClaims
from verifier.report import Registered


def registered(conn: Connection, claims: SealClaims) -> Registered | None:
    """The result the seal names (dossier code + result number), as the pages may show it."""
    result = results.find(conn, claims.dossier_code, claims.result_no)
    if result is None or result.agency_code != claims.agency_code:
        return None
    revoked_at = None
    if result.state is ResultState.REVOKED:
        revoked_at = next(
            (
                e.at
                for e in reversed(results.events(conn, result.id))
                if e.state is ResultState.REVOKED
            ),
            result.updated_at,
        )
    current_url = None
    if result.superseded_by is not None:
        current = _latest(conn, result.superseded_by)
        current_url = current.seal_url if current is not None else None
    return _public(result, revoked_at, current_url)


def _latest(conn: Connection, result_id: str) -> ResultRecord | None:
    """Follow corrections of corrections to the result that stands now."""
    seen: set[str] = set()
    current = results.get(conn, result_id)
    while current is not None and current.superseded_by and current.id not in seen:
        seen.add(current.id)
        current = results.get(conn, current.superseded_by)
    return current


def _public(
    result: ResultRecord, revoked_at: datetime | None, current_url: str | None
) -> Registered:
    metadata = json.loads(result.metadata_json)
    applicant = metadata["applicant"]
    copy = metadata.get("copy") or {}
    document_date = metadata.get("document_date")
    return Registered(
        id=result.id,
        state=result.state,
        verification_code=result.verification_code,
        agency_name=str(metadata["agency"]["name"]),
        procedure_name=str(metadata["procedure"]["name"]),
        result_code=result.result_code,
        applicant_masked=public_name(str(applicant["name"]), applicant.get("kind", "person")),
        signed_at=result.signed_at,
        pades_level=result.pades_level,
        document_sha256=result.signed_sha256,
        signer_fingerprint=result.signer_fingerprint,
        revocation_code=result.revocation_code,
        revoked_at=revoked_at,
        current_url=current_url,
        document_number=metadata.get("document_number"),
        document_date=date.fromisoformat(document_date) if document_date else None,
        copy_form=copy.get("form"),
        copy_original=copy.get("original"),
    )
