"""Email delivery of signed results: the message, the transports, the outbox's workers.

``queue_email`` runs inside the transaction that issues a result (or asks
for a resend, or revokes it: a short notice) and adds one delivery per
recipient to the outbox
(``registry.outbox``); ``worker.Deliverer`` sends them through
``transport`` (SMTP with aiosmtplib, or the pickup folder).
"""

from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import Connection

from registry import outbox
from registry.jobs import Job
from registry.outbox import Delivery
from registry.results import ResultRecord
from registry.states import DeliveryKind
from signer import metadata as checked


def recipients(result: ResultRecord) -> list[str]:
    """Who gets the result by email: the applicant, when the metadata asks for it.

    Read from the stored metadata's JSON as it is: intake wrote it from checked
    metadata (``ResultMetadata``), and this runs in the transaction that issues the
    result, where validating it all again cost more than the rest of that transaction.
    """
    metadata = json.loads(result.metadata_json)
    address = metadata.get("applicant", {}).get("email")
    if not metadata.get("deliver", {}).get("email", checked.Delivery().email) or not address:
        return []
    return [str(address)]


def queue_email(
    conn: Connection,
    result: ResultRecord,
    *,
    domain: str,
    actor: str,
    kind: DeliveryKind = DeliveryKind.RESULT,
    leased_to: tuple[str, timedelta] | None = None,
) -> list[tuple[Delivery, Job | None]]:
    """The result's deliveries (or its revocation notices), added to the outbox in the
    caller's transaction; each with its job when they are queued ``leased_to`` (owner,
    lease) a process that sends them at once."""
    return outbox.create(
        conn,
        result.id,
        recipients(result),
        agency_code=result.agency_code,
        domain=domain,
        actor=actor,
        kind=kind,
        leased_to=leased_to,
    )
