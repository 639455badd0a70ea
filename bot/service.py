"""The application behind the Discord client: poll the sources, plan each stored day's
digests, send what is due, and re-plan a channel whose subscriptions changed. With Bluesky on,
it also keeps the collector running and builds each due day (a source like the others).

It imports no Discord client: it delivers through whatever `Delivering` it is given (the
deliverer, in the bot), and the client calls it from its commands and events.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import functools
import logging
from collections.abc import Sequence
from typing import Protocol

from bot.bluesky.source import CHECK_SECONDS, BlueskySource
from bot.delivery.report import DeliveryReport, DirectReport
from bot.ingest.sources import Source, poll_source
from bot.planning import DeliveryPlanner
from bot.scheduler import POLL_JOB, Job, Jobs
from bot.store import Store, StoreError

log = logging.getLogger(__name__)

BLUESKY_JOB = "build Bluesky days"


class Delivering(Protocol):
    """Sends the deliveries due now, one run at a time."""

    async def deliver_due(self) -> DeliveryReport: ...

    async def stop(self) -> None:
        """Start nothing new; return once the messages being posted are recorded."""


class DeliveringDirect(Protocol):
    """Sends the direct messages due now, one run at a time."""

    async def deliver_due(self) -> DirectReport: ...

    async def stop(self) -> None:
        """Start nothing new; return once the messages being sent are recorded."""


class DigestService:
    """Keeps the digests flowing: one job per source polls it and plans what it stored, and
    one job sends whatever the ledger has due (woken at once when a plan made some due)."""

    def __init__(
        self,
        *,
        store: Store,
        planner: DeliveryPlanner,
        deliverer: Delivering,
        sources: Sequence[Source] = (),
        bluesky: BlueskySource | None = None,
        poll_seconds: float,
        deliver_seconds: float,
        direct: DeliveringDirect | None = None,
    ) -> None:
        self.store = store
        self.planner = planner
        self.deliverer = deliverer
        self.direct = direct  # members' direct messages, sent after the channels' digests
        self.sources = tuple(sources)
        self.bluesky = bluesky
        self._collecting: asyncio.Task[None] | None = None  # the Bluesky collector
        self._plan_owed = False  # stored days not planned yet (the archive was unavailable)
        self._stored_dates: set[dt.date] = set()  # days stored since the last plan
        self._planning = asyncio.Lock()  # the sources' jobs plan one at a time
        self.jobs = Jobs(
            polls=self.poll_jobs(),
            deliver=self.deliver_due,
            poll_seconds=poll_seconds,
            deliver_seconds=deliver_seconds,
            # Due days are looked for every minute, or each poll if that is sooner.
            intervals={BLUESKY_JOB: min(poll_seconds, CHECK_SECONDS)},
        )

    def start(self) -> None:
        """Start the jobs. Days ingested while the bot was down are planned by the first
        poll, which runs at once: planning 100,000 channels takes seconds, and commands are
        answered meanwhile."""
        self._plan_owed = True
        if self.bluesky is not None and self._collecting is None:
            self._collecting = asyncio.create_task(self.bluesky.collect(), name="bluesky-collector")
        self.jobs.start()

    async def stop(self) -> None:
        """Start no new job or message, stop the collector, and return once the messages
        being posted have Discord's answer and their ledger entry."""
        self.jobs.pause()
        await self.stop_collecting()
        await self.deliverer.stop()
        if self.direct is not None:
            await self.direct.stop()

    async def stop_collecting(self) -> None:
        """Stop the Bluesky collector, if it runs: what it read since its last stored batch
        is read again at the next start."""
        task, self._collecting = self._collecting, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def close(self) -> None:
        self.jobs.shutdown()
        if self._collecting is not None:
            self._collecting.cancel()  # awaited by stop_collecting

    def poll_jobs(self) -> list[tuple[str, Job]]:
        """A job per source, so a slow or hanging source never holds up another; without
        sources, one job that still makes the plan owed from the start."""
        jobs: list[tuple[str, Job]] = [
            (f"poll {source!r}", functools.partial(self.poll_source, source))
            for source in self.sources
        ]
        if self.bluesky is not None:
            jobs.append((BLUESKY_JOB, functools.partial(self.poll_source, self.bluesky)))
        return jobs or [(POLL_JOB, self.poll_sources)]

    async def poll_sources(self) -> None:
        """Poll every source (Bluesky's days too) at once, each planned as soon as it has
        stored its posts; with no sources, make the plan owed."""
        sources = [*self.sources, *([self.bluesky] if self.bluesky is not None else [])]
        if sources:
            await asyncio.gather(*(self.poll_source(source) for source in sources))
        elif self._plan_owed:
            await self.plan_owed()

    async def poll_source(self, source: Source) -> None:
        report = await poll_source(source)
        for rejection in report.rejected:
            log.warning("post rejected: %s", rejection)
        if report.stored_days:
            log.info("new posts from %r: %s", source, report.summary())
            self._stored_dates.update(day.date for day in report.stored_days)
            self._plan_owed = True
        if self._plan_owed:
            await self.plan_owed()

    async def plan_owed(self) -> None:
        """Plan the stored days; if the archive is unavailable, the plan stays owed and the
        next poll tries again, so no stored day's digest is silently dropped.

        One plan at a time: a source that stores a day while another source's plan is under
        way plans again after it, as the first may have started too early to see that day.
        """
        async with self._planning:
            if not self._plan_owed:
                return  # planned by another source's job while this one waited
            self._plan_owed = False
            try:
                # A changed post (e.g. one first read half-written) replans the deliveries of
                # its day not begun yet, so they carry the post as it is now.
                for date in sorted(self._stored_dates):
                    await self.store.deliveries.forget_unsent(date=date)
                    await self.store.direct.forget_unsent(date=date)
                    self._stored_dates.discard(date)
                planned = await self.planner.plan()
            except StoreError as exc:
                self._plan_owed = True
                log.error("cannot plan digests: %s; will retry at the next poll", exc)
                return
            except Exception:
                self._plan_owed = True  # a bug, logged by the job: owed, so tried again
                raise
        if planned:
            self.jobs.wake_delivery()

    async def deliver_due(self) -> DeliveryReport:
        """The channels' digests due, then the members' direct messages."""
        report = await self.deliverer.deliver_due()
        if self.direct is not None:
            await self.direct.deliver_due()
        return report

    async def channel_changed(self, channel_id: int) -> None:
        """Subscriptions or settings changed: re-plan what is not sent yet, deliver if due."""
        if await self.planner.replan([channel_id]):
            self.jobs.wake_delivery()

    async def member_changed(self, user_id: int) -> None:
        """A member's follows changed: re-plan their direct messages not tried yet."""
        if await self.planner.replan_members([user_id]):
            self.jobs.wake_delivery()

    async def next_due(self, channel_id: int) -> dt.datetime | None:
        """When the channel's next digest goes out, if one is waiting."""
        return await self.store.deliveries.next_due(channel_id)
