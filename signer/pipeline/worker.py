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
import contextlib
import logging
import os
import random
import secrets
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import Connection

from ketqua.errors import KetquaError
from ketqua.files import remove_temp_files
from registry import jobs, results
from registry.blobs import FolderBlobStore
from registry.database import Database
from registry.jobs import Job
from registry.results import ResultRecord
from registry.states import ResultState
from signer.pipeline.pool import Failure, WorkerPool, sign_and_stage
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
        """Exponential, with jitter so that retries of many jobs do not arrive together."""
        ceiling = min(self.retry_max, self.retry_base * 2.0 ** (attempts - 1))
        return ceiling * random.uniform(0.5, 1.0)  # noqa: S311 - jitter, not a secret


class LeaseLost(KetquaError):
    """Another worker took the job over (ours outlived its lease); it records the outcome."""


class Pipeline:
    """The worker tasks of one service process."""

    def __init__(
        self,
        db: Database,
        blobs: FolderBlobStore,
        staging: Staging,
        pool: WorkerPool,
        config: PipelineConfig,
        *,
        on_signed: Callable[[float], None] | None = None,
    ) -> None:
        self.db = db
        self.blobs = blobs
        self.staging = staging
        self.pool = pool
        self.config = config
        self.owner = f"{socket.gethostname()[:40]}:{os.getpid()}:{secrets.token_hex(3)}"
        self._on_signed = on_signed
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._busy = 0
        self._idle_before = True

    @property
    def busy(self) -> int:
        return self._busy

    async def start(self, concurrency: int) -> None:
        # a kill -9 mid-write leaves temp files; no one else writes to these folders
        for folder in (self.staging.root, self.blobs.root):
            if folder.exists() and (removed := await asyncio.to_thread(remove_temp_files, folder)):
                log.info("removed %d unfinished write(s) in %s", removed, folder)
        await self._clear_recorded_staging()
        self._tasks = [
            asyncio.create_task(self._loop(), name=f"pipeline-worker-{i}")
            for i in range(concurrency)
        ]

    def wake(self) -> None:
        """New work was queued: idle workers look now rather than at the next poll."""
        self._wake.set()

    async def stop(self, grace: float) -> None:
        """Claim nothing more; let running jobs finish for ``grace`` s; give back the rest."""
        self._stopping.set()
        self._wake.set()
        if self._tasks:
            _, pending = await asyncio.wait(self._tasks, timeout=grace)
            for task in pending:
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
        released = await self.db.write(jobs.release, self.owner)
        if released:
            log.info("released %d unfinished job(s) for the next start", released)

    async def _loop(self) -> None:
        while not self._stopping.is_set():
            try:
                claimed = await self._claim()
            except Exception:
                log.exception("cannot claim a job; trying again")
                await self._idle()
                continue
            if claimed is None:
                await self._idle()
                continue
            job, result = claimed
            self._busy += 1
            try:
                await self._with_lease(job, result)
            except Exception:  # even recording the failure failed (the database): the lease
                log.exception("job %d: outcome not recorded; it runs again", job.id)
            finally:
                self._busy -= 1

    async def _idle(self) -> None:
        self._wake.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), self.config.poll_interval)

    async def _claim(self) -> tuple[Job, ResultRecord] | None:
        """The next job and its result, moved to ``signing`` in the same transaction."""
        # idle workers poll with a read (cheap, beside the writer); one that just finished
        # a job claims directly, as more are likely waiting
        if self._idle_before and not await self.db.read(jobs.any_due):
            return None
        claimed = await self.db.write(
            _claim_unit, self.owner, timedelta(seconds=self.config.lease)
        )
        self._idle_before = claimed is None
        return claimed

    async def _with_lease(self, job: Job, result: ResultRecord) -> None:
        renewer = asyncio.create_task(self._renew(job))
        try:
            await self._run(job, result)
        except LeaseLost:
            log.warning("job %d: lease lost; the other worker records it", job.id)
        except Exception as exc:  # a transient failure of ours: retry, never crash the loop
            log.warning(
                "job %d failed (attempt %d): %s",
                job.id,
                job.attempts,
                exc,
                extra={"result_id": job.result_id},
            )
            await self._retry_or_fail(job, _reason(exc), permanent=False)
        finally:
            renewer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renewer

    async def _renew(self, job: Job) -> None:
        lease = timedelta(seconds=self.config.lease)
        while True:
            await asyncio.sleep(self.config.lease / 3)
            try:
                if not await self.db.write(jobs.renew, job, lease):
                    return
            except Exception:
                log.exception("job %d: cannot renew the lease", job.id)

    async def _run(self, job: Job, result: ResultRecord) -> None:
        if result.state.final or result.state.issued:
            await self._finish_without_signing(job, result)
            return
        started = time.perf_counter()
        outcome: StagedSignature | Failure = await self.pool.run(
            sign_and_stage, result.id, result.original_sha256, result.metadata_json
        )
        if isinstance(outcome, Failure):
            await self._retry_or_fail(job, str(outcome), permanent=outcome.permanent)
            return
        if outcome.earlier:
            log.info(
                "recording the document staged by an earlier attempt",
                extra={"result_id": result.id},
            )
        elif self._on_signed is not None:
            self._on_signed(time.perf_counter() - started)
        await self._record(job, result, outcome)
        await asyncio.to_thread(self.staging.drop, result.id)

    async def _record(self, job: Job, result: ResultRecord, signed: StagedSignature) -> None:
        values: dict[str, Any] = {
            "signed_sha256": signed.sha256,
            "signed_size": signed.size,
            "signer_fingerprint": signed.signer_fingerprint,
            "seal_kid": signed.seal_kid,
            "seal_url": signed.seal_url,
            "verification_code": signed.verification_code,
            "pades_level": signed.level.value,
            "signed_at": signed.signed_at,
            "failure": None,
        }
        detail = f"PAdES {signed.level.value}, document {signed.sha256[:12]}"
        moved = await self.db.write(_record_unit, job, result, values, detail)
        log.info(
            "signed (PAdES %s) and %s",
            signed.level.value,
            "published" if result.publish and moved else "recorded",
            extra={"result_id": result.id},
        )

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


def _claim_unit(conn: Connection, owner: str, lease: timedelta) -> tuple[Job, ResultRecord] | None:
    """The next job and its result, moved to ``signing`` in the same transaction."""
    job = jobs.claim_next(conn, owner, lease)
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
    conn: Connection, job: Job, result: ResultRecord, values: dict[str, Any], detail: str
) -> bool:
    if not jobs.finish(conn, job):
        raise LeaseLost(f"job {job.id}")  # rolls the transaction back: the new owner records
    return results.record_signed(conn, result.id, values, publish=result.publish, detail=detail)


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


def _reason(exc: Exception) -> str:
    text = " ".join(str(exc).split())
    return text or type(exc).__name__
