"""A result's life: the states of DESIGN.md and the moves between them."""

from __future__ import annotations

from enum import StrEnum


class ResultState(StrEnum):
    QUEUED = "queued"
    SIGNING = "signing"
    SIGNED = "signed"  # signed, not listed (metadata "publish": false)
    PUBLISHED = "published"
    DELIVERED = "delivered"
    FAILED = "failed"
    REVOKED = "revoked"
    SUPERSEDED = "superseded"

    @property
    def issued(self) -> bool:
        """A signed document exists and stands."""
        return self in (ResultState.SIGNED, ResultState.PUBLISHED, ResultState.DELIVERED)

    @property
    def final(self) -> bool:
        """Nothing will sign this result any more."""
        return self in (ResultState.FAILED, ResultState.REVOKED, ResultState.SUPERSEDED)


class RevocationReason(StrEnum):
    """Why a result was revoked, from a fixed list: the public sees this, never the free text.

    The labels people read are ``plumbing.terms.REVOCATION_REASONS``.
    """

    ISSUED_IN_ERROR = "issued_in_error"
    REPLACED = "replaced"
    APPLICANT_REQUEST = "applicant_request"
    AUTHORITY_DECISION = "authority_decision"
    OTHER = "other"


class EventKind(StrEnum):
    """Steps of a result's history that are not a change of state."""

    DELIVERY = "delivery"  # e-mail deliveries queued
    RESEND = "resend"  # the back office asked for the e-mail again


HistoryStep = ResultState | EventKind


def history_step(value: str) -> HistoryStep:
    """What a history row's ``state`` column holds: a state, or another kind of step."""
    return ResultState(value) if value in _STATES else EventKind(value)


_STATES = frozenset(state.value for state in ResultState)


class JobState(StrEnum):
    QUEUED = "queued"  # waiting, or leased by a worker (lease_until in the future)
    DONE = "done"
    FAILED = "failed"


class JobKind(StrEnum):
    SIGN = "sign"
    DELIVER = "deliver"


class DeliveryState(StrEnum):
    PENDING = "pending"  # not sent yet: waiting, being sent, or backing off after a 4xx
    SENT = "sent"  # the server accepted it (250)
    FAILED = "failed"  # refused for good (5xx), or still not sent at the maximum age


class DeliveryKind(StrEnum):
    """What an e-mail delivery carries."""

    RESULT = "result"  # the signed result (attached, or linked when too large)
    REVOCATION = "revocation"  # a short notice that the result was revoked: no attachment


class AttemptOutcome(StrEnum):
    SENT = "sent"
    TEMPORARY = "temporary"  # retried: connection, timeout, 4xx
    PERMANENT = "permanent"  # not retried: 5xx for this message or recipient
