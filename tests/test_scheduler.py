"""The scheduler's jobs: a wake never gets lost while a delivery run is going on, and a
source's poll that hangs holds up no other."""

from __future__ import annotations

import asyncio
import logging

import pytest
from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED, JobExecutionEvent

from bot.scheduler import DELIVER_JOB, Jobs


async def idle() -> None:
    return None


async def test_a_wake_during_a_delivery_run_runs_again_right_after_it() -> None:
    runs: asyncio.Queue[None] = asyncio.Queue()
    release = asyncio.Event()

    async def deliver() -> None:
        runs.put_nowait(None)
        await release.wait()

    jobs = Jobs(polls=[("idle", idle)], deliver=deliver, poll_seconds=60, deliver_seconds=60)
    jobs.start()
    try:
        await asyncio.wait_for(runs.get(), 5)
        jobs.wake_delivery()  # deliveries planned while the first run is under way
        release.set()
        # Right after the first run, not at the next interval 60 s later.
        await asyncio.wait_for(runs.get(), 5)
    finally:
        jobs.shutdown()


async def test_a_wake_between_runs_runs_now() -> None:
    runs: asyncio.Queue[None] = asyncio.Queue()
    finished = asyncio.Event()

    async def deliver() -> None:
        runs.put_nowait(None)

    jobs = Jobs(polls=[("idle", idle)], deliver=deliver, poll_seconds=60, deliver_seconds=60)

    def executed(event: JobExecutionEvent) -> None:
        if event.job_id == DELIVER_JOB:
            finished.set()

    jobs.scheduler.add_listener(executed, EVENT_JOB_EXECUTED)
    jobs.start()
    try:
        await asyncio.wait_for(runs.get(), 5)
        await asyncio.wait_for(finished.wait(), 5)  # the first run is over
        jobs.wake_delivery()
        await asyncio.wait_for(runs.get(), 5)
    finally:
        jobs.shutdown()


async def test_a_poll_named_in_intervals_runs_at_its_own_interval() -> None:
    slow_runs, fast_runs = 0, 0
    fast_ran_thrice = asyncio.Event()

    async def slow() -> None:
        nonlocal slow_runs
        slow_runs += 1

    async def fast() -> None:
        nonlocal fast_runs
        fast_runs += 1
        if fast_runs == 3:
            fast_ran_thrice.set()

    jobs = Jobs(
        polls=[("slow", slow), ("fast", fast)],
        deliver=idle,
        poll_seconds=60,
        deliver_seconds=60,
        intervals={"fast": 0.05},
    )
    jobs.start()
    try:
        await asyncio.wait_for(fast_ran_thrice.wait(), 5)
        assert slow_runs == 1  # at start only: its next run is a minute away
    finally:
        jobs.shutdown()


async def test_a_hanging_poll_holds_up_no_other_poll() -> None:
    release = asyncio.Event()
    hanging_started = asyncio.Event()
    quick_runs: asyncio.Queue[None] = asyncio.Queue()

    hanging_runs = 0

    async def hanging() -> None:
        nonlocal hanging_runs
        hanging_runs += 1
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
        # Still its first run, not started again over it (max_instances) nor cancelled.
        assert hanging_runs == 1
    finally:
        release.set()
        jobs.shutdown()


async def test_a_run_under_way_at_shutdown_ends_with_a_line_not_a_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A shutdown while a day is being planned (100,000 channels take seconds) cancels the
    run: a clean stop, so one line at INFO, and no error with a traceback."""
    started, cancelled = asyncio.Event(), asyncio.Event()

    async def planning() -> None:
        started.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.set()
            raise

    jobs = Jobs(polls=[("plan", planning)], deliver=idle, poll_seconds=60, deliver_seconds=60)
    ended: asyncio.Queue[int] = asyncio.Queue()

    def finished(event: JobExecutionEvent) -> None:
        if event.job_id != DELIVER_JOB:
            ended.put_nowait(event.code)

    jobs.scheduler.add_listener(finished, EVENT_JOB_EXECUTED | EVENT_JOB_ERROR)
    caplog.set_level(logging.INFO)
    jobs.start()
    await asyncio.wait_for(started.wait(), 5)
    jobs.shutdown()
    assert await asyncio.wait_for(ended.get(), 5) == EVENT_JOB_EXECUTED
    assert cancelled.is_set()
    assert "scheduled job plan stopped by the shutdown" in caplog.messages
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []
