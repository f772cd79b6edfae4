"""Answers kept for a moment: what many ask for at once is computed once a second.

The public routes read the registry for every question; a page or listing
that the portal polls, or a document checked by many, would repeat the same
read and rendering. ``Fresh`` keeps each answer for ``seconds`` (a change in
the registry shows within that long), at most ``size`` of them.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class Bounded(OrderedDict[Any, Any]):
    """A dict that forgets its oldest entries past ``size`` (a plain LRU)."""

    def __init__(self, size: int) -> None:
        super().__init__()
        self.size = size

    def remember(self, key: Any, value: Any) -> None:
        self[key] = value
        self.move_to_end(key)
        while len(self) > self.size:
            self.popitem(last=False)


class Fresh(Generic[T]):
    """Also one computation at a time per key: when an answer runs out, the requests that
    arrive while it is being made again wait for that one instead of each making it.

    ``stale``: seconds an answer that ran out may still be given while it is made again in
    the background (the first request after it ran out starts that); nobody waits for a
    slow computation except the very first asker. A failed refresh keeps the old answer
    until ``stale`` runs out too.
    """

    def __init__(self, seconds: float = 1.0, size: int = 4096, stale: float = 0.0) -> None:
        self.seconds = seconds
        self.stale = stale
        self._kept = Bounded(size)
        self._making: dict[Hashable, asyncio.Future[T]] = {}
        self._refreshing: set[asyncio.Task[Any]] = set()

    async def get(self, key: Hashable, make: Callable[[], Awaitable[T]]) -> T:
        now = time.monotonic()
        kept = self._kept.get(key)
        if kept is not None and kept[0] > now:
            return kept[1]  # type: ignore[no-any-return]
        if kept is not None and kept[0] + self.stale > now:
            if key not in self._making:
                task = asyncio.create_task(self._quietly(key, make))
                self._refreshing.add(task)  # held until done: a task only weakly referenced
                task.add_done_callback(self._refreshing.discard)  # may be collected
            return kept[1]  # type: ignore[no-any-return]
        making = self._making.get(key)
        if making is not None:
            return await asyncio.shield(making)
        return await self._make(key, make)

    async def _quietly(self, key: Hashable, make: Callable[[], Awaitable[T]]) -> None:
        with contextlib.suppress(Exception):  # the old answer stands; the next ask tries again
            await self._make(key, make)

    async def _make(self, key: Hashable, make: Callable[[], Awaitable[T]]) -> T:
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._making[key] = future
        try:
            value = await make()
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: the waiters (if any) get it, no warning if none
            raise
        finally:
            del self._making[key]
        future.set_result(value)
        self._kept.remember(key, (time.monotonic() + self.seconds, value))
        return value
