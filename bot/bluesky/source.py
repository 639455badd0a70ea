"""Bluesky as the running bot's source of days: the collector kept running, and each day built
once it is due and stored exactly as an ingested post would be.

Which days, at each poll: those due (`publish_delay_hours` after their window ends), the
newest `[digest] catch_up_days` of them, from the day the collector began in
(`BlueskyPosts.since`) on. A day that ended before the collector began was never seen and is
never built; the day it began in is built from the part it saw, and logged as partial. A date
the archive already holds (built before, or ingested from a post) is left alone; `hotpapers
make-day` rebuilds one on demand, and a rebuilt day found here has its digests not sent yet
planned anew. A day is built only once the collector has read the stream past its end, so
after downtime the collector catches up first; a day in whose window nothing was collected
(the collector was not running) is not stored.

A build that fails (the AppView or arXiv cannot be reached) stores nothing and is logged with
its reason, once per attempt; the next attempt comes after a backoff of a minute, doubling up
to an hour. Collected posts are pruned once they are older than the catch-up window and two
weeks.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import random
import zoneinfo
from collections.abc import Awaitable, Callable, Mapping
from typing import Final

import aiohttp

from bot.arxiv_api import ArxivApi
from bot.bluesky.appview import AppView
from bot.bluesky.builder import BuiltDay, DayBuilder, DayBuildError, day_content_hash
from bot.bluesky.collector import Backoff
from bot.bluesky.days import DaySchedule, from_us, to_us
from bot.config import Config
from bot.ingest.files import IngestReport
from bot.models import DaySummary
from bot.store import IngestOutcome, Store

log = logging.getLogger(__name__)

SOURCE: Final = "bluesky"  # the archive's `source` of the days built from Bluesky
CHECK_SECONDS: Final = 60.0  # due days are looked for this often (or each poll, if sooner)
KEEP_DAYS: Final = 14  # collected posts are kept this long (at least), for make-day
RETRY_FIRST, RETRY_MAX = 60.0, 3600.0  # seconds before a failed build is tried again
RESTART_FIRST, RESTART_MAX = 5.0, 300.0  # seconds before a collector that stopped restarts

Clock = Callable[[], dt.datetime]


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def day_builder(
    config: Config,
    store: Store,
    session: aiohttp.ClientSession,
    *,
    clock: Clock = _utcnow,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> DayBuilder:
    """The builder of `config`'s days over the collected posts: one AppView and one ArxivApi,
    so every build of a process keeps arXiv's one request every 3 seconds. `sleep` waits
    between the services' retries."""
    return DayBuilder(
        store.bluesky.between,
        AppView(session, config.bluesky.appview_url, sleep=sleep),
        ArxivApi(session, config.arxiv.api_url, sleep=sleep),
        config.bluesky,
        clock=clock,
    )


async def store_day(store: Store, built: BuiltDay) -> IngestOutcome:
    """Store a built day as an ingested post is stored: new, or replacing that date's day."""
    day = built.day
    return await store.archive.ingest(day, source=SOURCE, content_hash=day_content_hash(day))


def window_text(schedule: DaySchedule, date: dt.date) -> str:
    """Day `date`'s window for people: `2025-06-15 00:00 to 2025-06-16 00:00 UTC`."""
    zone = zoneinfo.ZoneInfo(schedule.timezone)
    shown = [moment.astimezone(zone).strftime("%Y-%m-%d %H:%M") for moment in schedule.bounds(date)]
    return f"{shown[0]} to {shown[1]} {schedule.timezone}"


class BlueskySource:
    """Builds and stores each due day (`poll`, a source of the running bot) and keeps the
    collector running (`collect`, a task beside the gateway).

    `collector` runs the collector until cancelled; `clock` (an aware datetime) says when it
    is, and `sleep` waits between collector restarts: tests inject them.
    """

    def __init__(
        self,
        store: Store,
        builder: DayBuilder,
        *,
        catch_up_days: int,
        collector: Callable[[], Awaitable[None]],
        clock: Clock = _utcnow,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self.store = store
        self.builder = builder
        self.schedule = builder.schedule
        self.catch_up_days = catch_up_days
        self.collector = collector
        self.clock = clock
        self.sleep = sleep
        self.rng = rng or random.Random()
        self.keep_days = max(KEEP_DAYS, catch_up_days + 1)
        self.retry_at: dt.datetime | None = None  # no build before then (one failed)
        self._retry = Backoff(RETRY_FIRST, RETRY_MAX, None)  # the builds failed in a row
        self._published: dict[dt.date, dt.datetime] = {}  # the Bluesky days stored, as seen
        self._polled = False  # the first poll takes the stored days as they are
        self._waiting: set[dt.date] = set()  # due days waiting for the collector, as logged
        self._empty: set[dt.date] = set()  # due days with no post collected: not stored
        self._skipped: tuple[dt.date, dt.date] | None = None  # days left out, as last logged
        self._pruned_on: dt.date | None = None

    def __repr__(self) -> str:
        return "Bluesky"  # as the service's log names a source

    # -- the days ---------------------------------------------------------------------------

    async def poll(self) -> IngestReport:
        """Build and store the days due now; report them (and days rebuilt by `hotpapers
        make-day` since the last poll) in `stored_days`, so their digests are planned."""
        report = IngestReport()
        now = self.clock()
        stored = {summary.date: summary for summary in await self.store.archive.days()}
        await self._rebuilt_elsewhere(stored, report)
        if self.retry_at is None or now >= self.retry_at:
            await self._build_due(now, stored, report)
        await self._prune(now)
        return report

    def due_dates(self, now: dt.datetime, since_us: int) -> list[dt.date]:
        """The days due at `now` that may be built: the newest catch_up_days of them, from
        the day the collector began in (`since_us`) on; oldest first."""
        latest = self.schedule.latest_due(now)
        first = max(
            self.schedule.date_of_us(since_us),
            latest - dt.timedelta(days=self.catch_up_days - 1),
        )
        return [first + dt.timedelta(days=n) for n in range((latest - first).days + 1)]

    async def _build_due(
        self, now: dt.datetime, stored: Mapping[dt.date, DaySummary], report: IngestReport
    ) -> None:
        since = await self.store.bluesky.since()
        cursor = await self.store.bluesky.cursor()
        if since is None or cursor is None:
            return  # nothing collected yet
        due = self.due_dates(now, since)
        if due:
            self._say_skipped(self.schedule.date_of_us(since), due[0], stored)
        for date in due:
            if date in stored or date in self._empty:
                continue
            start_us, end_us = self.schedule.window(date)
            if cursor.time_us < end_us:
                if date not in self._waiting:
                    self._waiting.add(date)
                    log.info(
                        "Hot Papers %s is due, but the collector has read the stream only up "
                        "to %s; building it once it is past %s",
                        date,
                        from_us(cursor.time_us).isoformat(timespec="seconds"),
                        from_us(end_us).isoformat(timespec="seconds"),
                    )
                return  # the later days wait for it too
            try:
                built = await self.builder.build(date)
            except DayBuildError as exc:
                self._failed(exc)
                return
            self._retry.reset()
            self.retry_at = None
            if not built.report.posts:
                self._empty.add(date)
                log.warning(
                    "Hot Papers %s is not stored: no post linking a paper was collected in its "
                    "window (%s); was the collector running?",
                    date,
                    window_text(self.schedule, date),
                )
                continue
            outcome = await store_day(self.store, built)
            day = built.day
            self._published[date] = day.published_at
            partial = ""
            if start_us < since:
                partial = (
                    " (partial: collected from "
                    f"{from_us(since).isoformat(timespec='seconds')} on, when collecting began)"
                )
            log.info(
                "stored Hot Papers %s from Bluesky%s: %d papers (%s)",
                date,
                partial,
                len(day.papers),
                built.report.summary(),
            )
            if outcome is IngestOutcome.NEW:
                report.new += 1
            elif outcome is IngestOutcome.UPDATED:
                report.updated += 1
            else:
                report.unchanged += 1
                continue
            report.papers += len(day.papers)
            report.tweets += day.tweet_count
            report.stored_days.append(day)

    def _failed(self, exc: DayBuildError) -> None:
        delay = self._retry.next()
        self.retry_at = self.clock() + dt.timedelta(seconds=delay)
        log.error(
            "cannot build Hot Papers %s from Bluesky: %s; nothing stored, trying again at %s",
            exc.date,
            exc.reason,
            self.retry_at.isoformat(timespec="seconds"),
        )

    def _say_skipped(
        self, since_date: dt.date, first_due: dt.date, stored: Mapping[dt.date, DaySummary]
    ) -> None:
        """After downtime: say once which days are not built because they are older than the
        catch-up window."""
        newest = max(stored, default=None)
        start = since_date if newest is None else max(since_date, newest + dt.timedelta(days=1))
        if start >= first_due or self._skipped == (start, first_due):
            return
        self._skipped = (start, first_due)
        last = first_due - dt.timedelta(days=1)
        log.warning(
            "Hot Papers %s%s not built: after downtime only the newest %d due days are "
            "([digest] catch_up_days)",
            start,
            f" to {last} are" if last > start else " is",
            self.catch_up_days,
        )

    async def _rebuilt_elsewhere(
        self, stored: Mapping[dt.date, DaySummary], report: IngestReport
    ) -> None:
        """Days built since the last poll by another process (`hotpapers make-day`) are
        reported as stored, so their digests (not sent yet) are planned, as for a post."""
        for date, summary in stored.items():
            if summary.source != SOURCE:
                continue
            seen = self._published.get(date)
            self._published[date] = summary.published_at
            if not self._polled or seen == summary.published_at:
                continue
            day = await self.store.archive.day(date)
            if day is not None:
                log.info("Hot Papers %s was built by hotpapers make-day", date)
                if seen is None:
                    report.new += 1
                else:
                    report.updated += 1
                report.stored_days.append(day)
        self._polled = True

    async def _prune(self, now: dt.datetime) -> None:
        """Once a day: forget the collected posts older than keep_days."""
        if self._pruned_on == now.date():
            return
        cutoff = now - dt.timedelta(days=self.keep_days)
        pruned = await self.store.bluesky.prune_before(to_us(cutoff))
        self._pruned_on = now.date()
        if pruned:
            log.info("forgot %d collected Bluesky posts from before %s", pruned, cutoff.date())

    # -- the collector ----------------------------------------------------------------------

    async def collect(self) -> None:
        """Run the collector until cancelled. It logs and waits out its own failures; should
        it stop all the same (a bug), that is logged and it starts again after a backoff,
        while the bot carries on."""
        backoff = Backoff(RESTART_FIRST, RESTART_MAX, self.rng)
        while True:
            try:
                await self.collector()
                reason = "it returned"
            except Exception as exc:
                log.exception("the Bluesky collector failed")
                reason = f"{type(exc).__name__}: {exc}"
            delay = backoff.next()
            log.error(
                "the Bluesky collector stopped (%s); starting it again in %.0f s", reason, delay
            )
            await self.sleep(delay)
