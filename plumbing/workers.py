"""Process pools for CPU-bound work, so that an event loop never waits on it.

``WorkerPool`` is a spawned ``ProcessPoolExecutor`` that replaces itself
when a worker dies (``PoolBroken`` for the calls that were running), can be
killed at a deadline, and restarted after a call that ran too long. Workers
are spawned, not forked: the service process has threads (the database
driver) and a PKCS#11 module must not be inherited. ``worker_process``
is what every worker's initializer calls first.
"""

from __future__ import annotations

import asyncio
import ctypes
import functools
import logging
import multiprocessing
import signal
import sys
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, ParamSpec, TypeVar

from plumbing.errors import KetquaError

log = logging.getLogger(__name__)

P = ParamSpec("P")
R = TypeVar("R")


class PoolBroken(KetquaError):
    """A worker process died (killed, out of memory); the pool has been restarted."""


def worker_process(name: bytes) -> None:
    # a worker must not outlive a service killed with -9 (Linux: PR_SET_PDEATHSIG), and
    # carries a name that top and ps show (PR_SET_NAME: "ketqua-sign", "ketqua-intake")
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGKILL)
        libc.prctl(15, ctypes.c_char_p(name[:15]))
    # SIGINT goes to the whole process group on Ctrl-C: the service decides, not the workers
    signal.signal(signal.SIGINT, signal.SIG_IGN)


class WorkerPool:
    """A process pool that restarts itself when a worker dies."""

    def __init__(
        self, size: int, initializer: Callable[..., None], initargs: tuple[Any, ...] = ()
    ) -> None:
        self.size = size
        self._initializer = initializer
        self._initargs = initargs
        self._pool = self._new()

    def _new(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            max_workers=self.size,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=self._initializer,
            initargs=self._initargs,
        )

    async def run(self, fn: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
        """``fn(*args, **kwargs)`` in a worker; its return type is ``fn``'s, checked by mypy."""
        loop = asyncio.get_running_loop()
        pool = self._pool
        call = functools.partial(fn, *args, **kwargs) if kwargs else functools.partial(fn, *args)
        try:
            return await loop.run_in_executor(pool, call)
        except BrokenProcessPool as exc:
            if pool is self._pool:  # the first to notice restarts it
                pool.shutdown(wait=False, cancel_futures=True)
                self._pool = self._new()
            raise PoolBroken("a worker process died; the work will be retried") from exc

    async def start(self, probe: Callable[[], R]) -> list[R]:
        """Start every worker now (keys load, fonts subset) and run ``probe`` in each."""
        return list(await asyncio.gather(*(self.run(probe) for _ in range(self.size))))

    def shutdown(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)

    async def close(self, grace: float) -> None:
        """Stop the workers: calls still running get ``grace`` seconds, then they are killed.

        The one way every service stops its pools; it never raises, so that a pool
        that will not stop does not keep the next resource from being released.
        """
        try:
            await asyncio.wait_for(asyncio.to_thread(self.shutdown), grace)
        except TimeoutError:
            log.warning("worker processes did not stop in %.0f s; killing them", grace)
            self.kill()

    async def run_within(
        self, seconds: float, fn: Callable[P, R], *args: P.args, **kwargs: P.kwargs
    ) -> R:
        """``run``, bounded: past ``seconds`` the pool is killed and started anew (TimeoutError).

        A process cannot be interrupted in the middle of a call; killing it is the
        only way to get its CPU back from input that takes too long.
        """
        try:
            return await asyncio.wait_for(self.run(fn, *args, **kwargs), seconds)
        except TimeoutError:
            pool, self._pool = self._pool, self._new()
            for process in list(getattr(pool, "_processes", {}).values()):
                process.kill()
            pool.shutdown(wait=False, cancel_futures=True)
            raise

    def kill(self) -> None:
        """Stop the processes now (a call stuck past the shutdown deadline).

        ``ProcessPoolExecutor`` gains ``kill_workers`` only in Python 3.14.
        """
        for process in list(getattr(self._pool, "_processes", {}).values()):
            process.kill()
        self._pool.shutdown(wait=False, cancel_futures=True)
