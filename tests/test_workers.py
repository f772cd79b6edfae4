"""The process pool under the pipeline and the intake: calls, errors, deaths, time limits, stop."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import AsyncIterator

import pytest

from plumbing.errors import InputError
from plumbing.workers import PoolBroken, WorkerPool

pytestmark = pytest.mark.slow  # spawns worker processes


def nothing() -> None:
    return None


def where(seconds: float = 0.0, tag: object = None) -> tuple[int, object]:
    time.sleep(seconds)
    return os.getpid(), tag


def echo(data: bytes) -> int:
    return len(data)


def refuse(message: str) -> None:
    raise InputError(message, field="document")


def die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


@pytest.fixture
async def pool() -> AsyncIterator[WorkerPool]:
    running = WorkerPool(2, nothing)
    await running.start(nothing)
    yield running
    await running.close(5)


async def test_calls_run_in_the_workers_and_each_gets_its_own_answer(pool: WorkerPool) -> None:
    answers = await asyncio.gather(*(pool.run(where, 0.01, n) for n in range(20)))
    assert [tag for _, tag in answers] == list(range(20))
    assert len({pid for pid, _ in answers}) == 2
    assert os.getpid() not in {pid for pid, _ in answers}
    big = b"x" * (5 * 1024 * 1024)  # larger than any socket buffer: written in turns
    assert await pool.run(echo, big) == len(big)


async def test_an_error_comes_back_as_itself(pool: WorkerPool) -> None:
    with pytest.raises(InputError, match="not a PDF") as caught:
        await pool.run(refuse, "not a PDF")
    assert caught.value.field == "document"
    assert (await pool.run(where))[0] != os.getpid()  # the worker is still there


async def test_a_worker_that_dies_fails_the_call_and_the_pool_starts_anew(
    pool: WorkerPool,
) -> None:
    with pytest.raises(PoolBroken):
        await pool.run(die)
    answers = await asyncio.gather(*(pool.run(where, 0.05) for _ in range(4)))
    assert len({pid for pid, _ in answers}) == 2  # two workers again


async def test_a_caller_that_stops_waiting_does_not_get_or_steal_an_answer() -> None:
    pool = WorkerPool(1, nothing)
    try:
        slow = asyncio.ensure_future(pool.run(where, 0.3, "slow"))
        await asyncio.sleep(0.05)
        slow.cancel()
        # the one worker answers the abandoned call first; this call gets its own answer
        assert (await pool.run(where, 0.0, "next"))[1] == "next"
    finally:
        await pool.close(5)


async def test_a_call_past_its_time_limit_is_cut_off_and_its_worker_replaced(
    pool: WorkerPool,
) -> None:
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        await pool.run_within(0.2, where, 30.0)
    assert time.monotonic() - started < 5
    answers = await asyncio.gather(*(pool.run(where, 0.05) for _ in range(4)))
    assert len({pid for pid, _ in answers}) == 2


async def test_closing_lets_running_calls_finish() -> None:
    pool = WorkerPool(1, nothing)
    await pool.start(nothing)
    running = asyncio.ensure_future(pool.run(where, 0.3, "finishes"))
    await asyncio.sleep(0.05)
    await pool.close(5)
    assert (await running)[1] == "finishes"


async def test_closing_kills_a_call_that_outlasts_the_grace() -> None:
    pool = WorkerPool(1, nothing)
    await pool.start(nothing)
    running = asyncio.ensure_future(pool.run(where, 30.0))
    await asyncio.sleep(0.05)
    started = time.monotonic()
    await pool.close(0.3)
    assert time.monotonic() - started < 5
    with pytest.raises((PoolBroken, asyncio.CancelledError)):
        await running
