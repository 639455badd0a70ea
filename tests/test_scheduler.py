"""The scheduler's jobs: a wake never gets lost while a delivery run is going on, and a
source's poll that hangs holds up no other."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from bot.scheduler import Jobs


def recording(
    seconds: float,
) -> tuple[Callable[[], Awaitable[None]], asyncio.Queue[float]]:
    """A deliver function taking `seconds`, and the queue of the times its runs started."""
    starts: asyncio.Queue[float] = asyncio.Queue()

    async def deliver() -> None:
        starts.put_nowait(asyncio.get_running_loop().time())
        await asyncio.sleep(seconds)

    return deliver, starts


async def idle() -> None:
    return None


async def test_a_wake_during_a_delivery_run_runs_again_right_after_it() -> None:
    deliver, starts = recording(0.2)
    jobs = Jobs(polls=[("idle", idle)], deliver=deliver, poll_seconds=60, deliver_seconds=60)
    jobs.start()
    try:
        first = await asyncio.wait_for(starts.get(), 5)
        jobs.wake_delivery()  # deliveries planned while the first run is under way
        second = await asyncio.wait_for(starts.get(), 5)
    finally:
        jobs.shutdown()
    assert 0.15 < second - first < 1.0  # right after the first run, not 60 s later


async def test_a_wake_between_runs_runs_now() -> None:
    deliver, starts = recording(0)
    jobs = Jobs(polls=[("idle", idle)], deliver=deliver, poll_seconds=60, deliver_seconds=60)
    jobs.start()
    try:
        await asyncio.wait_for(starts.get(), 5)
        await asyncio.sleep(0.05)  # the first run is over
        jobs.wake_delivery()
        await asyncio.wait_for(starts.get(), 5)
    finally:
        jobs.shutdown()


async def test_a_hanging_poll_holds_up_no_other_poll() -> None:
    release = asyncio.Event()
    hanging_started = asyncio.Event()
    quick_runs: asyncio.Queue[None] = asyncio.Queue()

    async def hanging() -> None:
        hanging_started.set()
        await release.wait()

    async def quick() -> None:
        quick_runs.put_nowait(None)

    jobs = Jobs(
        polls=[("hanging", hanging), ("quick", quick)],
        deliver=idle,
        poll_seconds=0.1,
        deliver_seconds=60,
    )
    jobs.start()
    try:
        await asyncio.wait_for(hanging_started.wait(), 5)
        for _ in range(3):  # the quick source keeps being polled at its interval meanwhile
            await asyncio.wait_for(quick_runs.get(), 5)
        assert not release.is_set()
    finally:
        release.set()
        jobs.shutdown()
