"""Worker slots for work a stranger can make expensive: bounded, queued, and killed alone.

``Slots`` runs each call in a process of its own slot (a one-process pool
per slot), so that:

- at most ``size`` calls run and at most ``queue`` more wait; one more is
  refused at once (``Busy``: the edge answers 503 with ``Retry-After``)
  instead of piling up behind the others;
- a call's time limit counts from the moment a slot takes it, not from
  when it arrived, so waiting behind a slow file never fails an honest one;
- a call past its limit (``Overrun``) kills its own process, and only it:
  the slot gets a new process, the calls in other slots go on;
- a process that dies (a crash) or runs out of its memory (``MemoryError``
  under ``RLIMIT_AS``) fails its own call (``Died``) and its slot gets a new
  process; nothing else is cancelled.

A caller that goes away (a client disconnecting) leaves its slot busy until
the process is done with the call: a slot is never given to the next call
while a process still works on the previous one.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ParamSpec, TypeVar

from plumbing.errors import KetquaError, Unavailable
from plumbing.workers import PoolBroken, WorkerPool

log = logging.getLogger(__name__)

P = ParamSpec("P")
R = TypeVar("R")


class Busy(Unavailable):
    """Every slot is busy and the queue is full: try again shortly (HTTP 503)."""


class Overrun(KetquaError):
    """The call ran past its time limit; its process was killed."""


class Died(KetquaError):
    """The call's process died (a memory limit, a crash); the slot has a new one."""


@dataclass(eq=False)
class _Slot:
    number: int
    pool: WorkerPool
    calls: int = 0
    renewed: int = field(default=0)


class Slots:
    """``size`` one-process slots, ``queue`` waiting places; see the module's docstring."""

    def __init__(
        self,
        size: int,
        queue: int,
        initializer: Callable[..., None],
        initargs: tuple[Any, ...] = (),
    ) -> None:
        if size < 1 or queue < 0:
            raise ValueError("slots need size >= 1 and queue >= 0")
        self.size = size
        self.queue = queue
        self._initializer = initializer
        self._initargs = initargs
        self._slots = [_Slot(n, self._pool()) for n in range(size)]
        self._free: asyncio.Queue[_Slot] | None = None
        self._admitted = 0

    def _pool(self) -> WorkerPool:
        return WorkerPool(1, self._initializer, self._initargs)

    @property
    def admitted(self) -> int:
        """Calls running or waiting now."""
        return self._admitted

    async def start(self, probe: Callable[[], R]) -> list[R]:
        """Start every slot's process now, and run ``probe`` in each."""
        self._free = asyncio.Queue()
        for slot in self._slots:
            self._free.put_nowait(slot)
        return [(await slot.pool.start(probe))[0] for slot in self._slots]

    async def run(
        self, seconds: float, fn: Callable[P, R], *args: P.args, **kwargs: P.kwargs
    ) -> R:
        """``fn(*args, **kwargs)`` in a free slot's process, within ``seconds`` of its start.

        ``Busy`` at once when ``size + queue`` calls are in already; ``Overrun``
        past the limit; ``Died`` if the process died.
        """
        assert self._free is not None, "start() first"
        if self._admitted >= self.size + self.queue:
            raise Busy("every check is busy and the queue is full; try again in a moment")
        self._admitted += 1
        try:
            slot = await self._free.get()
        except BaseException:
            self._admitted -= 1
            raise
        call = asyncio.ensure_future(slot.pool.run(fn, *args, **kwargs))
        try:
            return await asyncio.wait_for(asyncio.shield(call), seconds)
        except TimeoutError:
            self._renew(slot, "ran past its time limit")
            raise Overrun(f"the call took longer than {seconds:g} s") from None
        except PoolBroken as exc:
            self._renew(slot, "died")
            raise Died("the worker process died (a memory or resource limit)") from exc
        except MemoryError as exc:  # the process's own limit (RLIMIT_AS): start it afresh
            self._renew(slot, "ran out of memory")
            raise Died("the worker process ran out of memory") from exc
        finally:
            self._admitted -= 1
            # the slot is free once its process is done with this call: now, or later
            # when the caller went away (a client disconnecting) or the call was killed
            call.add_done_callback(lambda done: self._release(slot, done))

    def _release(self, slot: _Slot, done: asyncio.Future[Any]) -> None:
        if not done.cancelled():
            done.exception()  # retrieved: a killed call's error is expected, not a warning
        slot.calls += 1
        assert self._free is not None
        self._free.put_nowait(slot)

    def _renew(self, slot: _Slot, why: str) -> None:
        log.warning("worker slot %d %s: its process is replaced", slot.number, why)
        slot.pool.kill()
        slot.pool = self._pool()
        slot.renewed += 1

    async def close(self, grace: float) -> None:
        """Stop every slot's process (running calls get ``grace`` seconds, then are killed)."""
        await asyncio.gather(*(slot.pool.close(grace) for slot in self._slots))
