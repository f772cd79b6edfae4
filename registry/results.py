"""Issued results and their history: the queries both services run (units of work: see database).

Every change of state writes an event in the same transaction, so a
result's history (``events``) is complete and in order.
"""

from __future__ import annotations

import functools
import json
import unicodedata
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Row, bindparam, exists, func, insert, or_, select, update

from registry.schema import api_keys, deliveries, result_events, results, staff
from registry.states import (
    DeliveryKind,
    HistoryStep,
    ResultState,
    RevocationReason,
    history_step,
)
from registry.timeliness import timeliness

PIPELINE = "pipeline"  # the actor of the service's own moves

# built once: executing them only binds parameters
_INSERT_RESULT = insert(results)
_INSERT_EVENT = insert(result_events)


@dataclass(frozen=True, slots=True)
class ResultEvent:
    at: datetime
    state: HistoryStep
    detail: str | None
    actor: str  # an API key's id, "pipeline", "cli:<user>", ...
    actor_name: str | None = None  # the API key's or staff member's name, when it is one


@dataclass(frozen=True, slots=True)
class NewResult:
    """What intake records of an accepted result; the registry adds its state and times."""

    id: str
    dossier_code: str
    result_no: int
    agency_code: str
    procedure_code: str
    publish: bool
    received_at: datetime
    due_at: datetime
    resolved_at: datetime
    original_sha256: str
    original_size: int
    metadata_json: str = field(repr=False)  # personal data
    supersedes: str | None = None
    api_key_id: str | None = None
    access_hash: str | None = field(default=None, repr=False)  # registry.access

    def __post_init__(self) -> None:
        if self.result_no < 1 or self.original_size < 0 or len(self.original_sha256) != 64:
            raise ValueError("a result needs a number from 1, a size and a SHA-256")
        if any(t.tzinfo is None for t in (self.received_at, self.due_at, self.resolved_at)):
            raise ValueError("a result's times must carry their time zone")


@dataclass(frozen=True, slots=True)
class SignedFacts:
    """What the registry records of a signed document (its bytes are in the blob store)."""

    signed_sha256: str
    signed_size: int
    signer_fingerprint: str
    seal_kid: str
    seal_url: str
    verification_code: str
    pades_level: str
    signed_at: datetime

    def __post_init__(self) -> None:
        if len(self.signed_sha256) != 64 or self.signed_size <= 0 or self.signed_at.tzinfo is None:
            raise ValueError("a signed document needs a SHA-256, a size and an aware time")


@dataclass(frozen=True, slots=True)
class ResultRecord:
    """One row of ``results``; ``metadata_json`` holds personal data (not in repr)."""

    id: str
    dossier_code: str
    result_no: int
    agency_code: str
    procedure_code: str
    state: ResultState
    publish: bool
    received_at: datetime
    due_at: datetime
    resolved_at: datetime
    original_sha256: str
    original_size: int
    signed_sha256: str | None
    signed_size: int | None
    signer_fingerprint: str | None
    seal_kid: str | None
    seal_url: str | None
    verification_code: str | None
    pades_level: str | None
    signed_at: datetime | None
    supersedes: str | None
    superseded_by: str | None
    revoked_reason: str | None
    failure: str | None
    api_key_id: str | None
    created_at: datetime
    updated_at: datetime
    metadata_json: str
    timeliness: str | None = None  # registry.timeliness; None only for rows from before it
    access_hash: str | None = field(default=None, repr=False)  # registry.access
    revocation_code: RevocationReason | None = None  # public; revoked_reason is internal
    applicant_folded: str | None = field(default=None, repr=False)  # registry.backoffice

    def __repr__(self) -> str:
        return f"ResultRecord(id={self.id!r}, state={self.state.value!r})"

    @property
    def result_code(self) -> str:
        return f"{self.dossier_code}-KQ{self.result_no}"

    @classmethod
    def from_row(cls, row: Row[Any]) -> ResultRecord:
        values = row._asdict()
        values["state"] = ResultState(values["state"])
        if values.get("revocation_code") is not None:
            values["revocation_code"] = RevocationReason(values["revocation_code"])
        return cls(**values)


_GET = select(results).where(results.c.id == bindparam("id"))
_FIND = select(results).where(
    results.c.dossier_code == bindparam("dossier_code"),
    results.c.result_no == bindparam("result_no"),
)


def get(conn: Connection, result_id: str) -> ResultRecord | None:
    row = conn.execute(_GET, {"id": result_id}).first()
    return ResultRecord.from_row(row) if row is not None else None


def find(conn: Connection, dossier_code: str, result_no: int) -> ResultRecord | None:
    row = conn.execute(_FIND, {"dossier_code": dossier_code, "result_no": result_no}).first()
    return ResultRecord.from_row(row) if row is not None else None


def find_signed(conn: Connection, signed_sha256: str) -> ResultRecord | None:
    """The result whose signed document has this SHA-256 (an uploaded file, checked)."""
    row = conn.execute(select(results).where(results.c.signed_sha256 == signed_sha256)).first()
    return ResultRecord.from_row(row) if row is not None else None


def successor(conn: Connection, result_id: str) -> ResultRecord | None:
    """The result accepted as the correction of ``result_id``, if any."""
    row = (conn.execute(select(results).where(results.c.supersedes == result_id))).first()
    return ResultRecord.from_row(row) if row is not None else None


def events(conn: Connection, result_id: str) -> list[ResultEvent]:
    query = (
        select(
            result_events,
            func.coalesce(api_keys.c.name, staff.c.name).label("actor_name"),
        )
        .outerjoin(api_keys, api_keys.c.id == result_events.c.actor)
        .outerjoin(staff, staff.c.id == result_events.c.actor)
        .where(result_events.c.result_id == result_id)
        .order_by(result_events.c.id)
    )
    return [
        ResultEvent(r.at, history_step(r.state), r.detail, r.actor, r.actor_name)
        for r in conn.execute(query)
    ]


def page(
    conn: Connection,
    *,
    state: ResultState | None,
    after: str | None,
    limit: int,
    agencies: tuple[str, ...],
    dossier_code: str | None = None,
    delivery: str | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
) -> list[ResultRecord]:
    """Results of ``agencies`` in id (= creation) order, after the id ``after``; narrowed to
    a dossier, to results with a delivery of the result in state ``delivery`` (pending,
    sent, failed), and to those created in [start, end)."""
    query = (
        select(results)
        .where(results.c.agency_code.in_(agencies))
        .order_by(results.c.id)
        .limit(limit)
    )
    if state is not None:
        query = query.where(results.c.state == state.value)
    if after is not None:
        query = query.where(results.c.id > after)
    if dossier_code is not None:
        query = query.where(results.c.dossier_code == dossier_code)
    if delivery is not None:
        query = query.where(
            exists().where(
                deliveries.c.result_id == results.c.id,
                deliveries.c.kind == DeliveryKind.RESULT.value,
                deliveries.c.state == delivery,
            )
        )
    if start is not None:
        query = query.where(results.c.created_at >= start)
    if end is not None:
        query = query.where(results.c.created_at < end)
    return [ResultRecord.from_row(r) for r in conn.execute(query)]


def events_since(
    conn: Connection, result_id: str, step: HistoryStep, since: datetime
) -> list[datetime]:
    """When ``step`` happened to the result since ``since``."""
    query = select(result_events.c.at).where(
        result_events.c.result_id == result_id,
        result_events.c.state == step.value,
        result_events.c.at >= since,
    )
    return [row.at for row in conn.execute(query)]


def highest_result_no(conn: Connection, dossier_code: str) -> int:
    """The dossier's highest result number so far; 0 if it has none."""
    query = select(func.max(results.c.result_no)).where(results.c.dossier_code == dossier_code)
    return int(conn.execute(query).scalar() or 0)


def count_by_state(conn: Connection) -> dict[ResultState, int]:
    query = select(results.c.state, func.count()).group_by(results.c.state)
    return {ResultState(state): count for state, count in (conn.execute(query)).tuples()}


def folded_applicant(metadata_json: str) -> str | None:
    """The applicant's name as the back office's search compares it: NFC, casefolded."""
    name = json.loads(metadata_json).get("applicant", {}).get("name")
    return unicodedata.normalize("NFC", name).casefold()[:200] if isinstance(name, str) else None


def insert_result(conn: Connection, new: NewResult, *, actor: str) -> ResultRecord:
    """A new ``queued`` result with its first event; returns it as stored."""
    now = datetime.now(UTC)
    row: dict[str, Any] = {column.name: None for column in results.columns}
    row.update(asdict(new), state=ResultState.QUEUED.value, created_at=now, updated_at=now)
    row["timeliness"] = timeliness(new.resolved_at, new.due_at).value
    row["applicant_folded"] = folded_applicant(new.metadata_json)
    conn.execute(_INSERT_RESULT, row)
    add_event(conn, new.id, ResultState.QUEUED, "accepted", actor, at=now)
    return ResultRecord(**{**row, "state": ResultState.QUEUED})


def record_signed(
    conn: Connection, result_id: str, facts: SignedFacts, *, publish: bool, detail: str
) -> bool:
    """Record the signed document and move ``signing`` -> ``signed`` (-> ``published``).

    False if the result left ``signing`` meanwhile (revoked, superseded): the
    document is recorded all the same and the state kept.
    """
    now = datetime.now(UTC)
    final = ResultState.PUBLISHED if publish else ResultState.SIGNED
    values = {**asdict(facts), "failure": None}
    done = conn.execute(
        _RECORD_SIGNED,
        {"result_id": result_id, "new_state": final.value, "now": now}
        | {f"set_{k}": v for k, v in values.items()},
    )
    if done.rowcount == 0:
        set_values(conn, result_id, **values)
        return False
    steps = [(ResultState.SIGNED, detail)] + ([(ResultState.PUBLISHED, None)] if publish else [])
    conn.execute(
        _INSERT_EVENT,
        [
            {"result_id": result_id, "at": now, "state": s.value, "detail": d, "actor": PIPELINE}
            for s, d in steps
        ],
    )
    return True


_RECORD_SIGNED = (
    update(results)
    .where(results.c.id == bindparam("result_id"), results.c.state == ResultState.SIGNING.value)
    .values(
        state=bindparam("new_state"),
        updated_at=bindparam("now"),
        failure=bindparam("set_failure"),
        **{name: bindparam(f"set_{name}") for name in SignedFacts.__dataclass_fields__},
    )
)


def add_event(
    conn: Connection,
    result_id: str,
    state: HistoryStep,
    detail: str | None,
    actor: str,
    *,
    at: datetime | None = None,
) -> None:
    conn.execute(
        _INSERT_EVENT,
        {
            "result_id": result_id,
            "at": at or datetime.now(UTC),
            "state": state.value,
            "detail": detail,
            "actor": actor,
        },
    )


def move(
    conn: Connection,
    result_id: str,
    state: ResultState,
    *,
    detail: str | None = None,
    actor: str = PIPELINE,
    only_from: tuple[ResultState, ...] | None = None,
    **values: Any,
) -> bool:
    """Set the state (and ``values``) and record the event; False if ``only_from`` did not hold."""
    now = datetime.now(UTC)
    query = _move_statement(only_from, tuple(sorted(values)))
    done = conn.execute(
        query,
        {
            "result_id": result_id,
            "new_state": state.value,
            "now": now,
            **{f"set_{k}": v for k, v in values.items()},
        },
    )
    if done.rowcount == 0:
        return False
    add_event(conn, result_id, state, detail, actor, at=now)
    return True


@functools.cache
def _move_statement(only_from: tuple[ResultState, ...] | None, columns: tuple[str, ...]) -> Any:
    """Built once for each shape: building a statement costs more than running it."""
    query = update(results).where(results.c.id == bindparam("result_id"))
    if only_from is not None:  # literal states: no expanding IN to render at each run
        query = query.where(or_(*(results.c.state == s.value for s in only_from)))
    return query.values(
        state=bindparam("new_state"),
        updated_at=bindparam("now"),
        **{k: bindparam(f"set_{k}") for k in columns},
    )


def set_access_hash(conn: Connection, result_id: str, access_hash: str) -> bool:
    """Set the access code's hash if none is set yet; False if one was (it stays)."""
    done = conn.execute(
        update(results)
        .where(results.c.id == result_id, results.c.access_hash.is_(None))
        .values(access_hash=access_hash)
    )
    return done.rowcount == 1


def set_values(conn: Connection, result_id: str, **values: Any) -> None:
    conn.execute(
        update(results)
        .where(results.c.id == result_id)
        .values(updated_at=datetime.now(UTC), **values)
    )
