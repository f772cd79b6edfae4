"""What staff do to a result, the same through the API and the command line: revoke, resend.

Each action checks what the result's state allows (a ``Conflict`` naming why
not), then changes the registry in one transaction: the state, the history
under the actor's name, and the e-mails it causes (a revocation notice, a
delivery again) in the outbox. Callers wake the delivery workers if they
run in the same process; otherwise the workers find the new deliveries at
their next poll.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime, timedelta

from pydantic import EmailStr, TypeAdapter, ValidationError
from sqlalchemy import Connection

from plumbing.errors import Conflict, InputError
from plumbing.masking import mask_email
from registry import results
from registry.database import Database
from registry.results import ResultRecord
from registry.states import DeliveryKind, EventKind, ResultState, RevocationReason
from signer.delivery import queue_email, recipients

RESENDS_PER_WINDOW, RESEND_WINDOW = 3, timedelta(hours=1)
_EMAIL: TypeAdapter[EmailStr] = TypeAdapter(EmailStr)


def email_address(value: object) -> str:
    """A corrected address, checked as the metadata's are; an ``InputError`` naming email."""
    try:
        return str(_EMAIL.validate_python(value))
    except ValidationError:
        raise InputError("must be an e-mail address", field="email") from None


def revoke(
    conn: Connection,
    result: ResultRecord,
    code: RevocationReason,
    reason: str | None,
    actor: str,
    domain: str,
) -> bool:
    """Revoked, and (in the same transaction) a notice to whoever was sent the result;
    False when a concurrent change got there first (answer as for the state it left)."""
    if result.state is ResultState.SUPERSEDED:
        raise Conflict(
            f"result {result.id} was corrected by {result.superseded_by}; revoke that one",
            field="id",
        )
    moved = results.move(
        conn,
        result.id,
        ResultState.REVOKED,
        detail=f"{code.value}: {reason}" if reason else code.value,
        actor=actor,
        only_from=tuple(
            s for s in ResultState if s not in (ResultState.SUPERSEDED, ResultState.REVOKED)
        ),
        revoked_reason=reason,
        revocation_code=code.value,
    )
    if moved and result.signed_at is not None:  # signed: it may have reached the applicant
        queue_email(conn, result, domain=domain, actor=actor, kind=DeliveryKind.REVOCATION)
    return bool(moved)


def check_resend(result: ResultRecord, address: str | None) -> None:
    """Whether ``result`` can be sent again (to ``address``, or to its recipients)."""
    if not result.state.issued:
        raise Conflict(
            f"result {result.id} is {result.state}: only a signed result can be sent",
            field="id",
        )
    if address is None and not recipients(result):
        raise Conflict(
            f"result {result.id} asks for no email delivery (deliver.email is false)", field="id"
        )


async def resends_free_at(db: Database, result: ResultRecord, now: datetime) -> datetime | None:
    """When the result may be sent again, if it was sent again too often within the hour
    (no one may flood an applicant's inbox); None: now."""
    recent = await db.read(results.events_since, result.id, EventKind.RESEND, now - RESEND_WINDOW)
    if len(recent) < RESENDS_PER_WINDOW:
        return None
    return sorted(recent)[-RESENDS_PER_WINDOW] + RESEND_WINDOW


def resend(
    conn: Connection, result: ResultRecord, domain: str, actor: str, address: str | None
) -> None:
    """New deliveries (new Message-IDs); the earlier ones and their attempts stay as they
    were. A corrected ``address`` is the applicant's from now on, the change in the history."""
    # checked again in the transaction: a revocation may have come between
    fresh = results.get(conn, result.id)
    if fresh is None:
        raise Conflict(f"result {result.id} is gone", field="id")
    check_resend(fresh, address)
    result = fresh
    what = "delivery requested again"
    if address is not None:
        metadata = json.loads(result.metadata_json)
        before = metadata["applicant"].get("email")
        metadata["applicant"]["email"] = address
        metadata.setdefault("deliver", {})["email"] = True
        stored = json.dumps(metadata, ensure_ascii=False)
        results.set_values(conn, result.id, metadata_json=stored)
        result = replace(result, metadata_json=stored)
        was = f"; was {mask_email(before)}" if before else ""
        what += f" to a corrected address, {mask_email(address)}{was}"
    results.add_event(conn, result.id, EventKind.RESEND, what, actor)
    queue_email(conn, result, domain=domain, actor=actor)
