"""Bluesky as the bot's source of days: which days are built and when, what is stored, the
retries after a failed build, and the collector kept running. A real store, the AppView and
arXiv stand-ins over HTTP, and one fake clock for the build time, the clients' waits and the
stand-ins' windows."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import random
from collections.abc import AsyncIterator, Iterator

import aiohttp
import pytest

from bot.arxiv_api import ArxivApi
from bot.bluesky.appview import AppView
from bot.bluesky.builder import DayBuilder
from bot.bluesky.days import to_us
from bot.bluesky.posts import CollectedPost, Cursor, PostLinked
from bot.bluesky.source import BlueskySource, store_day
from bot.config import BlueskyConfig
from bot.ingest.files import ingest_files
from bot.sandbox.appview import LocalAppView, StandInPost
from bot.sandbox.arxiv_api import LocalArxiv
from bot.store import Store
from bot.store.bluesky import BlueskyBatch
from tests.support.clock import FakeClock
from tests.support.posts import sample_post

LOGGER = "bot.bluesky.source"
DATE = dt.date(2025, 6, 15)
PERCEIVER, CATALA, ANYCOST = "2103.03206", "2103.03198", "2103.03243"


def utc(*parts: int) -> dt.datetime:
    return dt.datetime(*parts, tzinfo=dt.UTC)  # type: ignore[misc]


DUE = utc(2025, 6, 16, 12)  # DATE's window ends at 06-16 00:00; it is built 12 hours later


class World:
    """Posts the collector kept (in the store) and the AppView's view of them."""

    def __init__(self, store: Store, appview: LocalAppView) -> None:
        self.store = store
        self.appview = appview
        self.serial = 0

    async def post(
        self, handle: str, ids: tuple[str, ...], likes: int, reposts: int = 0, *, at: dt.datetime
    ) -> CollectedPost:
        self.serial += 1
        did = f"did:plc:{handle.split('.')[0]}"
        rkey = f"3lr{self.serial:04d}"
        kept = CollectedPost(
            uri=f"at://{did}/app.bsky.feed.post/{rkey}",
            did=did,
            rkey=rkey,
            text=f"New paper! https://arxiv.org/abs/{ids[0]}",
            langs=("en",),
            created_at=at,
            time_us=to_us(at),
            arxiv_ids=ids,
        )
        await self.store.bluesky.record(BlueskyBatch((PostLinked(kept),), Cursor(kept.time_us)))
        self.appview.add_post(
            StandInPost(kept.uri, did, handle, "", kept.text, at, likes=likes, reposts=reposts)
        )
        return kept

    async def read_up_to(self, moment: dt.datetime) -> None:
        """The collector has read the stream up to `moment` (a batch without changes)."""
        await self.store.bluesky.record(BlueskyBatch((), Cursor(to_us(moment))))

    async def day(self, date: dt.date = DATE) -> None:
        """A day of posts: Perceiver 40 + 7, Catala 18 + 2, Anycost 12 + 1."""
        noon = dt.datetime.combine(date, dt.time(12), tzinfo=dt.UTC)
        await self.post("ada.bsky.social", (PERCEIVER,), 30, 5, at=noon)
        await self.post("bob.bsky.social", (PERCEIVER, CATALA), 10, 2, at=noon)
        await self.post("carol.bsky.social", (CATALA,), 8, at=noon)
        await self.post("dave.bsky.social", (ANYCOST,), 12, 1, at=noon)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(DUE.timestamp())


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as opened:
        yield opened


@pytest.fixture
async def appview(clock: FakeClock) -> AsyncIterator[LocalAppView]:
    async with LocalAppView(clock=clock) as server:
        yield server


@pytest.fixture
async def arxiv(clock: FakeClock) -> AsyncIterator[LocalArxiv]:
    async with LocalArxiv.with_samples(clock=clock) as server:
        yield server


@pytest.fixture
def world(store: Store, appview: LocalAppView) -> World:
    return World(store, appview)


class Collectors:
    """Stands in for `run_collector`: each run says it started, then fails or waits."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.runs = 0
        self.running = asyncio.Event()
        self.cancelled = asyncio.Event()

    async def __call__(self) -> None:
        self.runs += 1
        if self.runs <= self.failures:
            raise RuntimeError(f"bug number {self.runs}")
        self.running.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            self.cancelled.set()
            raise


def source_for(
    store: Store,
    session: aiohttp.ClientSession,
    appview: LocalAppView,
    arxiv: LocalArxiv,
    clock: FakeClock,
    *,
    catch_up_days: int = 3,
    collector: Collectors | None = None,
    **settings: object,
) -> BlueskySource:
    builder = DayBuilder(
        store.bluesky.between,
        AppView(session, appview.base_url, clock=clock, sleep=clock.sleep),
        ArxivApi(session, arxiv.api_url, clock=clock, sleep=clock.sleep),
        BlueskyConfig(**settings),  # type: ignore[arg-type]
        clock=clock.utc,
    )
    return BlueskySource(
        store,
        builder,
        catch_up_days=catch_up_days,
        collector=collector or Collectors(0),
        clock=clock.utc,
        sleep=clock.sleep,
        rng=random.Random(1),
    )


@pytest.fixture
def source(
    store: Store,
    session: aiohttp.ClientSession,
    appview: LocalAppView,
    arxiv: LocalArxiv,
    clock: FakeClock,
) -> BlueskySource:
    return source_for(store, session, appview, arxiv, clock)


@pytest.fixture
def caplog(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """What the source logs at INFO and above."""
    with caplog.at_level(logging.INFO, logger=LOGGER):
        yield caplog


def said(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == LOGGER]


def ranking(day: object) -> list[tuple[str, int, int, int]]:
    return [
        (p.paper.arxiv_id, p.appearance.rank, p.appearance.retweets, p.appearance.favorites)
        for p in day.papers  # type: ignore[attr-defined]
    ]


async def test_a_day_is_built_once_due_and_stored_like_an_ingested_post(
    store: Store,
    source: BlueskySource,
    world: World,
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    await world.read_up_to(utc(2025, 6, 15))  # collecting since the day began
    await world.day()
    await world.read_up_to(utc(2025, 6, 16, 0, 0, 1))
    clock.now = (DUE - dt.timedelta(seconds=1)).timestamp()
    early = await source.poll()
    assert (early.new, early.stored_days, await store.archive.days()) == (0, [], [])

    clock.now = DUE.timestamp()
    report = await source.poll()

    assert (report.new, report.papers, report.tweets) == (1, 3, 5)
    [day] = report.stored_days
    assert (day.date, day.published_at) == (DATE, DUE)
    assert ranking(day) == [(PERCEIVER, 1, 7, 40), (CATALA, 2, 2, 18), (ANYCOST, 3, 1, 12)]
    [summary] = await store.archive.days()
    assert (summary.date, summary.source, summary.paper_count) == (DATE, "bluesky", 3)
    stored = await store.archive.day(DATE)
    assert stored is not None
    assert ranking(stored) == ranking(day)
    assert said(caplog) == [
        "stored Hot Papers 2025-06-15 from Bluesky: 3 papers (4 posts (0 gone, 0 old), 0 feeds"
        " and 0 ignored accounts left out; 3 papers ranked, 3 listed, 0 unknown to arXiv, 0 "
        "withdrawn; requests: 1 AppView, 1 arXiv)"
    ]
    # Stored: not built again.
    clock.advance(3600)
    assert (await source.poll()).stored_days == []


async def test_the_day_collecting_began_in_is_partial_and_the_one_before_never_built(
    store: Store,
    source: BlueskySource,
    world: World,
    appview: LocalAppView,
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    await world.day()  # the first batch: collecting since noon of DATE
    await world.read_up_to(utc(2025, 6, 16, 0, 5))
    clock.now = utc(2025, 6, 16, 12, 30).timestamp()  # 06-14 is due too, and in catch-up

    report = await source.poll()

    assert [d.date for d in report.stored_days] == [DATE]
    assert [d.date for d in await store.archive.days()] == [DATE]
    assert len(appview.requests) == 1  # only DATE's posts were asked about
    assert said(caplog)[0].startswith(
        "stored Hot Papers 2025-06-15 from Bluesky (partial: collected from "
        "2025-06-15T12:00:00+00:00 on, when collecting began): 3 papers"
    )


async def test_a_due_day_waits_for_the_collector_to_read_past_its_end(
    store: Store,
    source: BlueskySource,
    world: World,
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    await world.read_up_to(utc(2025, 6, 15))
    await world.day()  # the collector is behind: it has read up to noon only
    assert (await source.poll()).stored_days == []
    assert (await source.poll()).stored_days == []
    assert said(caplog) == [
        "Hot Papers 2025-06-15 is due, but the collector has read the stream only up to "
        "2025-06-15T12:00:00+00:00; building it once it is past 2025-06-16T00:00:00+00:00"
    ]  # said once

    await world.read_up_to(utc(2025, 6, 16, 0, 0, 0, 1))
    assert [d.date for d in (await source.poll()).stored_days] == [DATE]


async def test_a_failed_build_stores_nothing_and_is_retried_with_backoff(
    store: Store,
    source: BlueskySource,
    world: World,
    appview: LocalAppView,
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    await world.read_up_to(utc(2025, 6, 15))
    await world.day()
    await world.read_up_to(utc(2025, 6, 16, 0, 1))
    appview.fail_next(10, status=502)  # two builds' worth: five attempts each
    clock.now = DUE.timestamp()

    assert (await source.poll()).stored_days == []
    failed_at = clock.utc()
    assert await store.archive.days() == []
    assert said(caplog) == [
        "cannot build Hot Papers 2025-06-15 from Bluesky: the Bluesky AppView cannot be "
        "reached: HTTP 502 InternalServerError: Internal Server Error after 5 attempts; nothing "
        f"stored, trying again at {(failed_at + dt.timedelta(minutes=1)).isoformat()}"
    ]
    asked = len(appview.requests)
    assert (await source.poll()).stored_days == []  # before the retry time: not tried
    assert len(appview.requests) == asked

    clock.now = (failed_at + dt.timedelta(minutes=1)).timestamp()
    assert (await source.poll()).stored_days == []  # tried, failed: two minutes now
    second = clock.utc()
    assert len(said(caplog)) == 2
    assert said(caplog)[1].endswith(f"at {(second + dt.timedelta(minutes=2)).isoformat()}")

    clock.now = (second + dt.timedelta(minutes=2)).timestamp()
    report = await source.poll()  # the AppView is back
    assert [d.date for d in report.stored_days] == [DATE]
    assert ranking(report.stored_days[0])[0] == (PERCEIVER, 1, 7, 40)
    assert source.retry_at is None


async def test_after_downtime_only_the_newest_catch_up_days_are_built(
    store: Store,
    source: BlueskySource,
    world: World,
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    await world.read_up_to(utc(2025, 6, 5))
    for back in range(5, -1, -1):  # 06-10 to 06-15
        await world.day(DATE - dt.timedelta(days=back))
    await world.read_up_to(utc(2025, 6, 16, 0, 1))

    report = await source.poll()

    built = [dt.date(2025, 6, 13), dt.date(2025, 6, 14), DATE]
    assert [d.date for d in report.stored_days] == built
    assert [d.date for d in await store.archive.days()] == built
    assert said(caplog)[0] == (
        "Hot Papers 2025-06-05 to 2025-06-12 are not built: after downtime only the newest 3 "
        "due days are ([digest] catch_up_days)"
    )


async def test_a_day_without_collected_posts_is_not_stored(
    store: Store,
    source: BlueskySource,
    world: World,
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    await world.read_up_to(utc(2025, 6, 15, 1))
    await world.read_up_to(utc(2025, 6, 16, 0, 1))
    assert (await source.poll()).stored_days == []
    assert (await source.poll()).stored_days == []
    assert await store.archive.days() == []
    assert said(caplog) == [
        "Hot Papers 2025-06-15 is not stored: no post linking a paper was collected in its "
        "window (2025-06-15 00:00 to 2025-06-16 00:00 UTC); was the collector running?"
    ]


async def test_a_day_stored_from_a_post_is_left_alone(
    store: Store,
    session: aiohttp.ClientSession,
    appview: LocalAppView,
    arxiv: LocalArxiv,
    world: World,
    clock: FakeClock,
) -> None:
    ingested = dt.date(2021, 3, 15)  # the bundled post of that day
    await ingest_files(store.archive, [sample_post("2021-03-15")])
    await world.read_up_to(utc(2021, 3, 15))
    await world.day(ingested)
    await world.read_up_to(utc(2021, 3, 16, 0, 1))
    clock.now = utc(2021, 3, 16, 12).timestamp()
    source = source_for(store, session, appview, arxiv, clock)

    assert (await source.poll()).stored_days == []
    assert appview.requests == []
    [summary] = await store.archive.days()
    assert (summary.date, summary.source) == (ingested, str(sample_post("2021-03-15")))


async def test_a_day_rebuilt_by_make_day_is_reported_so_its_digests_are_planned_anew(
    store: Store,
    source: BlueskySource,
    world: World,
    appview: LocalAppView,
    clock: FakeClock,
) -> None:
    await world.read_up_to(utc(2025, 6, 15))
    await world.day()
    await world.read_up_to(utc(2025, 6, 16, 0, 1))
    [built] = (await source.poll()).stored_days
    assert (await source.poll()).stored_days == []

    # `hotpapers make-day` in another process, two hours on: Anycost has 100 more likes.
    clock.advance(7200)
    dave = next(p for p in appview.posts.values() if p.handle == "dave.bsky.social")
    appview.set_counts(dave.uri, likes=112)
    await store_day(store, await source.builder.build(DATE))

    report = await source.poll()
    assert (report.new, report.updated) == (0, 1)
    [day] = report.stored_days
    assert (day.date, day.published_at) == (DATE, clock.utc())
    assert ranking(day) == [(ANYCOST, 1, 1, 112), (PERCEIVER, 2, 7, 40), (CATALA, 3, 2, 18)]
    assert ranking(built)[0] == (PERCEIVER, 1, 7, 40)
    assert (await source.poll()).stored_days == []


async def test_a_day_made_early_by_make_day_is_reported_and_not_built_again(
    store: Store,
    session: aiohttp.ClientSession,
    appview: LocalAppView,
    arxiv: LocalArxiv,
    source: BlueskySource,
    world: World,
    clock: FakeClock,
) -> None:
    await world.read_up_to(utc(2025, 6, 15))
    await world.day()
    await world.read_up_to(utc(2025, 6, 16, 0, 1))
    clock.now = utc(2025, 6, 16, 8).timestamp()  # over, but not due before noon
    assert (await source.poll()).stored_days == []

    elsewhere = source_for(store, session, appview, arxiv, clock)  # make-day's own builder
    await store_day(store, await elsewhere.builder.build(DATE))
    asked = len(appview.requests)

    report = await source.poll()
    assert (report.new, [d.date for d in report.stored_days]) == (1, [DATE])
    clock.now = DUE.timestamp()
    assert (await source.poll()).stored_days == []  # due now, but stored: not built again
    assert len(appview.requests) == asked


async def test_collected_posts_older_than_two_weeks_are_pruned_once_a_day(
    store: Store, source: BlueskySource, world: World, clock: FakeClock
) -> None:
    await world.post("old.bsky.social", (PERCEIVER,), 1, at=utc(2025, 6, 2, 11))
    await world.post("new.bsky.social", (PERCEIVER,), 1, at=utc(2025, 6, 2, 13))
    await source.poll()  # at 06-16 12:00: kept from 06-02 12:00 on
    assert [p.did for p in await store.bluesky.between(0, 2**62)] == ["did:plc:new"]
    clock.advance(3600)
    await world.post("late.bsky.social", (PERCEIVER,), 1, at=utc(2025, 6, 2, 12, 30))
    await source.poll()  # the same day: not pruned again
    assert await store.bluesky.count() == 2


async def test_a_collector_that_stops_is_started_again_after_a_backoff(
    store: Store,
    session: aiohttp.ClientSession,
    appview: LocalAppView,
    arxiv: LocalArxiv,
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    collectors = Collectors(failures=2)
    source = source_for(store, session, appview, arxiv, clock, collector=collectors)
    with caplog.at_level(logging.INFO, logger=LOGGER):
        task = asyncio.create_task(source.collect())
        await asyncio.wait_for(collectors.running.wait(), 5)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert collectors.cancelled.is_set()
    assert collectors.runs == 3
    assert len(clock.sleeps) == 2
    assert 2.5 <= clock.sleeps[0] <= 5  # 5 s, then 10 s, each with jitter
    assert 5 <= clock.sleeps[1] <= 10
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert [r.getMessage() for r in errors] == [
        "the Bluesky collector failed",
        f"the Bluesky collector stopped (RuntimeError: bug number 1); starting it again in "
        f"{clock.sleeps[0]:.0f} s",
        "the Bluesky collector failed",
        f"the Bluesky collector stopped (RuntimeError: bug number 2); starting it again in "
        f"{clock.sleeps[1]:.0f} s",
    ]
    assert errors[0].exc_info is not None  # with the traceback: it is a bug
