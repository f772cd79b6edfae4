"""The outbox: one delivery per recipient of a signed result, and every attempt to send it.

A delivery is created in the same transaction that records the signed
document (or that asks for a resend), together with the ``deliver`` job that
sends it; the job queue (``registry.jobs``) gives it a lease, retries and
backoff. The delivery keeps what the operator and the applicant care about:
the recipient, the state (``pending``, ``sent``, ``failed``), the
Message-ID (fixed at creation, the same on every attempt), and each
attempt's time, outcome and the server's reply.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection, bindparam, func, insert, select, update

from registry import jobs, results
from registry.ids import new_id
from registry.jobs import Job
from registry.schema import deliveries, delivery_attempts
from registry.states import (
    AttemptOutcome,
    DeliveryKind,
    DeliveryState,
    EventKind,
    JobKind,
    ResultState,
)

EMAIL = "email"


@dataclass(frozen=True, slots=True)
class Attempt:
    at: datetime
    outcome: AttemptOutcome
    reply: str


@dataclass(frozen=True, slots=True)
class Delivery:
    """One row of ``deliveries`` with its attempts; ``recipient`` is personal data."""

    id: str
    result_id: str
    channel: str
    recipient: str
    state: DeliveryState
    message_id: str
    attempts: tuple[Attempt, ...]
    last_reply: str | None
    mode: str | None
    created_at: datetime
    sent_at: datetime | None
    kind: DeliveryKind = DeliveryKind.RESULT

    def __repr__(self) -> str:
        return f"Delivery(id={self.id!r}, state={self.state.value!r})"


def message_id(delivery_id: str, domain: str) -> str:
    return f"<{delivery_id.lower()}.ketqua@{domain}>"


def create(
    conn: Connection,
    result_id: str,
    recipients: list[str],
    *,
    agency_code: str,
    domain: str,
    actor: str,
    kind: DeliveryKind = DeliveryKind.RESULT,
    leased_to: tuple[str, timedelta] | None = None,
) -> list[tuple[Delivery, Job | None]]:
    """A pending delivery and its ``deliver`` job per recipient: each delivery, with its
    job when the jobs are queued ``leased_to`` (owner, lease) a process (``jobs.enqueue``)."""
    now = datetime.now(UTC)
    created: list[tuple[Delivery, Job | None]] = []
    for recipient in recipients:
        delivery_id = new_id()
        delivery = Delivery(
            id=delivery_id,
            result_id=result_id,
            channel=EMAIL,
            recipient=recipient,
            state=DeliveryState.PENDING,
            message_id=message_id(delivery_id, domain),
            attempts=(),
            last_reply=None,
            mode=None,
            created_at=now,
            sent_at=None,
            kind=kind,
        )
        conn.execute(
            _INSERT_DELIVERY,
            {
                "id": delivery.id,
                "result_id": result_id,
                "channel": delivery.channel,
                "recipient": recipient,
                "state": delivery.state.value,
                "message_id": delivery.message_id,
                "attempts": 0,
                "kind": kind.value,
                "created_at": now,
                "updated_at": now,
            },
        )
        job = jobs.enqueue(
            conn,
            result_id,
            JobKind.DELIVER,
            agency_code,
            at=now,
            delivery_id=delivery_id,
            leased_to=leased_to,
        )
        created.append((delivery, job))
    if created:
        results.add_event(
            conn,
            result_id,
            EventKind.DELIVERY,
            f"{len(created)} email delivery(ies) queued"
            + (" (revocation notice)" if kind is DeliveryKind.REVOCATION else ""),
            actor,
            at=now,
        )
    return created


_INSERT_DELIVERY = insert(deliveries)


def summaries(conn: Connection, result_ids: list[str]) -> dict[str, dict[str, int]]:
    """For each result, how many deliveries of the result itself are pending, sent, failed."""
    if not result_ids:
        return {}
    query = (
        select(deliveries.c.result_id, deliveries.c.state, func.count())
        .where(
            deliveries.c.result_id.in_(result_ids),
            deliveries.c.kind == DeliveryKind.RESULT.value,
        )
        .group_by(deliveries.c.result_id, deliveries.c.state)
    )
    counted: dict[str, dict[str, int]] = {
        i: {s.value: 0 for s in DeliveryState} for i in result_ids
    }
    for result_id, state, n in conn.execute(query).tuples():
        counted[result_id][state] = n
    return counted


def get(conn: Connection, delivery_id: str) -> Delivery | None:
    found = for_ids(conn, [delivery_id])
    return found[0] if found else None


def for_result(conn: Connection, result_id: str) -> list[Delivery]:
    ids = conn.execute(
        select(deliveries.c.id)
        .where(deliveries.c.result_id == result_id)
        .order_by(deliveries.c.created_at, deliveries.c.id)
    ).scalars()
    return for_ids(conn, list(ids))


def for_ids(conn: Connection, ids: list[str]) -> list[Delivery]:
    if not ids:
        return []
    rows = conn.execute(
        select(deliveries).where(deliveries.c.id.in_(ids)).order_by(deliveries.c.created_at)
    ).all()
    tried: dict[str, list[Attempt]] = {i: [] for i in ids}
    for attempt in conn.execute(
        select(delivery_attempts)
        .where(delivery_attempts.c.delivery_id.in_(ids))
        .order_by(delivery_attempts.c.id)
    ):
        tried[attempt.delivery_id].append(
            Attempt(attempt.at, AttemptOutcome(attempt.outcome), attempt.reply)
        )
    return [
        Delivery(
            id=row.id,
            result_id=row.result_id,
            channel=row.channel,
            recipient=row.recipient,
            state=DeliveryState(row.state),
            message_id=row.message_id,
            attempts=tuple(tried[row.id]),
            last_reply=row.last_reply,
            mode=row.mode,
            created_at=row.created_at,
            sent_at=row.sent_at,
            kind=DeliveryKind(row.kind),
        )
        for row in rows
    ]


def record_attempt(
    conn: Connection,
    delivery_id: str,
    result_id: str,
    outcome: AttemptOutcome,
    reply: str,
    *,
    give_up: bool = False,
    mode: str | None = None,
) -> DeliveryState:
    """Record one attempt and the delivery's new state; a sent one may make the result delivered.

    ``give_up``: a temporary failure that ends the delivery (too old to retry).
    """
    now = datetime.now(UTC)
    conn.execute(
        _INSERT_ATTEMPT,
        {"delivery_id": delivery_id, "at": now, "outcome": outcome.value, "reply": reply},
    )
    if outcome is AttemptOutcome.SENT:
        state = DeliveryState.SENT
    elif outcome is AttemptOutcome.PERMANENT or give_up:
        state = DeliveryState.FAILED
    else:
        state = DeliveryState.PENDING
    conn.execute(
        _RECORD_ATTEMPT,
        {
            "delivery_id": delivery_id,
            "new_state": state.value,
            "reply": reply,
            "now": now,
            "new_mode": mode,
            "new_sent_at": now if state is DeliveryState.SENT else None,
        },
    )
    if state is DeliveryState.SENT and _all_sent(conn, result_id):
        results.move(
            conn,
            result_id,
            ResultState.DELIVERED,
            detail="every recipient's server accepted the email",
            only_from=(ResultState.PUBLISHED, ResultState.SIGNED),
        )
    return state


_INSERT_ATTEMPT = insert(delivery_attempts)
# a mode or a sending time once set stays (an attempt without either keeps them)
_RECORD_ATTEMPT = (
    update(deliveries)
    .where(deliveries.c.id == bindparam("delivery_id"))
    .values(
        state=bindparam("new_state"),
        last_reply=bindparam("reply"),
        attempts=deliveries.c.attempts + 1,
        updated_at=bindparam("now"),
        mode=func.coalesce(bindparam("new_mode", type_=deliveries.c.mode.type), deliveries.c.mode),
        sent_at=func.coalesce(
            bindparam("new_sent_at", type_=deliveries.c.sent_at.type), deliveries.c.sent_at
        ),
    )
)
_SENDINGS = select(deliveries.c.recipient, deliveries.c.state, deliveries.c.created_at).where(
    deliveries.c.result_id == bindparam("result_id"),
    deliveries.c.kind == DeliveryKind.RESULT.value,
)


def _all_sent(conn: Connection, result_id: str) -> bool:
    """Every recipient of the latest sending (the first, or the last resend: perhaps to a
    corrected address) has a sent delivery of the result; a failed one resent later counts
    once sent, and an address corrected away no longer counts."""
    rows = conn.execute(_SENDINGS, {"result_id": result_id}).all()
    if not rows:
        return False
    latest = max(r.created_at for r in rows)
    sent = {r.recipient for r in rows if r.state == DeliveryState.SENT.value}
    return all(r.recipient in sent for r in rows if r.created_at == latest)


def counts(conn: Connection) -> dict[str, int]:
    """Deliveries by state (for the metrics)."""
    query = select(deliveries.c.state, func.count()).group_by(deliveries.c.state)
    return {state: int(n) for state, n in conn.execute(query).tuples()}
