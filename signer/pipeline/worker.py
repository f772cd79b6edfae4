"""Workers that take jobs from the registry's queue and move each result to ``published``.

A sign job: a signing process loads the original from the blob store,
signs it (or takes the document staged by an earlier attempt), stages and
stores the signed PDF; then, in one transaction, the service process records
it, publishes the result and finishes the job. Failures of the input fail
the result at once; anything else (a timestamp server, a token, a dead
worker process) is retried with exponential backoff and jitter until
``max_attempts``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Protocol

from sqlalchemy import Connection

from plumbing.errors import KetquaError
from plumbing.files import remove_temp_files
from plumbing.workers import WorkerPool
from registry import jobs, results
from registry.blobs import BlobStore, FolderBlobStore
from registry.database import Database
from registry.jobs import Job
from registry.results import ResultRecord, SignedFacts
from registry.states import JobKind, ResultState
from signer.pipeline.leased import LeasedWorkers, LeaseLost, backoff
from signer.pipeline.pool import Failure, sign_and_stage
from signer.pipeline.staging import StagedSignature, Staging

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class PipelineConfig:
    lease: float = 30.0
    max_attempts: int = 5
    retry_base: float = 5.0
    retry_max: float = 600.0
    poll_interval: float = 1.0  # idle workers look for due retries and expired leases this often

    def backoff(self, attempts: int) -> float:
        return backoff(attempts, self.retry_base, self.retry_max)


class FollowUp(Protocol):
    """What issuing a result sets off (its e-mail), queued in the transaction that issues it."""

    def reserve(self) -> bool:
        """On the event loop, before that transaction: whether this process will take up
        at once what ``queue`` queues (then ``queued`` is called whatever happens)."""

    def queue(self, conn: Connection, result: ResultRecord, *, at_once: bool) -> object:
        """In the transaction: queue the follow-up (leased to this process if ``at_once``)."""

    def queued(self, value: object, *, at_once: bool) -> None:
        """On the event loop, after the transaction: ``value`` is what ``queue`` returned,
        None if it did not run or the transaction failed."""


class Pipeline(LeasedWorkers[ResultRecord]):
    """The signing worker tasks of one service process."""

    kind = JobKind.SIGN

    def __init__(
        self,
        db: Database,
        blobs: BlobStore,
        staging: Staging,
        pool: WorkerPool,
        config: PipelineConfig,
        *,
        agency: str,
        on_signed: Callable[[float], None] | None = None,
        follow_up: FollowUp | None = None,
    ) -> None:
        super().__init__(db, agency=agency, lease=config.lease, poll_interval=config.poll_interval)
        self.blobs = blobs
        self.staging = staging
        self.pool = pool
        self.config = config
        self._on_signed = on_signed
        self._follow_up = follow_up
        # recorded results whose staged documents are still to drop: the next signature's
        # process drops them (no hop of its own), or a thread when the queue runs dry
        self._recorded: list[str] = []

    async def start(self, concurrency: int) -> None:
        # a kill -9 mid-write leaves temp files; no one else writes to these folders
        folders = [self.staging.root]
        if isinstance(self.blobs, FolderBlobStore):
            folders.append(self.blobs.root)
        for folder in folders:
            if folder.exists() and (removed := await asyncio.to_thread(remove_temp_files, folder)):
                log.info("removed %d unfinished write(s) in %s", removed, folder)
        await self._clear_recorded_staging()
        await self.release_leases_of_the_dead()
        self.start_tasks(concurrency)

    def claim(
        self, conn: Connection, owner: str, lease: timedelta
    ) -> tuple[Job, ResultRecord] | None:
        return _claim_unit(conn, owner, lease, self.agency)

    async def failed(self, job: Job, reason: str) -> None:
        await self._retry_or_fail(job, reason, permanent=False)

    async def run(self, job: Job, result: ResultRecord) -> tuple[Job, ResultRecord] | None:
        if result.state.final or result.state.issued:
            await self._finish_without_signing(job, result)
            return None
        started = time.perf_counter()
        recorded, self._recorded = tuple(self._recorded), []
        try:
            outcome: StagedSignature | Failure = await self.pool.run(
                sign_and_stage, result.id, result.original_sha256, result.metadata_json, recorded
            )
        except BaseException:
            self._recorded.extend(recorded)  # perhaps not dropped: dropped when idle
            raise
        if isinstance(outcome, Failure):
            await self._retry_or_fail(job, str(outcome), permanent=outcome.permanent)
            return None
        if outcome.earlier:
            log.info(
                "recording the document staged by an earlier attempt",
                extra={"result_id": result.id},
            )
        elif self._on_signed is not None:
            self._on_signed(time.perf_counter() - started)
        following = await self._record(job, result, outcome)
        self._recorded.append(result.id)
        return following

    async def idle(self) -> None:
        if self._recorded:
            recorded, self._recorded = self._recorded, []
            await asyncio.to_thread(self.staging.drop, *recorded)

    async def stop(self, grace: float) -> None:
        await super().stop(grace)
        await self.idle()

    async def _record(
        self, job: Job, result: ResultRecord, signed: StagedSignature
    ) -> tuple[Job, ResultRecord] | None:
        """Record the signed document; the next job, claimed in the same transaction."""
        facts = signed.facts
        detail = f"PAdES {facts.pades_level}, document {facts.signed_sha256[:12]}"
        follow_up = self._follow_up
        at_once = follow_up.reserve() if follow_up is not None else False
        try:
            moved, queued, following = await self.db.write(
                _record_unit, job, result, facts, detail, follow_up, at_once, self.claim_after()
            )
        except BaseException:
            if follow_up is not None:
                follow_up.queued(None, at_once=at_once)
            raise
        if follow_up is not None:
            follow_up.queued(queued, at_once=at_once)
        log.info(
            "signed (PAdES %s) and %s",
            facts.pades_level,
            "published" if result.publish and moved else "recorded",
            extra={"result_id": result.id},
        )
        return following

    async def _finish_without_signing(self, job: Job, result: ResultRecord) -> None:
        if not await self.db.write(jobs.finish, job):
            raise LeaseLost(f"job {job.id}")
        log.info(
            "not signed: the result is %s", result.state.value, extra={"result_id": result.id}
        )

    async def _retry_or_fail(self, job: Job, reason: str, *, permanent: bool) -> None:
        give_up = permanent or job.attempts >= self.config.max_attempts
        delay = 0.0 if give_up else self.config.backoff(job.attempts)
        if not await self.db.write(_retry_unit, job, reason, give_up, delay):
            return
        log.warning(
            "%s: %s",
            "failed" if give_up else f"attempt {job.attempts} failed, will retry",
            reason,
            extra={"result_id": job.result_id},
        )

    async def _clear_recorded_staging(self) -> None:
        """Staged documents of results already recorded (a crash after the commit)."""
        for result_id in await asyncio.to_thread(self.staging.leftovers):
            result = await self.db.read(results.get, result_id)
            if result is not None and result.signed_sha256 is not None:
                await asyncio.to_thread(self.staging.drop, result_id)


# units of work: each runs in one transaction (``Database.write``)


def _claim_unit(
    conn: Connection, owner: str, lease: timedelta, agency: str
) -> tuple[Job, ResultRecord] | None:
    """The next job and its result, moved to ``signing`` in the same transaction."""
    job = jobs.claim_next(conn, owner, lease, JobKind.SIGN, agency)
    if job is None:
        return None
    result = results.get(conn, job.result_id)
    if result is None:
        raise KetquaError(f"job {job.id} names an unknown result")
    if not (result.state.final or result.state.issued):
        results.move(
            conn,
            result.id,
            ResultState.SIGNING,
            detail=f"attempt {job.attempts}",
            only_from=(ResultState.QUEUED, ResultState.SIGNING),
        )
    return job, result


def _record_unit(
    conn: Connection,
    job: Job,
    result: ResultRecord,
    facts: SignedFacts,
    detail: str,
    follow_up: FollowUp | None,
    at_once: bool,
    claim_after: tuple[str, timedelta] | None,
) -> tuple[bool, object, tuple[Job, ResultRecord] | None]:
    """Whether the result moved on, what ``follow_up`` queued (None: nothing asked), and
    the next job, claimed for ``claim_after``'s owner (None: none due, or not asked)."""
    if not jobs.finish(conn, job):
        raise LeaseLost(f"job {job.id}")  # rolls the transaction back: the new owner records
    moved = results.record_signed(conn, result.id, facts, publish=result.publish, detail=detail)
    queued = None
    if moved and follow_up is not None:  # e.g. the deliveries, in the same transaction
        queued = follow_up.queue(conn, result, at_once=at_once)
    following = None
    if claim_after is not None:
        owner, lease = claim_after
        # the result's agency is this pipeline's: the agency whose jobs it claims
        following = _claim_unit(conn, owner, lease, result.agency_code)
    return moved, queued, following


def _retry_unit(conn: Connection, job: Job, reason: str, give_up: bool, delay: float) -> bool:
    if give_up:
        if not jobs.give_up(conn, job, reason):
            return False
        results.move(
            conn,
            job.result_id,
            ResultState.FAILED,
            detail=reason,
            only_from=(ResultState.QUEUED, ResultState.SIGNING),
            failure=reason,
        )
        return True
    if not jobs.retry_later(conn, job, timedelta(seconds=delay), reason):
        return False
    results.move(
        conn,
        job.result_id,
        ResultState.QUEUED,
        detail=f"attempt {job.attempts} failed, retry in {delay:.0f} s: {reason}",
        only_from=(ResultState.SIGNING,),
    )
    return True
