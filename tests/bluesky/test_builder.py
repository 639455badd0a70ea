"""Building a day end to end: collected posts → the stand-in AppView → ranking → the stand-in
arXiv → a Day the archive stores like an ingested post. Both services are real HTTP servers
on 127.0.0.1; their clocks and the clients' sleeps are one fake clock."""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from bot.arxiv_api import ArxivApi
from bot.bluesky.appview import AppView
from bot.bluesky.builder import DayBuilder, DayBuildError, day_content_hash
from bot.bluesky.days import to_us
from bot.bluesky.posts import CollectedPost
from bot.bluesky.ranking import Account
from bot.config import BlueskyConfig
from bot.ingest.parser import parse_post
from bot.ingest.post_format import write_post
from bot.models import Appearance, Day, Paper, RankedPaper, Tweet
from bot.sandbox.appview import LocalAppView, StandInPost
from bot.sandbox.arxiv_api import LocalArxiv
from bot.store import IngestOutcome, Store
from tests.support.clock import FakeClock

DATE = dt.date(2025, 6, 15)
BUILT_AT = dt.datetime(2025, 6, 16, 12, 0, 5, tzinfo=dt.UTC)
PERCEIVER, CATALA, ANYCOST, OOD = "2103.03206", "2103.03198", "2103.03243", "2103.02667"
UNKNOWN_ID = "2103.99999"


class Stored:
    """`BlueskyPosts.between` over a list: half-open on time_us, by time_us then uri."""

    def __init__(self) -> None:
        self.posts: list[CollectedPost] = []
        self.windows: list[tuple[int, int]] = []

    async def between(self, start_us: int, end_us: int) -> list[CollectedPost]:
        self.windows.append((start_us, end_us))
        inside = [p for p in self.posts if start_us <= p.time_us < end_us]
        return sorted(inside, key=lambda p: (p.time_us, p.uri))


class World:
    """The day's posts, in the collector's store and on the AppView."""

    def __init__(self, appview: LocalAppView) -> None:
        self.appview = appview
        self.stored = Stored()
        self.serial = 0

    def post(
        self,
        handle: str,
        ids: tuple[str, ...],
        likes: int,
        reposts: int = 0,
        *,
        hour: int = 12,
        day: dt.date = DATE,
        name: str = "",
    ) -> CollectedPost:
        self.serial += 1
        did = f"did:plc:{handle.split('.')[0]}"
        rkey = f"3lr{self.serial:04d}"
        moment = dt.datetime.combine(day, dt.time(hour), tzinfo=dt.UTC)
        collected = CollectedPost(
            uri=f"at://{did}/app.bsky.feed.post/{rkey}",
            did=did,
            rkey=rkey,
            text=f"New paper! https://arxiv.org/abs/{ids[0]}",
            langs=("en",),
            created_at=moment,
            time_us=to_us(moment) + self.serial,
            arxiv_ids=ids,
        )
        self.stored.posts.append(collected)
        self.appview.add_post(
            StandInPost(
                uri=collected.uri,
                did=did,
                handle=handle,
                display_name=name,
                text=collected.text,
                created_at=moment,
                likes=likes,
                reposts=reposts,
            )
        )
        return collected


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as opened:
        yield opened


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def appview(clock: FakeClock) -> AsyncIterator[LocalAppView]:
    async with LocalAppView(clock=clock) as server:
        yield server


@pytest.fixture
async def arxiv(clock: FakeClock) -> AsyncIterator[LocalArxiv]:
    async with LocalArxiv.with_samples(clock=clock) as server:
        server.withdraw(OOD)
        yield server


@pytest.fixture
def world(appview: LocalAppView) -> World:
    """A day with every kind of post a real one has."""
    w = World(appview)
    w.post("erin.bsky.social", (UNKNOWN_ID,), 50, 10)  # 60, but arXiv has no such paper
    w.post("ada.bsky.social", (PERCEIVER,), 30, 5, name="Ada L.")  # Perceiver: 35 + 12
    w.post("bob.bsky.social", (PERCEIVER, CATALA), 10, 2)  # counts for both: Catala 12 + 8
    w.post("frank.bsky.social", (OOD,), 25)  # 25, but withdrawn
    w.post("carol.bsky.social", (CATALA,), 8)
    w.post("dave.bsky.social", (ANYCOST,), 12, 1)  # 13
    w.post("gus.bsky.social", ("2103.03098",), 5)  # 5: below min_score
    for n in range(25):  # a feed: 25 distinct papers in a day
        w.post("papers-bot.bsky.social", (f"2103.{n + 10:05d}",), 100)
    w.post("spam.bsky.social", (CATALA,), 1000)  # ignored
    deleted = w.post("hal.bsky.social", (ANYCOST,), 500)
    appview.remove(deleted.uri)
    w.post("ivy.bsky.social", (CATALA,), 300, day=DATE - dt.timedelta(days=1), hour=23)
    w.post("jo.bsky.social", (CATALA,), 300, day=DATE + dt.timedelta(days=1), hour=0)
    return w


def builder(
    session: aiohttp.ClientSession,
    world: World,
    appview: LocalAppView,
    arxiv: LocalArxiv,
    clock: FakeClock,
    *,
    batch_size: int = 100,
    **settings: object,
) -> DayBuilder:
    config = BlueskyConfig(
        **{"papers_per_day": 3, "min_score": 10, "ignore": ("@Spam.bsky.social",), **settings}  # type: ignore[arg-type]
    )
    return DayBuilder(
        world.stored.between,
        AppView(session, appview.base_url, clock=clock, sleep=clock.sleep),
        ArxivApi(session, arxiv.api_url, clock=clock, sleep=clock.sleep, batch_size=batch_size),
        config,
        clock=lambda: BUILT_AT,
    )


def cid(appview: LocalAppView, uri: str) -> str:
    """The CID the stand-in AppView gives the post."""
    found = appview.posts[uri].view()["cid"]
    assert isinstance(found, str)
    return found


async def test_a_day_from_its_posts_counts_and_papers(
    session: aiohttp.ClientSession,
    world: World,
    appview: LocalAppView,
    arxiv: LocalArxiv,
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.INFO, logger="bot.bluesky.builder"):
        built = await builder(session, world, appview, arxiv, clock).build(DATE)
    assert world.stored.windows == [
        (
            to_us(dt.datetime(2025, 6, 15, tzinfo=dt.UTC)),
            to_us(dt.datetime(2025, 6, 16, tzinfo=dt.UTC)),
        )
    ]
    day = built.day
    assert (day.date, day.published_at) == (DATE, BUILT_AT)
    assert [
        (p.paper.arxiv_id, p.appearance.rank, p.appearance.favorites, p.appearance.retweets)
        for p in day.papers
    ] == [(PERCEIVER, 1, 40, 7), (CATALA, 2, 18, 2), (ANYCOST, 3, 12, 1)]
    # Perceiver: ada and bob; Catala: bob and carol (spam ignored); Anycost: dave (hal's gone).
    assert built.posts_per_paper == {PERCEIVER: 2, CATALA: 2, ANYCOST: 1}
    assert day.papers[0] == RankedPaper(
        paper=Paper(
            arxiv_id=PERCEIVER,
            title="Perceiver: General Perception with Iterative Attention",
            authors=(
                "Andrew Jaegle",
                "Felix Gimeno",
                "Andrew Brock",
                "Andrew Zisserman",
                "Oriol Vinyals",
                "Joao Carreira",
            ),
            categories=("cs.CV", "cs.AI", "cs.LG", "cs.SD", "eess.AS"),
            abstract=arxiv.papers[PERCEIVER].abstract,
            abs_url="https://arxiv.org/abs/2103.03206",
            pdf_url="https://arxiv.org/pdf/2103.03206",
        ),
        appearance=Appearance(DATE, 1, retweets=7, favorites=40, platform="bluesky"),
        tweets=(
            Tweet(
                url="https://bsky.app/profile/ada.bsky.social/post/3lr0002",
                author="Ada L.",
                handle="ada.bsky.social",
                posted=DATE,
                lang="en",
                text="New paper! https://arxiv.org/abs/2103.03206",
                platform="bluesky",
                uri="at://did:plc:ada/app.bsky.feed.post/3lr0002",
                cid=cid(appview, "at://did:plc:ada/app.bsky.feed.post/3lr0002"),
                posted_at=dt.datetime.combine(DATE, dt.time(12), tzinfo=dt.UTC),
            ),
            Tweet(
                url="https://bsky.app/profile/bob.bsky.social/post/3lr0003",
                author="bob.bsky.social",
                handle="bob.bsky.social",
                posted=DATE,
                lang="en",
                text="New paper! https://arxiv.org/abs/2103.03206",
                platform="bluesky",
                uri="at://did:plc:bob/app.bsky.feed.post/3lr0003",
                cid=cid(appview, "at://did:plc:bob/app.bsky.feed.post/3lr0003"),
                posted_at=dt.datetime.combine(DATE, dt.time(12), tzinfo=dt.UTC),
            ),
        ),
    )
    report = built.report
    assert report.posts == 34  # the two posts outside the window are not the day's
    assert report.gone == 1
    assert report.feeds == (Account("did:plc:papers-bot", "papers-bot.bsky.social"),)
    assert report.ignored == (Account("did:plc:spam", "spam.bsky.social"),)
    assert (report.ranked, report.listed) == (5, 3)
    assert (report.unknown, report.withdrawn) == ((UNKNOWN_ID,), (OOD,))
    # 34 posts: two getPosts requests; all 5 candidates asked in one arXiv request.
    assert (report.appview_requests, report.arxiv_requests) == (2, 1)
    assert "paper 2103.99999 (score 60) dropped: arXiv has no paper with this id" in caplog.text
    assert "paper 2103.02667 (score 25) is withdrawn; left out" in caplog.text
    assert report.summary() == (
        "34 posts (1 gone, 0 old), 1 feeds and 1 ignored accounts left out; 5 papers ranked, "
        "3 listed, 1 unknown to arXiv, 1 withdrawn; requests: 2 AppView, 1 arXiv"
    )


async def test_unknown_and_withdrawn_papers_make_room_for_the_next_candidates(
    session: aiohttp.ClientSession,
    world: World,
    appview: LocalAppView,
    arxiv: LocalArxiv,
    clock: FakeClock,
) -> None:
    built = await builder(
        session, world, appview, arxiv, clock, batch_size=2, papers_per_day=2
    ).build(DATE)
    assert [p.paper.arxiv_id for p in built.day.papers] == [PERCEIVER, CATALA]
    # In rank order, two at a time, until two papers are found: Anycost is never asked.
    assert [r.ids for r in arxiv.requests] == [(UNKNOWN_ID, PERCEIVER), (OOD, CATALA)]
    assert arxiv.violations == 0
    assert arxiv.min_gap() == 3.0


async def test_fewer_candidates_than_papers_per_day(
    session: aiohttp.ClientSession,
    world: World,
    appview: LocalAppView,
    arxiv: LocalArxiv,
    clock: FakeClock,
) -> None:
    built = await builder(session, world, appview, arxiv, clock, papers_per_day=30).build(DATE)
    assert [p.paper.arxiv_id for p in built.day.papers] == [PERCEIVER, CATALA, ANYCOST]


async def test_a_day_without_posts_lists_nothing_and_asks_no_one(
    session: aiohttp.ClientSession,
    world: World,
    appview: LocalAppView,
    arxiv: LocalArxiv,
    clock: FakeClock,
) -> None:
    built = await builder(session, world, appview, arxiv, clock).build(dt.date(2025, 1, 1))
    assert built.day == Day(dt.date(2025, 1, 1), BUILT_AT, (), platform="bluesky")
    assert (built.report.appview_requests, built.report.arxiv_requests) == (0, 0)
    assert (appview.requests, arxiv.requests) == ([], [])


async def test_the_window_follows_day_ends_and_timezone(
    session: aiohttp.ClientSession,
    world: World,
    appview: LocalAppView,
    arxiv: LocalArxiv,
    clock: FakeClock,
) -> None:
    # Day 2025-06-15 ending at 18:00 Paris: [06-14 16:00 UTC, 06-15 16:00 UTC) holds
    # ivy's 23:00 post of the 14th and the noon posts of the 15th, not jo's.
    built = await builder(
        session, world, appview, arxiv, clock, day_ends="18:00", timezone="Europe/Paris"
    ).build(DATE)
    assert world.stored.windows == [
        (
            to_us(dt.datetime(2025, 6, 14, 16, tzinfo=dt.UTC)),
            to_us(dt.datetime(2025, 6, 15, 16, tzinfo=dt.UTC)),
        )
    ]
    assert built.report.posts == 35
    assert built.day.papers[0].paper.arxiv_id == CATALA  # 300 likes from ivy


async def test_an_unreachable_appview_builds_nothing(
    session: aiohttp.ClientSession,
    world: World,
    appview: LocalAppView,
    arxiv: LocalArxiv,
    clock: FakeClock,
) -> None:
    appview.fail_next(10, status=502)
    with pytest.raises(DayBuildError) as raised:
        await builder(session, world, appview, arxiv, clock).build(DATE)
    assert str(raised.value) == (
        "cannot build 2025-06-15: the Bluesky AppView cannot be reached: "
        "HTTP 502 InternalServerError: Internal Server Error after 5 attempts"
    )
    assert arxiv.requests == []


async def test_an_unreachable_arxiv_builds_nothing(
    session: aiohttp.ClientSession,
    world: World,
    appview: LocalAppView,
    arxiv: LocalArxiv,
    clock: FakeClock,
) -> None:
    arxiv.fail_next(10, status=503)
    with pytest.raises(DayBuildError) as raised:
        await builder(session, world, appview, arxiv, clock).build(DATE)
    assert (
        raised.value.reason == "arXiv cannot be reached: HTTP 503 Rate exceeded. after 4 attempts"
    )
    assert arxiv.violations == 0


async def test_arxiv_failing_after_a_first_batch_still_builds_nothing(
    session: aiohttp.ClientSession,
    world: World,
    appview: LocalAppView,
    arxiv: LocalArxiv,
    clock: FakeClock,
) -> None:
    arxiv.fail_next(10, status=503, after=1)
    make = builder(session, world, appview, arxiv, clock, batch_size=2, papers_per_day=3)
    with pytest.raises(DayBuildError, match="arXiv cannot be reached"):
        await make.build(DATE)
    assert [r.status for r in arxiv.requests] == [200, 503, 503, 503, 503]


async def test_the_archive_stores_a_built_day_like_an_ingested_post(
    tmp_path: Path,
    session: aiohttp.ClientSession,
    world: World,
    appview: LocalAppView,
    arxiv: LocalArxiv,
    clock: FakeClock,
) -> None:
    make = builder(session, world, appview, arxiv, clock)
    built = await make.build(DATE)
    async with await Store.open(tmp_path / "archive.sqlite3") as store:
        digest = day_content_hash(built.day)
        outcome = await store.archive.ingest(built.day, source="bluesky", content_hash=digest)
        assert outcome is IngestOutcome.NEW
        stored = await store.archive.day(DATE)
        assert stored is not None
        assert stored == built.day
        # Rebuilt later with the same counts: the same content, nothing to replace.
        again = await make.build(DATE)
        assert day_content_hash(again.day) == digest
        assert (
            await store.archive.ingest(
                again.day, source="bluesky", content_hash=day_content_hash(again.day)
            )
            is IngestOutcome.UNCHANGED
        )
        # A like more on Perceiver changes the day.
        appview.set_counts(world.stored.posts[1].uri, likes=31)
        changed = await make.build(DATE)
        assert changed.day.papers[0].appearance.favorites == 41
        assert day_content_hash(changed.day) != digest


async def test_a_built_day_reads_back_from_its_hot_papers_post(
    session: aiohttp.ClientSession,
    world: World,
    appview: LocalAppView,
    arxiv: LocalArxiv,
    clock: FakeClock,
) -> None:
    built = await builder(session, world, appview, arxiv, clock).build(DATE)
    assert [len(p.tweets) for p in built.day.papers] == [2, 2, 1]
    assert parse_post(write_post(built.day).encode(), "built.md") == built.day


def test_the_content_hash_is_stable_and_ignores_the_build_time() -> None:
    paper = Paper(
        "2103.03206", "T", ("A",), ("cs.LG",), "Abs.", "https://arxiv.org/abs/2103.03206", None
    )
    tweet = Tweet("https://bsky.app/profile/a.b/post/1", "A", "a.b", DATE, "en", "hi", "bluesky")
    day = Day(
        DATE,
        BUILT_AT,
        (RankedPaper(paper, Appearance(DATE, 1, 2, 3, "bluesky"), (tweet,)),),
    )
    later = dataclasses.replace(day, published_at=BUILT_AT + dt.timedelta(hours=5))
    assert day_content_hash(day) == day_content_hash(later)
    assert day_content_hash(day) == (
        "b003e4509be614867983d50ee8a71b20736bbe2dd202f15b3610dbce45a4ec6c"
    )
    more = dataclasses.replace(
        day,
        papers=(
            dataclasses.replace(day.papers[0], appearance=Appearance(DATE, 1, 2, 4, "bluesky")),
        ),
    )
    assert day_content_hash(more) != day_content_hash(day)
    # What only a post's embed shows counts too: a Hot Papers post written from the day
    # would differ.
    new_cid = dataclasses.replace(
        day,
        papers=(dataclasses.replace(day.papers[0], tweets=(dataclasses.replace(tweet, cid="b"),)),),
    )
    assert day_content_hash(new_cid) != day_content_hash(day)
