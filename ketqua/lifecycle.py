"""Start and stop that cannot leak: what start-up made is stopped, whatever happens.

``serve`` enters everything it starts into ``contextlib.AsyncExitStack``\\ s,
so a failure half-way through start-up releases what was already started,
in reverse order. Stopping runs in three phases on one deadline:

1. the ``Drain``: requests in flight and running jobs finish side by side
   (HTTP runners, the signing pipeline, the e-mail deliverer);
2. what they used: the audit trail's last rows, the process pools;
3. the database and the blob store, always, last.

Each step is a ``Stopping.step``: a step that fails is logged with its name
and the others still run; ``Stopping.check`` then says which failed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from types import TracebackType

from plumbing.errors import KetquaError

log = logging.getLogger("ketqua.serve")

Step = Callable[[], Awaitable[object]]


class Deadline:
    """One deadline for the whole stop, counted from the moment stopping begins."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._at: float | None = None

    def begin(self) -> None:
        if self._at is None:
            self._at = asyncio.get_running_loop().time() + self.seconds

    def left(self) -> float:
        """Seconds left for the current step (never less than 0.1: a step is always tried)."""
        self.begin()
        assert self._at is not None
        return max(0.1, self._at - asyncio.get_running_loop().time())


class Stopping:
    """Runs stop steps so that one failing step never skips another."""

    def __init__(self) -> None:
        self.failed: list[str] = []

    async def step(self, name: str, stop: Step) -> None:
        try:
            await stop()
        except Exception:
            log.exception("stopping %s failed; the other steps go on", name)
            self.failed.append(name)

    def check(self) -> None:
        if self.failed:
            raise KetquaError(f"stopped, but not cleanly: {', '.join(self.failed)} (see the log)")


class Drain:
    """The first phase: steps that stop side by side (requests in flight, running jobs)."""

    def __init__(self, deadline: Deadline, stopping: Stopping) -> None:
        self.deadline = deadline
        self.stopping = stopping
        self._steps: list[tuple[str, Step]] = []

    def add(self, name: str, stop: Step) -> None:
        self._steps.append((name, stop))

    async def __aenter__(self) -> Drain:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.deadline.begin()
        await asyncio.gather(*(self.stopping.step(name, stop) for name, stop in self._steps))
