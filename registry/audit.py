"""The audit trail: which API key or person (in the console) made which request, and the answer.

Changes of a result are attributed in its history, in the same transaction
(``result_events.actor``). Every request, reads included, also lands here;
rows are written in small batches off the request path, so a crash can
lose the last fraction of a second of rows (never a change: those are in
the history). Each batch also sets its keys' ``last_used_at``: a key's last
use costs no write of its own. While the database is unavailable, rows wait in memory (up
to ``MAX_WAITING``) and go out with the next batch once it is back.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, update

from plumbing.errors import Unavailable
from registry.database import Database
from registry.schema import api_keys, audit_log

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
    staff_id: str | None = None  # a console request: the person signed in


def _write(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """The batch, and each key's last use (the latest of the batch): one transaction."""
    conn.execute(audit_log.insert(), rows)
    last: dict[str, datetime] = {}
    for row in rows:
        key, at = row["api_key_id"], row["at"]
        if key is not None and (key not in last or at > last[key]):
            last[key] = at
    for key, at in last.items():
        conn.execute(update(api_keys).where(api_keys.c.id == key).values(last_used_at=at))


def _row(entry: AuditEntry) -> dict[str, Any]:
    row = asdict(entry)
    # within the columns' sizes whatever a client sent (an odd method, a long route)
    row["method"] = entry.method[:8]
    row["route"] = entry.route[:200]
    return row


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
        rows = [_row(e) for e in batch]
        try:
            await self.db.write(_write, rows)
        except Unavailable as exc:
            self._pending = (batch + self._pending)[-MAX_WAITING:]
            log.warning("audit trail: %d row(s) wait for the database: %s", len(batch), exc)
        except Exception:
            # one row the database refuses must not take the others with it
            lost = 0
            for row in rows:
                try:
                    await self.db.write(_write, [row])
                except Exception:
                    lost += 1
            log.exception("audit trail: %d of %d row(s) not written", lost, len(batch))

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.flush()
