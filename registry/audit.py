"""The audit trail: which API key made which request, and the answer.

Changes of a result are attributed in its history, in the same transaction
(``result_events.actor``). Every request, reads included, also lands here;
rows are written in small batches off the request path, so a crash can
lose the last fraction of a second of rows (never a change: those are in
the history). While the database is unavailable, rows wait in memory (up
to ``MAX_WAITING``) and go out with the next batch once it is back.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import asdict, dataclass
from datetime import datetime

from plumbing.errors import Unavailable
from registry.database import Database
from registry.schema import audit_log

log = logging.getLogger(__name__)

MAX_WAITING = 100_000  # rows kept through an outage (~10 MB); beyond that, the oldest go


@dataclass(frozen=True, slots=True)
class AuditEntry:
    at: datetime
    api_key_id: str | None
    method: str
    route: str
    result_id: str | None
    status: int


class AuditTrail:
    def __init__(self, db: Database, *, flush_interval: float = 0.2) -> None:
        self.db = db
        self.flush_interval = flush_interval
        self._pending: list[AuditEntry] = []
        self._task: asyncio.Task[None] | None = None

    def record(self, entry: AuditEntry) -> None:
        self._pending.append(entry)

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="audit-trail")

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.flush_interval)
            await self.flush()

    async def flush(self) -> None:
        if not self._pending:
            return
        batch, self._pending = self._pending, []
        try:
            rows = [asdict(e) for e in batch]
            await self.db.write(lambda conn: conn.execute(audit_log.insert(), rows))
        except Unavailable as exc:
            self._pending = (batch + self._pending)[-MAX_WAITING:]
            log.warning("audit trail: %d row(s) wait for the database: %s", len(batch), exc)
        except Exception:
            log.exception("audit trail: %d row(s) not written", len(batch))

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.flush()
