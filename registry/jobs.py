"""The job queue, in the registry's database: durable, leased, retried.

A job is claimed with a lease that expires: a worker that dies holds its
jobs only until then, and a live worker renews its lease while it works.
Finishing checks the lease is still ours, so a job taken over by another
worker is recorded once. On PostgreSQL the claim skips rows another
transaction holds (``FOR UPDATE SKIP LOCKED``); SQLite serialises writers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection, bindparam, func, insert, or_, select, update

from registry.schema import jobs
from registry.states import JobKind, JobState


@dataclass(frozen=True, slots=True)
class Job:
    id: int
    result_id: str
    kind: JobKind
    attempts: int  # including this one
    owner: str
    delivery_id: str | None = None  # the delivery a "deliver" job sends


# statements built once: SQLAlchemy then only binds parameters (half the CPU per call)
_INSERT = insert(jobs)
_INSERT_LEASED = insert(jobs).returning(jobs.c.id)


def enqueue(
    conn: Connection,
    result_id: str,
    kind: JobKind,
    agency_code: str,
    *,
    at: datetime | None = None,
    delivery_id: str | None = None,
    leased_to: tuple[str, timedelta] | None = None,
) -> Job | None:
    """Queue a job; with ``leased_to`` (owner, lease), it is queued already leased, as a
    claim would lease it: the job, for a process that works on it at once (it spares the
    claim, and if it dies the job is left to others when the lease ends); else None."""
    now = at or datetime.now(UTC)
    values = {
        "result_id": result_id,
        "agency_code": agency_code,
        "kind": kind.value,
        "state": JobState.QUEUED.value,
        "attempts": 0,
        "run_after": now,
        "created_at": now,
        "delivery_id": delivery_id,
    }
    if leased_to is None:
        conn.execute(_INSERT, values)
        return None
    owner, lease = leased_to
    values |= {"attempts": 1, "lease_owner": owner, "lease_until": datetime.now(UTC) + lease}
    job_id = conn.execute(_INSERT_LEASED, values).scalar_one()
    return Job(job_id, result_id, kind, 1, owner, delivery_id)


# due: queued, of the claimer's agency, its time come, and no live lease on it
_CLAIMABLE = (
    (jobs.c.state == JobState.QUEUED.value)
    & (jobs.c.kind == bindparam("job_kind"))
    & (jobs.c.agency_code == bindparam("agency"))
    & (jobs.c.run_after <= bindparam("at"))
    & or_(jobs.c.lease_until.is_(None), jobs.c.lease_until < bindparam("at"))
)
_ANY_DUE = select(jobs.c.id).where(_CLAIMABLE).limit(1)
# one statement, one round trip: lease the first due job and return it. On PostgreSQL
# the subquery skips rows other claims hold (FOR UPDATE SKIP LOCKED, evaluated once);
# SQLite runs one writer at a time.
_CLAIM = (
    update(jobs)
    .where(
        jobs.c.id
        == select(jobs.c.id)
        .where(_CLAIMABLE)
        .order_by(jobs.c.run_after, jobs.c.id)
        .limit(1)
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )
    .values(
        lease_owner=bindparam("new_owner"),
        lease_until=bindparam("new_until"),
        attempts=jobs.c.attempts + 1,
    )
    .returning(jobs.c.id, jobs.c.result_id, jobs.c.attempts, jobs.c.delivery_id)
)


def claim_next(
    conn: Connection, owner: str, lease: timedelta, kind: JobKind, agency: str
) -> Job | None:
    """The next due job of ``kind`` of ``agency``, leased to ``owner``; None when none is due.

    A signer claims only its agency's jobs: in a registry that several agencies
    share, another's result is signed by the keys of that agency, never these.
    """
    now = datetime.now(UTC)
    values = {
        "job_kind": kind.value,
        "agency": agency,
        "at": now,
        "new_owner": owner,
        "new_until": now + lease,
    }
    row = conn.execute(_CLAIM, values).first()
    if row is None:
        return None
    return Job(row.id, row.result_id, kind, row.attempts, owner, row.delivery_id)


def any_due(conn: Connection, kind: JobKind, agency: str) -> bool:
    """Whether ``claim`` would find a job now (a read, for idle workers to poll with)."""
    values = {"job_kind": kind.value, "agency": agency, "at": datetime.now(UTC)}
    found = conn.execute(_ANY_DUE, values).first()
    return found is not None


def renew(conn: Connection, job: Job, lease: timedelta) -> bool:
    """Extend our lease; False if the job is no longer ours."""
    done = conn.execute(_ours(job).values(lease_until=datetime.now(UTC) + lease))
    return done.rowcount == 1


def _ours(job: Job):  # type: ignore[no-untyped-def]
    return update(jobs).where(
        jobs.c.id == job.id,
        jobs.c.lease_owner == job.owner,
        jobs.c.state == JobState.QUEUED.value,
    )


_FINISH = (
    update(jobs)
    .where(
        jobs.c.id == bindparam("job_id"),
        jobs.c.lease_owner == bindparam("owner"),
        jobs.c.state == JobState.QUEUED.value,
    )
    .values(state=JobState.DONE.value, lease_until=None, finished_at=bindparam("at"))
)


def finish(conn: Connection, job: Job) -> bool:
    """Mark done, inside the caller's transaction; False if the lease was lost."""
    done = conn.execute(_FINISH, {"job_id": job.id, "owner": job.owner, "at": datetime.now(UTC)})
    return done.rowcount == 1


def retry_later(conn: Connection, job: Job, delay: timedelta, error: str) -> bool:
    done = conn.execute(
        _ours(job).values(
            run_after=datetime.now(UTC) + delay,
            lease_owner=None,
            lease_until=None,
            last_error=error,
        )
    )
    return done.rowcount == 1


def give_up(conn: Connection, job: Job, error: str) -> bool:
    done = conn.execute(
        _ours(job).values(
            state=JobState.FAILED.value,
            lease_until=None,
            last_error=error,
            finished_at=datetime.now(UTC),
        )
    )
    return done.rowcount == 1


def release(conn: Connection, owner: str) -> int:
    """Give back every lease ``owner`` holds (a clean shutdown): others may claim them now."""
    done = conn.execute(
        update(jobs)
        .where(jobs.c.lease_owner == owner, jobs.c.state == JobState.QUEUED.value)
        .values(lease_owner=None, lease_until=None)
    )
    return done.rowcount


def lease_owners(conn: Connection) -> list[str]:
    """Who holds a lease on an unfinished job now (or held one that ran out)."""
    query = (
        select(jobs.c.lease_owner)
        .where(jobs.c.state == JobState.QUEUED.value, jobs.c.lease_owner.is_not(None))
        .distinct()
    )
    return [str(owner) for owner in conn.execute(query).scalars()]


@dataclass(frozen=True, slots=True)
class QueueStats:
    depth: int  # jobs not finished (waiting, leased or backing off)
    oldest_age: float  # seconds since the oldest unfinished job was queued; 0 if none


def stats(conn: Connection) -> QueueStats:
    query = select(func.count(), func.min(jobs.c.created_at)).where(
        jobs.c.state == JobState.QUEUED.value
    )
    depth, oldest = (conn.execute(query)).one()
    if oldest is not None and oldest.tzinfo is None:  # min() bypasses the column type
        oldest = oldest.replace(tzinfo=UTC)
    if isinstance(oldest, str):
        oldest = datetime.fromisoformat(oldest).replace(tzinfo=UTC)
    age = (datetime.now(UTC) - oldest).total_seconds() if oldest is not None else 0.0
    return QueueStats(int(depth), max(age, 0.0))
