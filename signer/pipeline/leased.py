"""Worker tasks that take jobs of one kind from the registry's queue, each under a lease.

The shape both queues share (signing, delivering): a few tasks that claim
the next due job in a transaction, work on it while a companion task
renews the lease, and never let an error end the loop. Idle tasks poll
with a cheap read and wake at once when new work is queued (``wake``).
``stop`` claims nothing more, gives running work ``grace`` seconds, then
hands every lease back so the next start takes the jobs up at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import secrets
import socket
from abc import ABC, abstractmethod
from datetime import timedelta
from typing import Generic, TypeVar

from sqlalchemy import Connection

from ketqua.errors import KetquaError
from registry import jobs
from registry.database import Database
from registry.jobs import Job
from registry.states import JobKind

log = logging.getLogger(__name__)

T = TypeVar("T")


class LeaseLost(KetquaError):
    """Another worker took the job over (ours outlived its lease); it records the outcome."""


class LeasedWorkers(ABC, Generic[T]):
    """Subclasses say how to claim (``claim``), do (``run``) and fail (``failed``) a job."""

    kind: JobKind

    def __init__(self, db: Database, *, lease: float, poll_interval: float) -> None:
        self.db = db
        self.lease = lease
        self.poll_interval = poll_interval
        self.owner = f"{socket.gethostname()[:40]}:{os.getpid()}:{secrets.token_hex(3)}"
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._busy = 0
        self._idle_before = True

    @abstractmethod
    def claim(self, conn: Connection, owner: str, lease: timedelta) -> tuple[Job, T] | None:
        """The unit of work that leases the next job and loads what it needs."""

    @abstractmethod
    async def run(self, job: Job, item: T) -> None:
        """Do the job and record its outcome (finishing the job checks the lease)."""

    @abstractmethod
    async def failed(self, job: Job, reason: str) -> None:
        """``run`` raised: record a transient failure (retry later, or give up)."""

    @property
    def busy(self) -> int:
        return self._busy

    async def release_leases_of_the_dead(self) -> None:
        """Leases held by a process of this machine that died (kill -9, power cut): freed now.

        Only with SQLite, whose every client runs on this machine: a lease's owner
        names the host and the process id, and a process id that is gone is proof.
        Without this, a restart after a crash waits for those leases to run out.
        """
        if self.db.dialect != "sqlite":
            return
        host = socket.gethostname()[:40]
        for owner in await self.db.read(jobs.lease_owners):
            owner_host, _, rest = owner.partition(":")
            pid = rest.partition(":")[0]
            if owner_host == host and pid.isdigit() and not _alive(int(pid)):
                released = await self.db.write(jobs.release, owner)
                if released:
                    log.info("released %d job(s) held by process %s, which died", released, pid)

    def start_tasks(self, concurrency: int) -> None:
        self._tasks = [
            asyncio.create_task(self._loop(), name=f"{self.kind.value}-worker-{i}")
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
            log.info("released %d unfinished job(s) for the next start (%s)", released, self.kind)

    async def _loop(self) -> None:
        while not self._stopping.is_set():
            try:
                claimed = await self._claim()
            except Exception:
                log.exception("cannot claim a %s job; trying again", self.kind)
                await self._idle()
                continue
            if claimed is None:
                await self._idle()
                continue
            job, item = claimed
            self._busy += 1
            try:
                await self._with_lease(job, item)
            except Exception:  # even recording the failure failed (the database): the lease
                log.exception("job %d: outcome not recorded; it runs again", job.id)
            finally:
                self._busy -= 1

    async def _idle(self) -> None:
        self._wake.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), self.poll_interval)

    async def _claim(self) -> tuple[Job, T] | None:
        # idle workers poll with a read (cheap, beside the writer); one that just finished
        # a job claims directly, as more are likely waiting
        if self._idle_before and not await self.db.read(jobs.any_due, self.kind):
            return None
        claimed = await self.db.write(self.claim, self.owner, timedelta(seconds=self.lease))
        self._idle_before = claimed is None
        return claimed

    async def _with_lease(self, job: Job, item: T) -> None:
        renewer = asyncio.create_task(self._renew(job))
        try:
            await self.run(job, item)
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
            await self.failed(job, reason_of(exc))
        finally:
            renewer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renewer

    async def _renew(self, job: Job) -> None:
        lease = timedelta(seconds=self.lease)
        while True:
            await asyncio.sleep(self.lease / 3)
            try:
                if not await self.db.write(jobs.renew, job, lease):
                    return
            except Exception:
                log.exception("job %d: cannot renew the lease", job.id)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: alive
        return True
    return True


def backoff(attempts: int, base: float, ceiling: float) -> float:
    """Exponential, with jitter so that retries of many jobs do not arrive together."""
    return min(ceiling, base * 2.0 ** (attempts - 1)) * random.uniform(0.5, 1.0)  # noqa: S311


def reason_of(exc: Exception) -> str:
    text = " ".join(str(exc).split())
    return text or type(exc).__name__
