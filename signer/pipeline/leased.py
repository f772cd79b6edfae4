"""Worker tasks that take jobs of one kind from the registry's queue, each under a lease.

The shape both queues share (signing, delivering): a few tasks that claim
the next due job in a transaction, work on it while a companion task
renews the lease, and never let an error end the loop. Idle tasks poll
with a cheap read; each job queued wakes one of them at once (``wake``), so
that a burst of submissions costs a claim per job, not a read per idle task.
``stop`` claims nothing more, gives running work ``grace`` seconds, then
hands every lease back so the next start takes the jobs up at once.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import os
import random
import secrets
import socket
from abc import ABC, abstractmethod
from collections.abc import Callable
from datetime import timedelta
from typing import Generic, TypeVar

from sqlalchemy import Connection

from plumbing.errors import KetquaError, Unavailable
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

    def __init__(self, db: Database, *, agency: str, lease: float, poll_interval: float) -> None:
        self.db = db
        self.agency = agency  # the jobs of this agency only: the one whose keys this holds
        self.lease = lease
        self.poll_interval = poll_interval
        self.owner = f"{_MACHINE}:{os.getpid()}:{secrets.token_hex(3)}"
        self._idle_waiters: collections.deque[asyncio.Future[bool]] = collections.deque()
        self._stopping = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._taken_over: set[asyncio.Task[None]] = set()
        self._busy = 0

    @abstractmethod
    def claim(self, conn: Connection, owner: str, lease: timedelta) -> tuple[Job, T] | None:
        """The unit of work that leases the next job of ``self.agency``, with what it needs."""

    @abstractmethod
    async def run(self, job: Job, item: T) -> tuple[Job, T] | None:
        """Do the job and record its outcome (finishing the job checks the lease); the next
        job, if the transaction that recorded this one also claimed it (one unit of work
        fewer a job), else None."""

    def claim_after(self) -> tuple[str, timedelta] | None:
        """Who claims the next job in the transaction recording the last, for how long:
        None when stopping (nothing more is claimed then)."""
        if self._stopping.is_set():
            return None
        return self.owner, timedelta(seconds=self.lease)

    @abstractmethod
    async def failed(self, job: Job, reason: str) -> None:
        """``run`` raised: record a transient failure (retry later, or give up)."""

    async def idle(self) -> None:
        """The queue ran dry for a worker: a moment for deferred housekeeping."""

    @property
    def busy(self) -> int:
        return self._busy

    async def release_leases_of_the_dead(self) -> None:
        """Leases held by a process of this machine that died (kill -9, power cut): freed now.

        A lease's owner names the machine (host name and process-id namespace,
        so two containers with one host name are not confused) and the process
        id; on this machine a process id that is gone is proof. Leases of other
        machines run out by themselves. Without this, a restart after a crash
        waits for its own leases to run out.
        """
        for owner in await self.db.read(jobs.lease_owners):
            machine, _, rest = owner.partition(":")
            pid = rest.partition(":")[0]
            if machine == _MACHINE and pid.isdigit() and not _alive(int(pid)):
                released = await self.db.write(jobs.release, owner)
                if released:
                    log.info("released %d job(s) held by process %s, which died", released, pid)

    def start_tasks(self, concurrency: int) -> None:
        self._tasks = [
            asyncio.create_task(self._loop(), name=f"{self.kind.value}-worker-{i}")
            for i in range(concurrency)
        ]

    def take_over(self, job: Job, item: T, then: Callable[[], None]) -> None:
        """Work now on ``job``, leased to this owner by the transaction that queued it, in
        a task of its own (no claim); ``then`` when it is done. ``stop`` waits for it too."""

        if self._stopping.is_set():
            # too late for ``stop`` to wait for it: its lease is given back with the others
            # (or freed at the next start), and the job waits for the next start
            then()
            return

        async def work() -> None:
            try:
                following = await self._work(job, item)
                while following is not None:
                    following = await self._work(*following)
            finally:
                then()

        task = asyncio.create_task(work(), name=f"{self.kind.value}-taken-over-{job.id}")
        self._taken_over.add(task)
        task.add_done_callback(self._taken_over.discard)

    def wake(self) -> None:
        """A job was queued: one idle worker claims now rather than at the next poll."""
        self._answer_idle(True, only_one=True)

    def _answer_idle(self, woken: bool, *, only_one: bool) -> None:
        """End the wait of idle workers (the first one only, or all of them)."""
        while self._idle_waiters:
            waiter = self._idle_waiters.popleft()
            if not waiter.done():
                waiter.set_result(woken)
                if only_one:
                    return

    async def stop(self, grace: float) -> None:
        """Claim nothing more; let running jobs finish for ``grace`` s; give back the rest."""
        self._stopping.set()
        self._answer_idle(False, only_one=False)
        running = [*self._tasks, *self._taken_over]
        if running:
            _, pending = await asyncio.wait(running, timeout=grace)
            for task in pending:
                task.cancel()
            await asyncio.gather(*running, return_exceptions=True)
        released = await self.db.write(jobs.release, self.owner)
        if released:
            log.info("released %d unfinished job(s) for the next start (%s)", released, self.kind)

    async def _loop(self) -> None:
        # an idle worker polls with a read (cheap, beside the writer); one that was woken
        # for a new job, or just finished one (more are likely waiting), claims directly
        look_first = True
        claimed: tuple[Job, T] | None = None
        while not self._stopping.is_set():
            if claimed is not None:  # claimed with the last job's outcome
                claimed = await self._work(*claimed)
                continue
            try:
                claimed = await self._claim(look_first)
            except Unavailable as exc:
                log.warning("cannot claim a %s job: %s; trying again", self.kind, exc)
                look_first = not await self._idle()
                continue
            except Exception:
                log.exception("cannot claim a %s job; trying again", self.kind)
                look_first = not await self._idle()
                continue
            if claimed is None:
                await self._housekeeping()
                look_first = not await self._idle()
                continue
            look_first = False

    async def _work(self, job: Job, item: T) -> tuple[Job, T] | None:
        """Run the job; the next one, if it came claimed with this one's outcome."""
        self._busy += 1
        try:
            return await self._with_lease(job, item)
        except Unavailable as exc:
            log.warning("job %d: outcome not recorded (%s); it runs again", job.id, exc)
        except Exception:  # even recording the failure failed (the database): the lease
            log.exception("job %d: outcome not recorded; it runs again", job.id)
        finally:
            self._busy -= 1
        return None

    async def _housekeeping(self) -> None:
        try:
            await self.idle()
        except Exception:
            log.exception("%s workers: housekeeping failed; tried again when idle", self.kind)

    async def _idle(self) -> bool:
        """Wait for a wake-up (True: a job was queued) or the next poll (False)."""
        waiter = asyncio.get_running_loop().create_future()
        self._idle_waiters.append(waiter)
        try:
            return await asyncio.wait_for(waiter, self.poll_interval)
        except TimeoutError:
            return False
        finally:
            with contextlib.suppress(ValueError):
                self._idle_waiters.remove(waiter)

    async def _claim(self, look_first: bool) -> tuple[Job, T] | None:
        if look_first and not await self.db.read(jobs.any_due, self.kind, self.agency):
            return None
        return await self.db.write(self.claim, self.owner, timedelta(seconds=self.lease))

    async def _with_lease(self, job: Job, item: T) -> tuple[Job, T] | None:
        renewer = asyncio.create_task(self._renew(job))
        try:
            return await self.run(job, item)
        except LeaseLost:
            log.warning("job %d: lease lost; the other worker records it", job.id)
        except Unavailable:
            # the database went away, not the job: no attempt is spent; the job
            # comes back when its lease runs out
            raise
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
        return None

    async def _renew(self, job: Job) -> None:
        lease = timedelta(seconds=self.lease)
        while True:
            await asyncio.sleep(self.lease / 3)
            try:
                if not await self.db.write(jobs.renew, job, lease):
                    return
            except Unavailable as exc:
                log.warning("job %d: cannot renew the lease: %s", job.id, exc)
            except Exception:
                log.exception("job %d: cannot renew the lease", job.id)


def _machine() -> str:
    """This host and process-id namespace: where a process id means one process."""
    try:
        namespace = os.stat("/proc/self/ns/pid").st_ino
    except OSError:
        namespace = 0
    return f"{socket.gethostname()[:28]}/{namespace}"


_MACHINE = _machine()


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
