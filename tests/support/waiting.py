"""Waiting in tests for something to happen, never for a fixed time.

Prefer awaiting a real notification (an ``asyncio.Event``, the local Discord's ``wait_for_*``,
``Database.committed_after``); ``eventually`` is for what nothing notifies: another process,
a file, a counter of a stand-in. It is the one place where the tests sleep, between checks.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable
from typing import TypeVar

from apscheduler.events import EVENT_JOB_EXECUTED, JobExecutionEvent

from bot.scheduler import Jobs
from bot.store.database import Database

T = TypeVar("T")

TIMEOUT = 20.0  # seconds; generous for a loaded machine, never waited when things work
EVERY = 0.01  # seconds between two checks


async def eventually(
    condition: Callable[[], T | Awaitable[T]],
    what: str | Callable[[], str] = "the condition",
    timeout: float = TIMEOUT,  # noqa: ASYNC109
    *,
    every: float = EVERY,
) -> T:
    """The first truthy result of ``condition()`` (awaited when it is a coroutine), checked
    at once and then every ``every`` seconds; AssertionError saying ``what`` (or what it
    returns) after ``timeout`` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        result = condition()
        if inspect.isawaitable(result):
            result = await result
        if result:
            return result  # type: ignore[return-value]
        if loop.time() > deadline:
            raise AssertionError(f"not within {timeout:g} s: {what() if callable(what) else what}")
        await asyncio.sleep(every)


async def until_committed(
    database: Database,
    condition: Callable[[], Awaitable[T]],
    what: str = "the archive to change",
    timeout: float = TIMEOUT,  # noqa: ASYNC109
) -> T:
    """The first truthy result of ``condition()``, checked at once and again after each
    write transaction the database commits, never by polling it."""
    try:
        async with asyncio.timeout(timeout):
            while True:
                seen = database.commits
                result = await condition()
                if result:
                    return result
                await database.committed_after(seen)
    except TimeoutError:
        raise AssertionError(f"not within {timeout:g} s: {what}") from None


async def scheduled_runs(
    jobs: Jobs,
    job_id: str,
    count: int,
    timeout: float = TIMEOUT,  # noqa: ASYNC109
) -> None:
    """Return once the scheduler has run the job `job_id` (e.g. ``DELIVER_JOB``) `count`
    more times, told by APScheduler's own events."""
    done = asyncio.Event()
    runs = 0

    def executed(event: JobExecutionEvent) -> None:
        nonlocal runs
        if event.job_id == job_id:
            runs += 1
            if runs >= count:
                done.set()

    jobs.scheduler.add_listener(executed, EVENT_JOB_EXECUTED)
    try:
        await asyncio.wait_for(done.wait(), timeout)
    except TimeoutError:
        raise AssertionError(f"not within {timeout:g} s: {count} runs of {job_id}") from None
    finally:
        jobs.scheduler.remove_listener(executed)
