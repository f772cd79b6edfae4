"""Email delivery of signed results: the message, the transports, the outbox's workers.

``queue_email`` runs inside the transaction that issues a result (or asks
for a resend, or revokes it: a short notice) and adds one delivery per
recipient to the outbox
(``registry.outbox``); ``worker.Deliverer`` sends them through
``transport`` (SMTP with aiosmtplib, or the pickup folder).
"""

from __future__ import annotations

from sqlalchemy import Connection

from registry import outbox
from registry.results import ResultRecord
from registry.states import DeliveryKind
from signer.metadata import parse_metadata


def recipients(result: ResultRecord) -> list[str]:
    """Who gets the result by email: the applicant, when the metadata asks for it."""
    metadata = parse_metadata(result.metadata_json)
    if not metadata.deliver.email or metadata.applicant.email is None:
        return []
    return [str(metadata.applicant.email)]


def queue_email(
    conn: Connection,
    result: ResultRecord,
    *,
    domain: str,
    actor: str,
    kind: DeliveryKind = DeliveryKind.RESULT,
) -> list[str]:
    """The result's deliveries (or its revocation notices), added to the outbox in the
    caller's transaction."""
    return outbox.create(
        conn,
        result.id,
        recipients(result),
        agency_code=result.agency_code,
        domain=domain,
        actor=actor,
        kind=kind,
    )
