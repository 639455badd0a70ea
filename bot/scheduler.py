"""APScheduler jobs: poll the sources and send due digests, each a plain async function.

One job per source, so a slow or hanging source never holds up another, and one delivery job
for any number of channels: due deliveries are found by an indexed query, never by a job per
channel.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from bot.store import StoreError

log = logging.getLogger(__name__)

POLL_JOB = "poll-sources"
DELIVER_JOB = "deliver-due"


Job = Callable[[], Awaitable[object]]


class Jobs:
    """`polls` are (name, job) pairs, each run on its own every poll_seconds, or every
    `intervals[name]` seconds for those named there."""

    def __init__(
        self,
        *,
        polls: Sequence[tuple[str, Job]],
        deliver: Job,
        poll_seconds: float,
        deliver_seconds: float,
        intervals: Mapping[str, float] | None = None,
    ) -> None:
        self._polls = tuple(polls)
        self.intervals = dict(intervals or {})
        self._deliver = deliver
        self.poll_seconds = poll_seconds
        self.deliver_seconds = deliver_seconds
        self.scheduler = AsyncIOScheduler(timezone=dt.UTC)
        self._delivering = False
        self._deliver_again = False

    async def _run(self, name: str, job: Job) -> None:
        try:
            await job()
        except asyncio.CancelledError:
            # The bot is shutting down (the scheduler cancels the runs under way): what the
            # run stored is whole, each write being a transaction, and the rest is done at
            # the next start. Said in a line, not as a failed job's traceback.
            log.info("scheduled job %s stopped by the shutdown", name)
        except StoreError as exc:
            # Locked or read-only database: say so plainly and try at the next interval.
            log.error("scheduled job %s could not use the archive: %s; will retry", name, exc)
        except Exception:
            # A failed run is logged and tried again at the next interval; the bot keeps going.
            log.exception("scheduled job %s failed", name)

    async def deliver_job(self) -> None:
        # A wake during a run goes again at its end: APScheduler would skip it (max_instances).
        self._delivering = True
        try:
            while True:
                self._deliver_again = False
                await self._run(DELIVER_JOB, self._deliver)
                if not self._deliver_again:
                    return
        finally:
            self._delivering = False

    def start(self) -> None:
        now = dt.datetime.now(dt.UTC)
        common = {"max_instances": 1, "coalesce": True, "misfire_grace_time": None}
        for index, (name, poll) in enumerate(self._polls):
            self.scheduler.add_job(
                self._run,
                IntervalTrigger(seconds=self.intervals.get(name, self.poll_seconds)),
                args=(name, poll),
                id=f"{POLL_JOB}-{index}",
                name=name,
                next_run_time=now,
                **common,
            )
        self.scheduler.add_job(
            self.deliver_job,
            IntervalTrigger(seconds=self.deliver_seconds),
            id=DELIVER_JOB,
            next_run_time=now,
            **common,
        )
        self.scheduler.start()
        log.info(
            "scheduler started: %d poll job(s) every %s s, deliveries checked every %s s",
            len(self._polls),
            self.poll_seconds,
            self.deliver_seconds,
        )

    def wake_delivery(self) -> None:
        """Look for due deliveries now rather than at the next interval."""
        if self._delivering:
            self._deliver_again = True
        elif self.scheduler.running:
            self.scheduler.modify_job(DELIVER_JOB, next_run_time=dt.datetime.now(dt.UTC))

    def pause(self) -> None:
        """Start no further run (a run under way goes on)."""
        if self.scheduler.running:
            self.scheduler.pause()

    def shutdown(self) -> None:
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
