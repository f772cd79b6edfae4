"""Worker slots with real processes: bounded admission, a time limit of one's own, kills alone."""

from __future__ import annotations

import asyncio
import os
import resource
import time
from collections.abc import AsyncIterator

import pytest

from plumbing.slots import Busy, Died, Overrun, Slots

pytestmark = pytest.mark.slow  # spawns worker processes


def nap(seconds: float) -> int:
    time.sleep(seconds)
    return os.getpid()


def hog(megabytes: int) -> int:
    return len(bytearray(megabytes * 1024 * 1024))


def limit_memory(megabytes: int) -> None:
    cap = megabytes * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (cap, cap))


def ready() -> int:
    return os.getpid()


@pytest.fixture
async def slots() -> AsyncIterator[Slots]:
    running = Slots(2, 1, limit_memory, (512,))
    await running.start(ready)
    yield running
    await running.close(5)


async def test_a_call_past_its_limit_is_killed_alone() -> None:
    two = Slots(2, 1, limit_memory, (512,))
    first = set(await two.start(ready))
    try:
        slow = asyncio.create_task(two.run(0.5, nap, 30))
        await asyncio.sleep(0.1)
        quick = await two.run(5, nap, 0.2)  # the other slot, meanwhile
        with pytest.raises(Overrun):
            await slow
        assert quick in first  # the other slot's process, untouched
        seen: set[int] = set()
        for _ in range(20):  # until the renewed slot has answered too
            seen |= set(await asyncio.gather(two.run(5, nap, 0), two.run(5, nap, 0)))
            if seen - first:
                break
        assert quick in seen
        assert len(seen - first) == 1  # the killed process replaced by exactly one new one
    finally:
        await two.close(5)


async def test_past_the_queue_a_call_is_refused_at_once(slots: Slots) -> None:
    running = [asyncio.create_task(slots.run(5, nap, 0.5)) for _ in range(3)]  # 2 + 1 queued
    await asyncio.sleep(0.05)
    started = time.monotonic()
    with pytest.raises(Busy):
        await slots.run(5, nap, 0)
    assert time.monotonic() - started < 0.1
    await asyncio.gather(*running)


async def test_the_time_limit_counts_from_when_a_slot_takes_the_call() -> None:
    one = Slots(1, 2, limit_memory, (512,))
    await one.start(ready)
    try:
        first = asyncio.create_task(one.run(5, nap, 1.0))
        await asyncio.sleep(0.05)
        # waits about a second for the slot, then runs 0.2 s of its 0.5 s
        second = await one.run(0.5, nap, 0.2)
        assert second == await first
    finally:
        await one.close(5)


async def test_a_process_that_runs_out_of_memory_fails_its_own_call(slots: Slots) -> None:
    with pytest.raises(Died):
        await slots.run(10, hog, 2048)  # four times what the slot's process may use
    assert await slots.run(10, hog, 64) == 64 * 1024 * 1024
