"""Worker tasks that send the outbox's deliveries, one recipient per job.

A ``deliver`` job: load the delivery and its result, build the message
(templates, the signed PDF from the blob store) in an intake process, hand it
to the transport, then in one transaction record the attempt, the
delivery's new state and the job's (finished, or due again after a backoff
with jitter). A temporary failure is retried until the delivery is
``max_age`` old, then ``failed``; a permanent one (5xx) fails that
delivery at once. Each recipient is its own job: a bad address or a slow
server holds one task, never the others.

At least once, duplicates recognisable: a delivery is ``sent`` only once
the server said 250, and its Message-ID is fixed when it is created. If
the service dies between the server's 250 and the commit, the next attempt
sends the same message (same Message-ID) again: the one way to send twice.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection

from plumbing.errors import KetquaError
from plumbing.workers import WorkerPool
from registry import jobs, outbox, results
from registry.access import DERIVED, derive_code, is_generated
from registry.database import Database
from registry.jobs import Job
from registry.outbox import Delivery
from registry.results import PIPELINE, ResultRecord
from registry.states import AttemptOutcome, DeliveryKind, DeliveryState, JobKind
from signer.delivery import queue_email
from signer.delivery.message import Sender
from signer.delivery.transport import Outcome, PickupFolder, Transport
from signer.pipeline.leased import LeasedWorkers, LeaseLost, backoff
from signer.pipeline.pool import Dropped, Failure, build_email

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class DeliveryConfig:
    lease: float = 60.0
    max_age: float = 48 * 3600.0  # seconds after which a delivery stops being retried
    retry_base: float = 10.0
    retry_max: float = 1800.0
    poll_interval: float = 1.0


@dataclass(frozen=True, slots=True)
class Claimed:
    delivery: Delivery
    result: ResultRecord
    replaces: str | None = None  # a correction: the result code of the result it replaces


class Deliverer(LeasedWorkers[Claimed]):
    """The delivery worker tasks of one service process."""

    kind = JobKind.DELIVER

    def __init__(
        self,
        db: Database,
        builders: WorkerPool,
        transport: Transport,
        sender: Sender,
        config: DeliveryConfig,
        *,
        agency: str,
        on_attempt: Callable[[AttemptOutcome], None] | None = None,
        access_secret: bytes | None = None,
    ) -> None:
        super().__init__(db, agency=agency, lease=config.lease, poll_interval=config.poll_interval)
        self.access_secret = access_secret
        self.builders = builders  # processes with the templates (``pool.build_email``)
        self.transport = transport
        self.sender = sender
        self.config = config
        self._on_attempt = on_attempt
        # deliveries taken up at once, in the process that issued their result (no claim):
        # at most as many as there are worker tasks, so that none waits out its lease
        self._at_once = 0
        self._at_once_max = 0

    async def start(self, concurrency: int) -> None:
        log.info("emails go to %s", self.transport.describe())
        await self.release_leases_of_the_dead()
        self._at_once_max = concurrency
        self.start_tasks(concurrency)

    async def stop(self, grace: float) -> None:
        self._at_once_max = 0
        started = asyncio.get_running_loop().time()
        await super().stop(grace)
        left = grace - (asyncio.get_running_loop().time() - started)
        await self.transport.close(max(0.1, left))

    # the follow-up of issuing a result (``signer.pipeline.worker.FollowUp``): its e-mail

    def reserve(self) -> bool:
        if self._at_once >= self._at_once_max:  # also before start and after stop (max 0)
            return False
        self._at_once += 1
        return True

    def queue(
        self, conn: Connection, result: ResultRecord, *, at_once: bool
    ) -> list[tuple[Job, Claimed]] | bool:
        """The issued result's deliveries; leased to this process when ``at_once``."""
        leased_to = (self.owner, timedelta(seconds=self.lease)) if at_once else None
        created = queue_email(
            conn, result, domain=self.sender.domain, actor=PIPELINE, leased_to=leased_to
        )
        if not at_once or not created:
            return bool(created)
        issued = results.get(conn, result.id)  # as this transaction recorded it
        if issued is None:
            raise KetquaError(f"result {result.id} is gone")
        replaces = _replaces(conn, issued)
        return [
            (job, Claimed(delivery, issued, replaces))
            for delivery, job in created
            if job is not None
        ]

    def queued(self, value: object, *, at_once: bool) -> None:
        if at_once and isinstance(value, list) and value:
            self._at_once += len(value) - 1  # one reserved; each releases its own when done
            for job, item in value:
                self.take_over(job, item, then=self._done_at_once)
            return
        if at_once:
            self._done_at_once()
        if value:
            self.wake()

    def _done_at_once(self) -> None:
        self._at_once -= 1

    def claim(self, conn: Connection, owner: str, lease: timedelta) -> tuple[Job, Claimed] | None:
        job = jobs.claim_next(conn, owner, lease, JobKind.DELIVER, self.agency)
        if job is None:
            return None
        delivery = outbox.get(conn, job.delivery_id) if job.delivery_id else None
        result = results.get(conn, job.result_id)
        if delivery is None or result is None:
            raise KetquaError(f"job {job.id} names an unknown delivery or result")
        return job, Claimed(delivery, result, _replaces(conn, result))

    async def run(self, job: Job, item: Claimed) -> tuple[Job, Claimed] | None:
        delivery, result = item.delivery, item.result
        if delivery.state is not DeliveryState.PENDING:  # recorded, then the job survived
            await self._finish(job)
            return None
        code = None
        if delivery.kind is not DeliveryKind.REVOCATION:
            if not result.state.issued or result.signed_sha256 is None:
                reason = f"not sent: the result is {result.state.value}"
                await self._record(job, delivery, Outcome(AttemptOutcome.PERMANENT, reason), None)
                return None
            code = await self._access_code(result)
        # the pickup folder is written where the message is built: it need not cross back
        drop_in = self.transport if isinstance(self.transport, PickupFolder) else None
        built = await self.builders.run(
            build_email, result, delivery, code, item.replaces, drop_in
        )
        if isinstance(built, Failure):
            raise KetquaError(str(built))  # a temporary failure: tried again later
        if isinstance(built, Dropped):
            outcome = built.outcome
        else:
            outcome = await self.transport.send(
                self.sender.address, delivery.recipient, built.data, delivery.message_id
            )
        await self._record(job, delivery, outcome, built.mode)
        return None  # the next delivery is claimed by itself

    async def failed(self, job: Job, reason: str) -> None:
        """``run`` raised (the blob store, the templates, the database): a temporary failure."""
        delivery = await self.db.read(outbox.get, job.delivery_id) if job.delivery_id else None
        if delivery is None:
            await self.db.write(jobs.give_up, job, reason)
            return
        await self._record(job, delivery, Outcome(AttemptOutcome.TEMPORARY, reason), None)

    async def _access_code(self, result: ResultRecord) -> str | None:
        """The code the e-mail gives for the portal download, set up the first time.

        None when the applicant holds a code of their own (the metadata's
        ``lookup_secret``, hashed at intake): the e-mail points to the receipt.
        The generated code is derived from the service's secret, so every
        attempt and every resend carries the same one; the registry holds only
        the mark that it is derived (``registry.access.DERIVED``).
        """
        if self.access_secret is None:
            return None
        if result.access_hash is not None and not is_generated(result.access_hash):
            return None
        if result.access_hash is None:  # accepted before intake marked every generated code
            await self.db.write(results.set_access_hash, result.id, DERIVED)
        return derive_code(self.access_secret, result.id)

    async def _record(
        self, job: Job, delivery: Delivery, outcome: Outcome, mode: str | None
    ) -> None:
        age = (datetime.now(UTC) - delivery.created_at).total_seconds()
        give_up = outcome.kind is AttemptOutcome.TEMPORARY and age >= self.config.max_age
        delay = backoff(job.attempts, self.config.retry_base, self.config.retry_max)
        state = await self.db.write(_record_unit, job, delivery, outcome, mode, give_up, delay)
        if self._on_attempt is not None:
            self._on_attempt(outcome.kind)
        # the reply may name the recipient: it is in the API, never in the log
        if state is DeliveryState.SENT:
            log.info("email sent (%s)", mode or "attachment", extra={"result_id": job.result_id})
        elif state is DeliveryState.FAILED:
            log.warning(
                "email failed for good after %d attempt(s)%s",
                job.attempts,
                " (too old to retry)" if give_up else "",
                extra={"result_id": job.result_id},
            )
        else:
            log.info(
                "email not sent (attempt %d), retry in %.0f s",
                job.attempts,
                delay,
                extra={"result_id": job.result_id},
            )

    async def _finish(self, job: Job) -> None:
        if not await self.db.write(jobs.finish, job):
            raise LeaseLost(f"job {job.id}")


def _replaces(conn: Connection, result: ResultRecord) -> str | None:
    """The result code of the result ``result`` corrects, if it is a correction."""
    replaced = results.get(conn, result.supersedes) if result.supersedes else None
    return replaced.result_code if replaced else None


def _record_unit(
    conn: Connection,
    job: Job,
    delivery: Delivery,
    outcome: Outcome,
    mode: str | None,
    give_up: bool,
    delay: float,
) -> DeliveryState:
    state = outbox.record_attempt(
        conn,
        delivery.id,
        delivery.result_id,
        outcome.kind,
        outcome.reply,
        give_up=give_up,
        mode=mode,
    )
    if state is DeliveryState.PENDING:
        ours = jobs.retry_later(conn, job, timedelta(seconds=delay), outcome.reply)
    elif state is DeliveryState.SENT:
        ours = jobs.finish(conn, job)
    else:
        ours = jobs.give_up(conn, job, outcome.reply)
    if not ours:
        raise LeaseLost(f"job {job.id}")  # rolls back: the job's new owner records
    return state
