"""A result as the API shows it: state, history, signature facts, deliveries, links.

No personal data: the recipient's address is masked (``plumbing.masking``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from plumbing.masking import mask_email, mask_emails
from plumbing.vietnam import VIETNAM_TIME
from registry.outbox import Delivery
from registry.results import ResultEvent, ResultRecord
from registry.states import DeliveryKind, DeliveryState

API = "/api/v1/results"


def _time(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def summary(result: ResultRecord, delivered: dict[str, int] | None = None) -> dict[str, Any]:
    """The list's row; ``delivered``: how many e-mails of the result are pending, sent,
    failed (a refused one shows here even while the result itself stays published)."""
    return {
        "id": result.id,
        "state": result.state.value,
        "dossier_code": result.dossier_code,
        "result_no": result.result_no,
        "result_code": result.result_code,
        "agency_code": result.agency_code,
        "procedure_code": result.procedure_code,
        "created_at": _time(result.created_at),
        "updated_at": _time(result.updated_at),
        "failure": result.failure,
        "delivery": delivered or {s.value: 0 for s in DeliveryState},
        "links": {"self": f"{API}/{result.id}"},
    }


def delivery(item: Delivery) -> dict[str, Any]:
    """A delivery with its attempts; the address and the replies that quote it are masked."""
    return {
        "id": item.id,
        "channel": item.channel,
        "recipient": mask_email(item.recipient),
        "state": item.state.value,
        "message_id": item.message_id,
        "mode": item.mode,
        "kind": item.kind.value,
        "created_at": _time(item.created_at),
        "sent_at": _time(item.sent_at),
        "attempts": [
            {"at": _time(a.at), "outcome": a.outcome.value, "reply": mask_emails(a.reply)}
            for a in item.attempts
        ],
    }


def detail(
    result: ResultRecord, events: list[ResultEvent], deliveries: list[Delivery]
) -> dict[str, Any]:
    counted = {s.value: 0 for s in DeliveryState}
    for d in deliveries:
        if d.kind is DeliveryKind.RESULT:
            counted[d.state.value] += 1
    body = summary(result, counted)
    body["original"] = {"sha256": result.original_sha256, "size": result.original_size}
    body["signature"] = (
        {
            "level": result.pades_level,
            # as printed on the stamp: Vietnam time
            "signed_at": _time(result.signed_at and result.signed_at.astimezone(VIETNAM_TIME)),
            "signer_fingerprint": result.signer_fingerprint,
            "seal_kid": result.seal_kid,
            "verification_code": result.verification_code,
            "document_sha256": result.signed_sha256,
            "document_size": result.signed_size,
        }
        if result.signed_sha256 is not None
        else None
    )
    body["verification_url"] = result.seal_url
    body["publish"] = result.publish
    body["supersedes"] = result.supersedes
    body["superseded_by"] = result.superseded_by
    body["revocation_code"] = result.revocation_code
    body["revoked_reason"] = result.revoked_reason
    body["events"] = [
        {
            "at": _time(e.at),
            "state": e.state,
            "detail": e.detail,
            "actor": e.actor,
            # who that is, as people name it: the key's name (the id is in apikey list too)
            "actor_name": e.actor_name or e.actor,
        }
        for e in events
    ]
    body["deliveries"] = [delivery(d) for d in deliveries]
    if result.signed_sha256 is not None:
        body["links"]["document"] = f"{API}/{result.id}/document"
    if result.seal_url is not None:
        body["links"]["verification"] = result.seal_url
    return body
